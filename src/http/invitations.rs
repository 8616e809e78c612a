//! The invitations dashboard (`/app`, with filters) and each invitation's report
//! (`/app/invitations/{id}`), for every signed-in member of the organization; admins also
//! find the report's buttons to send the invite again, extend the deadline or cancel
//! (`invitation_actions`).

use askama::Template;
use axum::{
    extract::{Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use uuid::Uuid;

use super::{
    csrf::{CsrfForm, CsrfToken, NoFields},
    error::{AppError, AppResult},
    invitation_actions::{self, Action, EXTEND_DAYS},
    layout::{Chrome, render},
    session::{AdminUser, CurrentUser},
};
use crate::{
    copy,
    http::AppState,
    http::path_id::PathId,
    invitations::{self, Filter, Invitation, InvitationStatus},
    report::{self, AnswerLine},
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
    /// Why it was cancelled, as a clause.
    cancelled_because: Option<String>,
    /// What the admin's last action did, or why it was refused.
    notice: Option<String>,
    error: Option<String>,
    /// Which of the admin's buttons the invitation's state allows (none for members).
    can_resend: bool,
    can_extend: bool,
    can_cancel: bool,
    extend_days: (i64, i64),
}

/// The notice after an admin's action, named in the redirect so a reload repeats nothing.
#[derive(Deserialize, Default)]
pub struct Done {
    #[serde(default)]
    done: String,
}

impl Done {
    fn notice(&self) -> Option<String> {
        match self.done.as_str() {
            "resent" => Some("The invite is on its way to the candidate again, with the same link.".into()),
            "extended" => Some("The deadline was extended.".into()),
            "cancelled" => {
                Some("The invitation was cancelled; the candidate's link says it is no longer needed.".into())
            }
            _ => None,
        }
    }
}

pub async fn report(
    State(state): State<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
    PathId(id): PathId<Uuid>,
    Query(done): Query<Done>,
) -> AppResult<Response> {
    report_page(&state, &user, &csrf, id, done.notice(), None).await
}

async fn report_page(
    state: &AppState,
    user: &CurrentUser,
    csrf: &CsrfToken,
    id: Uuid,
    notice: Option<String>,
    error: Option<(StatusCode, String)>,
) -> AppResult<Response> {
    let mut conn = state.db.acquire().await?;
    let report = report::load(&mut conn, &state.settings.brand, user.org_id, id).await?;
    drop(conn);
    let report = report.ok_or(AppError::NotFound)?;
    let duration_minutes = report.duration_minutes();
    let report::Report { invitation: inv, result, answers, .. } = report;
    let chrome = Chrome::new(state, Some(user), csrf, "invitations").await?;
    let lever_url = crate::lever::candidate_url(&state.settings.lever.api_url, &inv.opportunity_id);
    let email_error = inv.email_error.clone().filter(|_| inv.email_sent_at.is_none());
    let cancelled_because = inv
        .cancelled_because()
        .map(|reason| copy::text(&copy::CancelWhy { brand: &state.settings.brand, reason: &reason }));
    // Offered where the state allows it; the transition decides in the end.
    let admin = user.is_admin();
    let (can_resend, can_extend, can_cancel) = (
        admin && matches!(inv.status, InvitationStatus::Invited | InvitationStatus::Expired),
        admin && inv.status == InvitationStatus::Invited && state.clock.now() < inv.deadline,
        admin && inv.status.is_open(),
    );
    let (status, error) = match error {
        Some((status, message)) => (status, Some(message)),
        None => (StatusCode::OK, None),
    };
    let page = Report {
        chrome,
        inv,
        result,
        answers,
        duration_minutes,
        email_error,
        lever_url,
        cancelled_because,
        notice,
        error,
        can_resend,
        can_extend,
        can_cancel,
        extend_days: (*EXTEND_DAYS.start(), *EXTEND_DAYS.end()),
    };
    Ok((status, render(&page)?).into_response())
}

#[derive(Deserialize)]
pub struct ExtendForm {
    #[serde(default)]
    days: String,
}

pub async fn resend(
    State(state): State<AppState>,
    admin: AdminUser,
    csrf: CsrfToken,
    PathId(id): PathId<Uuid>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> AppResult<Response> {
    act(&state, &admin, &csrf, id, Ok(Action::Resend), "resent").await
}

pub async fn extend(
    State(state): State<AppState>,
    admin: AdminUser,
    csrf: CsrfToken,
    PathId(id): PathId<Uuid>,
    CsrfForm(form): CsrfForm<ExtendForm>,
) -> AppResult<Response> {
    let action = match form.days.trim().parse::<i64>() {
        Ok(days) => Action::extend(days),
        Err(_) => Err(AppError::invalid("days", "Give the number of days as a whole number.")),
    };
    act(&state, &admin, &csrf, id, action, "extended").await
}

pub async fn cancel(
    State(state): State<AppState>,
    admin: AdminUser,
    csrf: CsrfToken,
    PathId(id): PathId<Uuid>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> AppResult<Response> {
    let by = invitation_actions::admin_name(&state, admin.0.id, &admin.0.email).await?;
    act(&state, &admin, &csrf, id, Ok(Action::Cancel { by }), "cancelled").await
}

/// Does the action and goes back to the report; a refusal (409) or bad input (422) shows
/// on the report page, which then offers what the invitation allows.
async fn act(
    state: &AppState,
    admin: &AdminUser,
    csrf: &CsrfToken,
    id: Uuid,
    action: AppResult<Action>,
    done: &str,
) -> AppResult<Response> {
    let refused = match action {
        Ok(action) => match invitation_actions::apply(state, admin.0.org_id, id, action).await {
            Ok(()) => return Ok(Redirect::to(&format!("/app/invitations/{id}?done={done}")).into_response()),
            Err(e) => e,
        },
        Err(e) => e,
    };
    match refused {
        e @ (AppError::Conflict(_) | AppError::Invalid { .. }) => {
            let error = (e.status(), e.to_string());
            report_page(state, &admin.0, csrf, id, None, Some(error)).await
        }
        other => Err(other),
    }
}
