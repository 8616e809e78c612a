//! Failed jobs (admins): what could not be done, the last error, and a Retry button.

use askama::Template;
use axum::{
    extract::State,
    response::{IntoResponse, Redirect, Response},
};

use super::{
    csrf::{CsrfForm, CsrfToken, NoFields},
    error::{AppError, AppResult},
    layout::{Chrome, render},
    session::AdminUser,
};
use uuid::Uuid;

use crate::{
    http::AppState,
    http::path_id::PathId,
    invitations::{self, Named},
    jobs::{self, FailedJob},
};

#[derive(Template)]
#[template(path = "jobs.html")]
struct JobsPage {
    chrome: Chrome,
    failed: Vec<Failed>,
    counts: Vec<(String, i64)>,
}

/// A failed job as an admin reads it: what it was for, and whom it was about.
struct Failed {
    job: FailedJob,
    what: &'static str,
    /// A line naming the candidate or delivery, with a link where there is a page for it.
    about: Option<(String, Option<String>)>,
}

impl Failed {
    fn new(state: &AppState, job: FailedJob, invitations: &[Named]) -> Self {
        use crate::jobs::{Job, kinds::*};
        let what = match job.kind.as_str() {
            delivery::HandleDelivery::KIND => "Handle a webhook delivery from Lever",
            sync::SyncOpportunity::KIND => "Update the candidate's tags, notes and feedback in Lever",
            error_note::ErrorNote::KIND => "Explain an error on the candidate in Lever",
            email::SendEmail::KIND => "Send an email",
            close::CloseInvitation::KIND => "Close an invitation at its deadline or time limit",
            lever_setup::RefreshStages::KIND => "Read the stage list from Lever",
            lever_setup::EnsureFeedbackTemplate::KIND => "Create the feedback form template in Lever",
            lever_setup::CreateWebhooks::KIND => "Create the webhooks in Lever",
            lever_setup::Disconnect::KIND => "Disconnect Lever",
            keepalive::KeepAlive::KIND => "Keep the Lever connection alive",
            sweep::SweepLever::KIND => "Sweep Lever for moves, hires and deletions no webhook reported",
            sweep::WaitingCandidates::KIND => "Count or invite the candidates already waiting in trigger stages",
            report_file::AttachReport::KIND => "Attach the report PDF to the candidate in Lever",
            action_note::ActionNote::KIND => "Note an admin's resend or extension on the candidate in Lever",
            _ => "Background work",
        };
        let text = |key: &str| job.payload[key].as_str().map(str::to_string);
        // The job's own invitation, else the opportunity's newest.
        let invitation = invitations
            .iter()
            .find(|i| text("invitation_id") == Some(i.id.to_string()))
            .or_else(|| invitations.iter().find(|i| text("opportunity_id").as_deref() == Some(&i.opportunity_id)));
        let about = if let Some(inv) = invitation {
            Some((format!("{}: the report", inv.who), Some(format!("/app/invitations/{}", inv.id))))
        } else if let Some(id) = text("opportunity_id") {
            let link = crate::lever::candidate_url(&state.settings.lever.api_url, &id);
            Some((format!("Lever opportunity {id}"), link))
        } else if job.kind == delivery::HandleDelivery::KIND {
            Some(("See the delivery log".to_string(), Some("/app/deliveries".to_string())))
        } else {
            None
        };
        Self { job, what, about }
    }
}

/// The invitations the failed jobs concern, newest first.
async fn concerned(state: &AppState, org_id: Uuid, jobs: &[FailedJob]) -> sqlx::Result<Vec<Named>> {
    let text = |key: &str| jobs.iter().filter_map(|j| j.payload[key].as_str().map(str::to_string)).collect::<Vec<_>>();
    let ids: Vec<Uuid> = text("invitation_id").iter().filter_map(|id| id.parse().ok()).collect();
    let mut conn = state.db.acquire().await?;
    invitations::named(&mut conn, org_id, &ids, &text("opportunity_id")).await
}

pub async fn page(State(state): State<AppState>, AdminUser(user): AdminUser, csrf: CsrfToken) -> AppResult<Response> {
    let failed_jobs = jobs::failed_jobs(&state.db, user.org_id).await?;
    let invitations = concerned(&state, user.org_id, &failed_jobs).await?;
    let failed = failed_jobs.into_iter().map(|job| Failed::new(&state, job, &invitations)).collect();
    let counts = jobs::backlog(&state.db, Some(user.org_id))
        .await?
        .into_iter()
        .filter(|(state, count)| *state != jobs::JobState::Failed && *count > 0)
        .map(|(state, count)| (state.to_string(), count))
        .collect();
    let chrome = Chrome::new(&state, Some(&user), &csrf, "jobs").await?;
    render(&JobsPage { chrome, failed, counts })
}

pub async fn retry(
    State(state): State<AppState>,
    AdminUser(user): AdminUser,
    PathId(id): PathId<i64>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> AppResult<Response> {
    if !jobs::retry_failed(&state.db, user.org_id, id, state.clock.now()).await? {
        return Err(AppError::NotFound);
    }
    Ok(Redirect::to("/app/jobs").into_response())
}
