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
}

impl Chrome {
    pub async fn new(
        state: &AppState,
        user: Option<&CurrentUser>,
        csrf: &CsrfToken,
        section: &'static str,
    ) -> Result<Self, AppError> {
        let banner = match user {
            Some(user) => crate::lever::connection::banner(&state.db, user.org_id).await?,
            None => None,
        };
        Ok(Self { brand: state.settings.brand.clone(), user: user.cloned(), csrf: csrf.0.clone(), section, banner })
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
