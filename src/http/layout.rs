//! What every page's frame needs (`templates/base.html`): brand, who is signed in, the CSRF
//! token for its forms, which section is active, and the "reconnect Lever" banner.

use askama::Template;
use axum::response::{Html, IntoResponse, Response};

use super::{csrf::CsrfToken, error::AppError, session::CurrentUser};
use crate::http::AppState;

pub struct Chrome {
    pub brand: String,
    pub user: Option<CurrentUser>,
    pub csrf: String,
    pub section: &'static str,
    /// Set when the organization's Lever connection needs attention.
    pub banner: Option<String>,
    /// The last integration health check found an error (read from its stored result,
    /// never by calling Lever).
    pub health_error: bool,
}

impl Chrome {
    pub async fn new(
        state: &AppState,
        user: Option<&CurrentUser>,
        csrf: &CsrfToken,
        section: &'static str,
    ) -> Result<Self, AppError> {
        let (banner, health_error) = match user {
            Some(user) => (
                crate::lever::connection::banner(&state.db, user.org_id).await?,
                crate::integration_health::has_error(&state.db, user.org_id).await?,
            ),
            None => (None, false),
        };
        let (brand, user, csrf) = (state.settings.brand.clone(), user.cloned(), csrf.0.clone());
        Ok(Self { brand, user, csrf, section, banner, health_error })
    }

    pub fn is_admin(&self) -> bool {
        self.user.as_ref().is_some_and(CurrentUser::is_admin)
    }
}

/// Renders an askama page as an HTML response.
pub fn render(page: &impl Template) -> Result<Response, AppError> {
    let html = page.render().map_err(|e| AppError::Internal(anyhow::Error::new(e).context("rendering a page")))?;
    Ok(Html(html).into_response())
}
