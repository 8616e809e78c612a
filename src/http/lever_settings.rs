//! The Lever settings page: signature tokens, trigger stages, Create webhooks, the
//! webhook key, and inviting the candidates already waiting.

use askama::Template;
use axum::{
    extract::{Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use super::{
    csrf::{CsrfForm, CsrfToken, NoFields},
    error::AppResult,
    layout::{Chrome, render},
    session::{AdminUser, CurrentUser},
};
use crate::{
    http::AppState,
    jobs::{
        self,
        kinds::{lever_setup, sweep},
    },
    lever::{
        connection,
        settings::{self, Change, Overview},
        webhook,
    },
    sweeps,
};

/// Webhooks or trigger stages changed: count the candidates already waiting again.
async fn set_up_changed(state: &AppState, org_id: uuid::Uuid) -> sqlx::Result<()> {
    let mut tx = state.db.begin().await?;
    sweep::set_up_changed(&mut tx, org_id, &state.settings, state.clock.now()).await?;
    tx.commit().await
}

#[derive(Template)]
#[template(path = "lever_settings.html")]
struct SettingsPage {
    chrome: Chrome,
    overview: Overview,
    configured: bool,
    error: Option<String>,
    notice: Option<String>,
    pending: Option<String>,
    /// Jobs parked until Lever works again.
    waiting: i64,
    token_fields: Vec<TokenField>,
    sweep: Option<sweeps::Sweep>,
    sweep_minutes: i64,
}

/// A signature token's field on the settings form.
struct TokenField {
    name: &'static str,
    label: &'static str,
    required: bool,
    set: bool,
}

impl SettingsPage {
    fn waiting_candidates(&self) -> Option<i32> {
        self.sweep.as_ref().and_then(|s| s.waiting)
    }

    fn stage_checked(&self, id: &str) -> bool {
        self.overview.trigger_stage_ids.iter().any(|s| s == id)
    }
}

#[derive(Deserialize, Default)]
pub struct Notice {
    #[serde(default)]
    saved: Option<String>,
}

pub async fn settings_page(
    State(state): State<AppState>,
    AdminUser(user): AdminUser,
    csrf: CsrfToken,
    Query(notice): Query<Notice>,
) -> AppResult<Response> {
    let notice = notice.saved.map(|what| match what.as_str() {
        "webhooks" => "Webhooks created in Lever, and their signature tokens saved.".to_string(),
        "key" => "A new webhook URL was made; the old one no longer works. Update it in Lever.".to_string(),
        "inviting" => {
            "Inviting the waiting candidates: each shows in the delivery log as Fulcrum handles them.".to_string()
        }
        _ => "Settings saved.".to_string(),
    });
    render_settings(&state, &user, &csrf, StatusCode::OK, None, notice).await
}

async fn render_settings(
    state: &AppState,
    user: &CurrentUser,
    csrf: &CsrfToken,
    status: StatusCode,
    error: Option<String>,
    notice: Option<String>,
) -> AppResult<Response> {
    let overview = settings::overview(&state.lever, user.org_id).await?;
    if overview.connected && overview.stages.is_empty() {
        let mut conn = state.db.acquire().await?;
        jobs::enqueue(&mut conn, &lever_setup::RefreshStages { org_id: user.org_id }, state.clock.now()).await?;
    }
    let pending = lever_setup::pending_work(&state.db, user.org_id).await?;
    let backlog = jobs::backlog(&state.db, Some(user.org_id)).await?;
    let waiting = backlog.iter().find(|(state, _)| *state == jobs::JobState::Paused).map_or(0, |(_, n)| *n);
    let chrome = Chrome::new(state, Some(user), csrf, "lever").await?;
    let configured = state.settings.lever_configured();
    let token_fields = TOKEN_FIELDS
        .into_iter()
        .map(|(event, name)| TokenField {
            name,
            label: webhook::label(event),
            required: webhook::REQUIRED.contains(&event),
            set: overview.signature_tokens.get(event).copied().unwrap_or(false),
        })
        .collect();
    let sweep = sweeps::get(&state.db, user.org_id).await?;
    // Never counted (connected before sweeps existed): count now, for the next look.
    if overview.connected && sweep.as_ref().is_some_and(|s| s.waiting_counted_at.is_none()) {
        let mut conn = state.db.acquire().await?;
        let count = sweep::WaitingCandidates { org_id: user.org_id, invite: false };
        jobs::enqueue(&mut conn, &count, state.clock.now()).await?;
    }
    let sweep_minutes = state.settings.lever.sweep_minutes;
    let page = SettingsPage {
        chrome,
        overview,
        configured,
        error,
        notice,
        pending,
        waiting,
        token_fields,
        sweep,
        sweep_minutes,
    };
    Ok((status, render(&page)?).into_response())
}

/// The settings form's signature token field of each event.
pub const TOKEN_FIELDS: [(&str, &str); 5] = [
    (webhook::APPLICATION_CREATED, "application_created_token"),
    (webhook::STAGE_CHANGE, "stage_change_token"),
    (webhook::HIRED, "hired_token"),
    (webhook::ARCHIVE_CHANGE, "archive_change_token"),
    (webhook::DELETED, "deleted_token"),
];

#[derive(Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    application_created_token: String,
    #[serde(default)]
    stage_change_token: String,
    #[serde(default)]
    hired_token: String,
    #[serde(default)]
    archive_change_token: String,
    #[serde(default)]
    deleted_token: String,
    #[serde(default)]
    clear_tokens: Option<String>,
    #[serde(default)]
    trigger_stage: Vec<String>,
}

impl SettingsForm {
    /// The token typed for each event, in [`TOKEN_FIELDS`] order.
    fn tokens(&self) -> [&str; 5] {
        [
            &self.application_created_token,
            &self.stage_change_token,
            &self.hired_token,
            &self.archive_change_token,
            &self.deleted_token,
        ]
    }
}

pub async fn save_settings(
    State(state): State<AppState>,
    AdminUser(user): AdminUser,
    csrf: CsrfToken,
    CsrfForm(form): CsrfForm<SettingsForm>,
) -> AppResult<Response> {
    let stages_known = settings::check_stage_ids(&state.lever, user.org_id, &form.trigger_stage).await?;
    let change = (|| {
        stages_known?;
        let mut change = Change { trigger_stage_ids: Some(form.trigger_stage.clone()), ..Change::default() };
        for ((event, field), value) in TOKEN_FIELDS.into_iter().zip(form.tokens()) {
            if form.clear_tokens.is_some() {
                change.token(event, None);
            } else if !value.trim().is_empty() {
                change.token(event, Some(settings::check_token(field, value)?));
            }
        }
        Ok::<_, (String, String)>(change)
    })();
    match change {
        Ok(change) => {
            let before = settings::overview(&state.lever, user.org_id).await?;
            settings::apply(&state.lever, user.org_id, &change).await?;
            let stages_changed = change.trigger_stage_ids.as_ref().is_some_and(|ids| *ids != before.trigger_stage_ids);
            if stages_changed || !change.tokens.is_empty() {
                set_up_changed(&state, user.org_id).await?;
            }
            Ok(Redirect::to("/app/settings/integrations/lever?saved=settings").into_response())
        }
        Err((_, message)) => {
            let error = Some(super::auth::capitalise(&message));
            render_settings(&state, &user, &csrf, StatusCode::UNPROCESSABLE_ENTITY, error, None).await
        }
    }
}

/// Registers both webhooks in Lever (through the job queue) and waits briefly for it.
pub async fn create_webhooks(
    State(state): State<AppState>,
    AdminUser(user): AdminUser,
    csrf: CsrfToken,
    CsrfForm(_): CsrfForm<NoFields>,
) -> AppResult<Response> {
    if connection::get(&state.db, user.org_id).await?.is_none_or(|c| !c.connected()) {
        let error = Some("Connect Lever first: Fulcrum creates the webhooks through Lever's API.".to_string());
        return render_settings(&state, &user, &csrf, StatusCode::CONFLICT, error, None).await;
    }
    let mut conn = state.db.acquire().await?;
    let job = jobs::enqueue(&mut conn, &lever_setup::CreateWebhooks { org_id: user.org_id }, state.clock.now()).await?;
    drop(conn);
    let finished = jobs::wait_for(&state.db, job, std::time::Duration::from_secs(15)).await?;
    let target = match finished {
        Some(jobs::JobState::Done) => "/app/settings/integrations/lever?saved=webhooks",
        _ => "/app/settings/integrations/lever",
    };
    Ok(Redirect::to(target).into_response())
}

/// **Invite them**: invites the candidates who were already waiting in trigger stages.
pub async fn invite_waiting(
    State(state): State<AppState>,
    AdminUser(user): AdminUser,
    CsrfForm(_): CsrfForm<NoFields>,
) -> AppResult<Response> {
    let mut conn = state.db.acquire().await?;
    let invite = sweep::WaitingCandidates { org_id: user.org_id, invite: true };
    jobs::enqueue(&mut conn, &invite, state.clock.now()).await?;
    Ok(Redirect::to("/app/settings/integrations/lever?saved=inviting").into_response())
}

pub async fn regenerate_key(
    State(state): State<AppState>,
    AdminUser(user): AdminUser,
    CsrfForm(_): CsrfForm<NoFields>,
) -> AppResult<Response> {
    settings::regenerate_key(&state.lever, user.org_id).await?;
    Ok(Redirect::to("/app/settings/integrations/lever?saved=key").into_response())
}
