//! `/api/v1/invitations`: reading invitations, an external grading engine reporting that a
//! candidate started and what they scored, and an admin's resend, extend and cancel
//! (`invitation_actions`). A result is idempotent: the same one again is a no-op, a
//! different one a 409.

use axum::{Json, extract::State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{
    ApiClient, ApiJson, ApiQuery,
    page::{Cursor, PageQuery, next_cursor},
};
use crate::{
    http::AppState,
    http::error::{ApiResult, AppError},
    http::invitation_actions::{self, Action},
    http::path_id::PathId,
    invitations::{self, CancelKind, Invitation, InvitationStatus, Outcome},
    jobs::kinds::follow_up,
};

#[derive(Serialize)]
pub struct InvitationJson {
    id: Uuid,
    status: InvitationStatus,
    assessment_id: Uuid,
    assessment_name: String,
    opportunity_id: String,
    candidate_name: String,
    candidate_email: String,
    score: Option<i32>,
    passed: Option<bool>,
    failure_reason: Option<String>,
    report_url: String,
    external_report_url: Option<String>,
    deadline: DateTime<Utc>,
    created_at: DateTime<Utc>,
    email_sent_at: Option<DateTime<Utc>>,
    started_at: Option<DateTime<Utc>>,
    completed_at: Option<DateTime<Utc>>,
    /// Why it was cancelled, when it was.
    cancel_reason: Option<CancelKind>,
    cancelled_at: Option<DateTime<Utc>>,
}

impl InvitationJson {
    fn new(state: &AppState, inv: Invitation) -> Self {
        Self {
            report_url: invitations::report_url(state.settings.public_url(), inv.id),
            id: inv.id,
            status: inv.status,
            assessment_id: inv.assessment_id,
            assessment_name: inv.assessment_name,
            opportunity_id: inv.opportunity_id,
            candidate_name: inv.candidate_name,
            candidate_email: inv.candidate_email,
            score: inv.score,
            passed: inv.passed,
            failure_reason: inv.failure_reason,
            external_report_url: inv.external_report_url,
            deadline: inv.deadline,
            created_at: inv.created_at,
            email_sent_at: inv.email_sent_at,
            started_at: inv.started_at,
            completed_at: inv.completed_at,
            cancel_reason: inv.cancel_reason,
            cancelled_at: inv.cancelled_at,
        }
    }
}

#[derive(Deserialize)]
pub struct Filters {
    status: Option<String>,
    opportunity_id: Option<String>,
    #[serde(flatten)]
    page: PageQuery,
}

/// Newest first, a page at a time.
pub async fn list(
    State(state): State<AppState>,
    client: ApiClient,
    ApiQuery(filters): ApiQuery<Filters>,
) -> ApiResult<Json<Value>> {
    let page = filters.page.parse()?;
    let after = match page.after {
        None => None,
        Some(Cursor::Invitation(at, id)) => Some((at, id)),
        Some(_) => return Err(AppError::invalid("cursor", "that cursor belongs to another list").into()),
    };
    let status = match filters.status.as_deref().map(str::parse::<InvitationStatus>) {
        None => None,
        Some(Ok(status)) => Some(status),
        Some(Err(unknown)) => {
            let known: Vec<&str> = InvitationStatus::ALL.iter().map(|s| s.as_str()).collect();
            let message = format!("unknown status {:?}; one of {}", unknown.value, known.join(", "));
            return Err(AppError::invalid("status", message).into());
        }
    };
    let mut conn = state.db.acquire().await?;
    let filter =
        invitations::Filter { status, opportunity_id: filters.opportunity_id.as_deref(), after, ..Default::default() };
    let mut rows = invitations::list(&mut conn, client.org_id, &filter, page.limit + 1).await?;
    let next_cursor = next_cursor(&mut rows, page.limit, |i| Cursor::Invitation(i.created_at, i.id));
    let data: Vec<InvitationJson> = rows.into_iter().map(|i| InvitationJson::new(&state, i)).collect();
    Ok(Json(json!({ "data": data, "next_cursor": next_cursor })))
}

async fn find(state: &AppState, client: &ApiClient, id: Uuid) -> ApiResult<Invitation> {
    let mut conn = state.db.acquire().await?;
    Ok(invitations::get(&mut conn, client.org_id, id).await?.ok_or(AppError::NotFound)?)
}

pub async fn get(
    State(state): State<AppState>,
    client: ApiClient,
    PathId(id): PathId<Uuid>,
) -> ApiResult<Json<InvitationJson>> {
    let inv = find(&state, &client, id).await?;
    Ok(Json(InvitationJson::new(&state, inv)))
}

pub async fn start(
    State(state): State<AppState>,
    client: ApiClient,
    PathId(id): PathId<Uuid>,
) -> ApiResult<Json<InvitationJson>> {
    find(&state, &client, id).await?;
    let mut tx = state.db.begin().await?;
    let inv = invitations::lock(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let now = state.clock.now();
    let effects = invitations::start(&mut tx, &inv, now).await.map_err(AppError::from)?;
    follow_up(&mut tx, (&inv).into(), &effects, now).await?;
    tx.commit().await?;
    let inv = find(&state, &client, id).await?;
    Ok(Json(InvitationJson::new(&state, inv)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResultBody {
    score: i64,
    passed: Option<bool>,
    failure_reason: Option<String>,
    report_url: Option<String>,
}

pub async fn result(
    State(state): State<AppState>,
    client: ApiClient,
    PathId(id): PathId<Uuid>,
    ApiJson(body): ApiJson<ResultBody>,
) -> ApiResult<Json<InvitationJson>> {
    if !(0..=100).contains(&body.score) {
        return Err(AppError::invalid("score", "score must be a whole number from 0 to 100").into());
    }
    let reason = body.failure_reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
    if reason.is_some_and(|r| r.chars().count() > 2000) {
        return Err(AppError::invalid("failure_reason", "failure_reason must be at most 2,000 characters").into());
    }
    let report_url = body.report_url.as_deref().map(str::trim).filter(|r| !r.is_empty());
    if report_url.is_some_and(|u| !crate::email::templates::is_http_url(u, 2000)) {
        return Err(AppError::invalid("report_url", "report_url must be an http(s) URL").into());
    }
    find(&state, &client, id).await?;
    let mut tx = state.db.begin().await?;
    let inv = invitations::lock(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let score = body.score as i32;
    let outcome =
        Outcome { score, passed: body.passed.unwrap_or(score >= inv.pass_mark), failure_reason: reason, report_url };
    let now = state.clock.now();
    let effects = invitations::complete(&mut tx, &inv, &outcome, now).await.map_err(AppError::from)?;
    follow_up(&mut tx, (&inv).into(), &effects, now).await?;
    tx.commit().await?;
    let inv = find(&state, &client, id).await?;
    Ok(Json(InvitationJson::new(&state, inv)))
}

/// Sends the invite again; an expired invitation reopens with a new deadline.
pub async fn resend(
    State(state): State<AppState>,
    client: ApiClient,
    PathId(id): PathId<Uuid>,
) -> ApiResult<Json<InvitationJson>> {
    act(&state, &client, id, Action::Resend).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtendBody {
    days: i64,
}

/// Moves the deadline `days` later.
pub async fn extend(
    State(state): State<AppState>,
    client: ApiClient,
    PathId(id): PathId<Uuid>,
    ApiJson(body): ApiJson<ExtendBody>,
) -> ApiResult<Json<InvitationJson>> {
    act(&state, &client, id, Action::extend(body.days)?).await
}

pub async fn cancel(
    State(state): State<AppState>,
    client: ApiClient,
    PathId(id): PathId<Uuid>,
) -> ApiResult<Json<InvitationJson>> {
    let by = invitation_actions::api_key_name(&state, client.key_id).await?;
    act(&state, &client, id, Action::Cancel { by }).await
}

async fn act(state: &AppState, client: &ApiClient, id: Uuid, action: Action) -> ApiResult<Json<InvitationJson>> {
    invitation_actions::apply(state, client.org_id, id, action).await?;
    let inv = find(state, client, id).await?;
    Ok(Json(InvitationJson::new(state, inv)))
}
