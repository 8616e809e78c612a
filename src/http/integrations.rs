//! Connecting Lever: the OAuth round trip (`/integrations/lever/connect` → Lever →
//! `/integrations/lever/callback`) and disconnecting. The settings page is
//! `lever_settings`.

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
    jobs::{
        self,
        kinds::{lever_setup, sweep},
    },
    lever::{
        connection::{self, ConnectError},
        oauth,
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

/// Reads the account's stages for the trigger-stage picker, and counts the candidates
/// already waiting in trigger stages.
async fn after_connect(state: &AppState, org_id: uuid::Uuid) -> sqlx::Result<()> {
    let mut tx = state.db.begin().await?;
    jobs::enqueue(&mut tx, &lever_setup::RefreshStages { org_id }, state.clock.now()).await?;
    sweep::set_up_changed(&mut tx, org_id, &state.settings, state.clock.now()).await?;
    tx.commit().await
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
