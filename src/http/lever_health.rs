//! The integration health page (`/app/settings/integrations/lever/health`, admins) and its
//! API twin (`GET /api/v1/integrations/lever/health`): each check with what is wrong and
//! how to fix it. Answers come from `integration_health::current`, which reuses a check
//! younger than a minute and bounds its Lever reads, so neither can hang on Lever.

use askama::Template;
use axum::{
    Json,
    extract::State,
    response::{IntoResponse, Redirect, Response},
};

use super::{
    api::ApiClient,
    csrf::{CsrfForm, CsrfToken, NoFields},
    error::{ApiResult, AppResult},
    layout::{Chrome, render},
    session::AdminUser,
};
use crate::{
    http::AppState,
    integration_health::{self, Check, Handles, Health},
};

fn handles(state: &AppState) -> Handles<'_> {
    Handles::new(&state.db, &state.lever, &state.clock, &state.settings)
}

#[derive(Template)]
#[template(path = "lever_health.html")]
struct Page {
    chrome: Chrome,
    health: Health,
}

impl Page {
    fn failing(&self) -> usize {
        self.health.checks.iter().filter(|c| c.status_name() != "ok").count()
    }
}

pub async fn page(State(state): State<AppState>, AdminUser(user): AdminUser, csrf: CsrfToken) -> AppResult<Response> {
    let health = integration_health::current(&handles(&state), user.org_id).await?;
    let chrome = Chrome::new(&state, Some(&user), &csrf, "lever").await?;
    render(&Page { chrome, health })
}

/// "Check again": forgets the last result.
pub async fn recheck(
    State(state): State<AppState>,
    AdminUser(user): AdminUser,
    _form: CsrfForm<NoFields>,
) -> AppResult<Response> {
    integration_health::forget(&state.db, user.org_id).await?;
    Ok(Redirect::to("/app/settings/integrations/lever/health").into_response())
}

#[derive(serde::Serialize)]
pub struct Answer {
    checked_at: chrono::DateTime<chrono::Utc>,
    checks: Vec<Check>,
}

pub async fn api(State(state): State<AppState>, client: ApiClient) -> ApiResult<Json<Answer>> {
    let health = integration_health::current(&handles(&state), client.org_id).await?;
    Ok(Json(Answer { checked_at: health.checked_at, checks: health.checks }))
}
