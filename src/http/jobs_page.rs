//! Failed jobs (admins): what could not be done, the last error, and a Retry button.

use askama::Template;
use axum::{
    extract::{Path, State},
    response::{IntoResponse, Redirect, Response},
};

use super::{
    csrf::{CsrfForm, CsrfToken, NoFields},
    error::{AppError, AppResult},
    layout::{Chrome, render},
    session::AdminUser,
};
use crate::{
    app::AppState,
    jobs::{self, FailedJob},
};

#[derive(Template)]
#[template(path = "jobs.html")]
struct JobsPage {
    chrome: Chrome,
    failed: Vec<FailedJob>,
    counts: Vec<(String, i64)>,
}

pub async fn page(State(state): State<AppState>, AdminUser(user): AdminUser, csrf: CsrfToken) -> AppResult<Response> {
    let failed = jobs::failed_jobs(&state.db, user.org_id).await?;
    let counts = sqlx::query!(
        r#"SELECT state AS "state!", count(*) AS "count!" FROM jobs WHERE org_id = $1
           AND state IN ('queued', 'running', 'paused') GROUP BY state ORDER BY state"#,
        user.org_id
    )
    .fetch_all(&state.db)
    .await?
    .into_iter()
    .map(|r| (r.state, r.count))
    .collect();
    let chrome = Chrome::new(&state, Some(&user), &csrf, "jobs").await?;
    render(&JobsPage { chrome, failed, counts })
}

pub async fn retry(
    State(state): State<AppState>,
    AdminUser(user): AdminUser,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> AppResult<Response> {
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    if !jobs::retry_failed(&state.db, user.org_id, id, state.clock.now()).await? {
        return Err(AppError::NotFound);
    }
    Ok(Redirect::to("/app/jobs").into_response())
}
