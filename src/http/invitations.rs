//! The invitations dashboard (`/app`, with filters) and each invitation's report
//! (`/app/invitations/{id}`), for every signed-in member of the organization.

use askama::Template;
use axum::{
    extract::{Query, State},
    response::Response,
};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use uuid::Uuid;

use super::{
    csrf::CsrfToken,
    error::{AppError, AppResult},
    layout::{Chrome, render},
    session::CurrentUser,
};
use crate::{
    domain::{lifecycle::Status, scoring::Question},
    http::AppState,
    http::path_id::PathId,
    invitations::{self, Filter, Invitation, InvitationStatus},
    report::AnswerLine,
};

pub struct AssessmentOption {
    pub id: Uuid,
    pub name: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct Dashboard {
    chrome: Chrome,
    invitations: Vec<Invitation>,
    assessments: Vec<AssessmentOption>,
    status: String,
    assessment: String,
    from: String,
    until: String,
    connected: bool,
}

#[derive(Deserialize, Default)]
pub struct Filters {
    #[serde(default)]
    status: String,
    #[serde(default)]
    assessment: String,
    /// `YYYY-MM-DD`, inclusive.
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
}

fn day(text: &str) -> Option<DateTime<Utc>> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)).map(|d| d.and_utc())
}

pub async fn dashboard(
    State(state): State<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
    Query(filters): Query<Filters>,
) -> AppResult<Response> {
    let filter = Filter {
        status: filters.status.trim().parse().ok(),
        opportunity_id: None,
        assessment_id: filters.assessment.parse().ok(),
        from: day(&filters.from),
        until: day(&filters.until).map(|d| d + chrono::Duration::days(1)),
        after: None,
    };
    let mut conn = state.db.acquire().await?;
    let invitations = invitations::list(&mut conn, user.org_id, &filter, 200).await?;
    let assessments = sqlx::query_as!(
        AssessmentOption,
        "SELECT id, name FROM assessments WHERE org_id = $1 ORDER BY lower(name)",
        user.org_id
    )
    .fetch_all(&mut *conn)
    .await?;
    let connected = crate::lever::connection::get(&state.db, user.org_id).await?.is_some();
    let chrome = Chrome::new(&state, Some(&user), &csrf, "invitations").await?;
    render(&Dashboard {
        chrome,
        invitations,
        assessments,
        status: filter.status.map(|s| s.to_string()).unwrap_or_default(),
        assessment: filters.assessment,
        from: filters.from,
        until: filters.until,
        connected,
    })
}

#[derive(Template)]
#[template(path = "report.html")]
struct Report {
    chrome: Chrome,
    inv: Invitation,
    result: &'static str,
    answers: Vec<AnswerLine>,
    duration_minutes: Option<i64>,
    email_error: Option<String>,
    /// The candidate in Lever's app, when Fulcrum knows where that is.
    lever_url: Option<String>,
}

pub async fn report(
    State(state): State<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
    PathId(id): PathId<Uuid>,
) -> AppResult<Response> {
    let mut conn = state.db.acquire().await?;
    let inv = invitations::get(&mut conn, user.org_id, id).await?.ok_or(AppError::NotFound)?;
    let extra = sqlx::query!(
        "SELECT a.questions FROM invitations i JOIN assessments a ON a.id = i.assessment_id WHERE i.id = $1",
        id
    )
    .fetch_one(&mut *conn)
    .await?;
    let questions: Vec<Question> = serde_json::from_value(extra.questions).unwrap_or_default();
    let chosen: Vec<Option<usize>> =
        inv.answers.clone().and_then(|a| serde_json::from_value(a).ok()).unwrap_or_default();
    let answers = crate::report::answer_lines(&questions, &chosen);
    let result = Status::label(Status::of(inv.status, inv.passed));
    let duration_minutes = match (inv.started_at, inv.completed_at) {
        (Some(start), Some(end)) if inv.status == InvitationStatus::Completed => Some((end - start).num_minutes()),
        _ => None,
    };
    let chrome = Chrome::new(&state, Some(&user), &csrf, "invitations").await?;
    let lever_url = crate::lever::candidate_url(&state.settings.lever.api_url, &inv.opportunity_id);
    let email_error = inv.email_error.clone().filter(|_| inv.email_sent_at.is_none());
    render(&Report { chrome, inv, result, answers, duration_minutes, email_error, lever_url })
}
