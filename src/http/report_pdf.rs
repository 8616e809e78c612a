//! The report as a PDF download (`/app/invitations/{id}/report.pdf`), for signed-in
//! members of the organization: the same file Fulcrum attaches in Lever.

use axum::{
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};
use uuid::Uuid;

use super::{
    error::{AppError, AppResult},
    session::CurrentUser,
};
use crate::{http::AppState, http::path_id::PathId, report};

pub async fn download(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId<Uuid>,
) -> AppResult<Response> {
    let mut conn = state.db.acquire().await?;
    let mut report =
        report::load(&mut conn, &state.settings.brand, user.org_id, id).await?.ok_or(AppError::NotFound)?;
    drop(conn);
    report.fetch_logo(report::logo::Reach::for_production(state.settings.is_production())).await;
    let name = report::file_name(&report.brand, &report.invitation.assessment_name);
    // Laying out a long report is CPU work: off the request threads.
    let pdf = tokio::task::spawn_blocking(move || report::pdf::render(&report))
        .await
        .map_err(|e| AppError::Internal(anyhow::Error::new(e).context("rendering a report")))??;
    let disposition = format!("attachment; filename=\"{}\"; filename*=UTF-8''{}", ascii_name(&name), encoded(&name));
    let headers = [
        (header::CONTENT_TYPE, "application/pdf".to_string()),
        (header::CONTENT_DISPOSITION, disposition),
        (header::CACHE_CONTROL, "private, no-store".to_string()),
    ];
    Ok((headers, pdf).into_response())
}

/// The name with anything outside printable ASCII (and quotes) replaced, for old clients.
fn ascii_name(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' }).collect()
}

/// RFC 5987 percent-encoding of the name.
fn encoded(name: &str) -> String {
    name.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
