//! Connecting Lever: the OAuth round trip (`/integrations/lever/connect` → Lever →
//! `/integrations/lever/callback`), disconnecting, and the integration settings page.

use askama::Template;
use axum::{
    extract::{Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use chrono::{Duration, Utc};
use serde::Deserialize;

use super::{
    cookies,
    csrf::{CsrfForm, CsrfToken, NoFields},
    error::{AppError, AppResult},
    layout::{Chrome, render},
    session::{AdminUser, CurrentUser},
};
use crate::{
    crypto,
    http::AppState,
    jobs::{self, kinds::lever_setup},
    lever::{
        connection::{self, ConnectError},
        oauth,
        settings::{self, Change, Overview},
    },
};

/// A result page of the connect flow: connected, declined, or what went wrong.
#[derive(Template)]
#[template(path = "lever_result.html")]
struct ResultPage {
    chrome: Chrome,
    title: String,
    message: String,
    ok: bool,
}

async fn result_page(
    state: &AppState,
    user: &CurrentUser,
    csrf: &CsrfToken,
    status: StatusCode,
    title: &str,
    message: &str,
) -> AppResult<Response> {
    let chrome = Chrome::new(state, Some(user), csrf, "lever").await?;
    let page = ResultPage { chrome, title: title.into(), message: message.into(), ok: status.is_success() };
    Ok((status, render(&page)?).into_response())
}

/// Sends the admin to Lever to approve Fulcrum, with a single-use `state` bound to their
/// session and valid for ten minutes.
pub async fn connect(
    State(state): State<AppState>,
    AdminUser(user): AdminUser,
    csrf: CsrfToken,
    headers: axum::http::HeaderMap,
) -> AppResult<Response> {
    if !state.settings.lever_configured() {
        let message = "This Fulcrum installation has no Lever OAuth app configured yet. The operator sets \
                       LEVER_CLIENT_ID and LEVER_CLIENT_SECRET (from Lever's developer settings) and restarts Fulcrum.";
        return result_page(&state, &user, &csrf, StatusCode::SERVICE_UNAVAILABLE, "Lever is not configured", message)
            .await;
    }
    let session = cookies::get(&headers, cookies::SESSION).ok_or(AppError::SignInRequired { next: None })?;
    let oauth_state = crypto::random_token(32);
    sqlx::query!(
        "INSERT INTO oauth_states (state_hash, org_id, user_id, session_hash, expires_at) VALUES ($1, $2, $3, $4, $5)",
        crypto::hash_token(&oauth_state),
        user.org_id,
        user.id,
        crypto::hash_token(session),
        Utc::now() + Duration::minutes(10),
    )
    .execute(&state.db)
    .await?;
    let url = oauth::authorize_url(&state.lever, &oauth_state)?;
    Ok(Redirect::to(&url).into_response())
}

#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

pub async fn callback(
    State(state): State<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
    headers: axum::http::HeaderMap,
    Query(callback): Query<Callback>,
) -> AppResult<Response> {
    let bad = |title: &'static str, message: String| (StatusCode::BAD_REQUEST, title, message);
    let outcome = async {
        let oauth_state = callback.state.as_deref().unwrap_or_default();
        let session = cookies::get(&headers, cookies::SESSION).map(crypto::hash_token).unwrap_or_default();
        // Single use: the row goes whatever happens next. Only the session that started the
        // Connect can spend it, so a state shown to anyone else stays good for its owner.
        let stored = sqlx::query!(
            "DELETE FROM oauth_states WHERE state_hash = $1 AND user_id = $2 AND session_hash = $3
             RETURNING org_id, expires_at",
            crypto::hash_token(oauth_state),
            user.id,
            session,
        )
        .fetch_optional(&state.db)
        .await?;
        let Some(stored) = stored else {
            return Ok(bad(
                "This link is not valid",
                "This Lever approval does not match a Connect you started, or it was already used. \
                 Start again from the Lever settings page."
                    .into(),
            ));
        };
        if stored.expires_at < Utc::now() {
            return Ok(bad("This link has expired", "More than ten minutes passed. Start again from Connect.".into()));
        }
        if let Some(error) = &callback.error {
            let message = if error == "access_denied" {
                "Lever was not connected because access was declined in Lever. Only a Lever Super Admin can \
                 approve Fulcrum; ask one to click Connect and accept."
                    .to_string()
            } else {
                format!("Lever answered: {error}. {}", callback.error_description.clone().unwrap_or_default())
            };
            return Ok((StatusCode::BAD_REQUEST, "Lever was not connected", message));
        }
        let Some(code) = callback.code.as_deref().filter(|c| !c.is_empty()) else {
            return Ok(bad("Lever was not connected", "Lever sent no authorization code.".into()));
        };
        let tokens = match oauth::exchange_code(&state.lever, code).await {
            Ok(tokens) => tokens,
            Err(e) => {
                tracing::warn!(error = %e, "exchanging the Lever authorization code failed");
                return Ok((
                    StatusCode::BAD_GATEWAY,
                    "Lever was not connected",
                    format!("Lever did not accept the approval ({e}). Try Connect again."),
                ));
            }
        };
        let Some(claims) = oauth::claims(&tokens.access_token) else {
            return Ok((StatusCode::BAD_GATEWAY, "Lever was not connected", "Lever's token names no account.".into()));
        };
        match connection::connect(&state.lever, stored.org_id, user.id, &tokens, &claims).await {
            Ok(()) => {
                // After the commit, so a job parking itself meanwhile is caught by this or
                // by the workers' periodic sweep.
                let mut conn = state.db.acquire().await?;
                jobs::resume_org(&mut conn, stored.org_id, state.clock.now()).await?;
            }
            Err(ConnectError::AccountTaken) => {
                return Ok((
                    StatusCode::CONFLICT,
                    "This Lever account is already connected",
                    "This Lever account is connected to another Fulcrum organization. A Lever account can \
                     belong to one organization at a time: disconnect it there first."
                        .into(),
                ));
            }
            Err(ConnectError::Database(e)) => return Err(e),
        }
        after_connect(&state, stored.org_id).await?;
        tracing::info!(org_id = %stored.org_id, account = %claims.account_id, "Lever connected");
        Ok((
            StatusCode::OK,
            "Lever is connected",
            format!(
                "Fulcrum is connected to Lever account {}. Next: set up the webhooks on the Lever settings page.",
                claims.account_id
            ),
        ))
    }
    .await;
    let (status, title, message) = outcome.map_err(AppError::from)?;
    result_page(&state, &user, &csrf, status, title, &message).await
}

/// Reads the account's stages for the trigger-stage picker.
async fn after_connect(state: &AppState, org_id: uuid::Uuid) -> sqlx::Result<()> {
    let mut conn = state.db.acquire().await?;
    jobs::enqueue(&mut conn, &lever_setup::RefreshStages { org_id }, state.clock.now()).await?;
    Ok(())
}

/// Removes the webhooks Fulcrum created, forgets the tokens and parks the account's work.
pub async fn disconnect(
    State(state): State<AppState>,
    AdminUser(user): AdminUser,
    CsrfForm(_): CsrfForm<NoFields>,
) -> AppResult<Response> {
    let mut conn = state.db.acquire().await?;
    let job = jobs::enqueue(&mut conn, &lever_setup::Disconnect { org_id: user.org_id }, state.clock.now()).await?;
    drop(conn);
    jobs::wait_for(&state.db, job, std::time::Duration::from_secs(15)).await?;
    Ok(Redirect::to("/app/settings/integrations/lever").into_response())
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
}

impl SettingsPage {
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
    let page = SettingsPage { chrome, overview, configured, error, notice, pending, waiting };
    Ok((status, render(&page)?).into_response())
}

#[derive(Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    application_created_token: String,
    #[serde(default)]
    stage_change_token: String,
    #[serde(default)]
    clear_tokens: Option<String>,
    #[serde(default)]
    trigger_stage: Vec<String>,
}

pub async fn save_settings(
    State(state): State<AppState>,
    AdminUser(user): AdminUser,
    csrf: CsrfToken,
    CsrfForm(form): CsrfForm<SettingsForm>,
) -> AppResult<Response> {
    let token = |field: &str, value: &str| -> Result<Option<Option<String>>, (String, String)> {
        if form.clear_tokens.is_some() {
            return Ok(Some(None));
        }
        if value.trim().is_empty() {
            return Ok(None);
        }
        settings::check_token(field, value).map(|t| Some(Some(t)))
    };
    let stages_known = settings::check_stage_ids(&state.lever, user.org_id, &form.trigger_stage).await?;
    let change = (|| {
        stages_known?;
        Ok::<_, (String, String)>(Change {
            application_created_token: token("application_created_token", &form.application_created_token)?,
            stage_change_token: token("stage_change_token", &form.stage_change_token)?,
            trigger_stage_ids: Some(form.trigger_stage.clone()),
        })
    })();
    match change {
        Ok(change) => {
            settings::apply(&state.lever, user.org_id, &change).await?;
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

pub async fn regenerate_key(
    State(state): State<AppState>,
    AdminUser(user): AdminUser,
    CsrfForm(_): CsrfForm<NoFields>,
) -> AppResult<Response> {
    settings::regenerate_key(&state.lever, user.org_id).await?;
    Ok(Redirect::to("/app/settings/integrations/lever?saved=key").into_response())
}
