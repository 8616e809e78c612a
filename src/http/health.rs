//! Operations endpoints: `/healthz` (the process is up), `/readyz` (the database answers and
//! every migration is applied), `/metrics` (Prometheus text).

use axum::{
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};

use crate::{db, http::AppState};

pub async fn healthz() -> &'static str {
    "ok"
}

pub async fn readyz(State(state): State<AppState>) -> Response {
    match db::migrations_applied(&state.db).await {
        Ok(true) => (StatusCode::OK, "ready").into_response(),
        Ok(false) => (StatusCode::SERVICE_UNAVAILABLE, "migrations pending").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

pub async fn metrics(State(state): State<AppState>) -> Response {
    // One count per unfinished state, each answered from its partial index; finished jobs
    // (kept for days) are counted by fulcrum_jobs_finished_total instead of a table scan.
    let jobs = crate::jobs::backlog(&state.db, None)
        .await
        .map(|counts| counts.into_iter().map(|(state, count)| (state.to_string(), count)).collect())
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "counting jobs for /metrics");
            Vec::new()
        });
    let body = state.metrics.render(&jobs);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body).into_response()
}
