//! `/signup` and the confirmation of a new admin's address.
//!
//! Signing up answers the same page whether or not the address has an account, so the form
//! tells nobody who uses Fulcrum. A new address gets an organization with an unconfirmed
//! admin and a link to confirm it; an address with a confirmed account gets a notice
//! instead (and one still waiting, its link again). Until the link is followed the admin
//! cannot sign in, and the sign-in form offers to send the link again.

use askama::Template;
use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use chrono::Duration;
use serde::Deserialize;

use super::{
    auth::{capitalise, refusal, signed_in},
    client::ClientAddr,
    csrf::{CsrfForm, CsrfToken},
    error::{AppError, AppResult},
    layout::{Chrome, render},
    links::{self, Sent},
    path_id::PathId,
    session::MaybeUser,
};
use crate::{
    accounts::{self, Found, LinkToken, Owner, Purpose},
    domain::email::EmailAddress,
    http::AppState,
    jobs::{self, kinds::email::SendEmail},
    orgs::{self, NewUserError, Verification},
    throttle,
};

#[derive(Template)]
#[template(path = "signup.html")]
struct SignupPage {
    chrome: Chrome,
    organization: String,
    email: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct SignupForm {
    #[serde(default)]
    organization: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

#[derive(Deserialize)]
pub struct EmailForm {
    #[serde(default)]
    email: String,
}

pub async fn page(State(state): State<AppState>, MaybeUser(user): MaybeUser, csrf: CsrfToken) -> AppResult<Response> {
    if user.is_some() {
        return Ok(Redirect::to("/app").into_response());
    }
    let chrome = Chrome::new(&state, None, &csrf, "signup").await?;
    render(&SignupPage { chrome, organization: String::new(), email: String::new(), error: None })
}

pub async fn signup(
    State(state): State<AppState>,
    client: ClientAddr,
    csrf: CsrfToken,
    CsrfForm(form): CsrfForm<SignupForm>,
) -> AppResult<Response> {
    let server = &state.settings.server;
    let limit = throttle::Limit {
        key: format!("sign-up:{}", client.key()),
        max: server.signup_max_per_ip,
        window_secs: server.signup_window_secs,
    };
    if let Some(exceeded) = throttle::count(&state.db, &[limit]).await? {
        let message = "Too many sign-ups from here. Wait a while and try again.";
        let mut response = AppError::TooManyRequests(message.into()).into_response();
        response.headers_mut().insert(axum::http::header::RETRY_AFTER, exceeded.retry_after_secs().into());
        return Ok(response);
    }
    // Only the input is judged here, never whether the address has an account.
    let email = match check(&form) {
        Ok(email) => email,
        Err(refused) => {
            let (status, message) = refusal(refused)?;
            let chrome = Chrome::new(&state, None, &csrf, "signup").await?;
            let page = SignupPage {
                chrome,
                organization: form.organization.trim().to_string(),
                email: form.email.trim().to_string(),
                error: Some(message),
            };
            return Ok((status, render(&page)?).into_response());
        }
    };
    // Hashed whoever asks, so a known address answers no faster than a new one.
    let hash = links::hash_password(&form.password).await?;
    register(&state, &form.organization, &email, &hash).await?;
    links::check_email(&state, &csrf, Sent::Signup, email.as_str()).await
}

fn check(form: &SignupForm) -> Result<EmailAddress, NewUserError> {
    orgs::check_org_name(&form.organization)?;
    let email = EmailAddress::parse(&form.email).map_err(NewUserError::Invalid)?;
    orgs::check_password(&form.password)?;
    Ok(email)
}

/// A new address: the organization, its unconfirmed admin and the confirmation email. An
/// address with an account: a notice to it, at most once per cooldown.
async fn register(state: &AppState, organization: &str, email: &EmailAddress, hash: &str) -> AppResult<()> {
    let now = state.clock.now();
    let cooldown = Duration::seconds(state.settings.accounts.email_cooldown_secs);
    let mut tx = state.db.begin().await?;
    if let Some(account) = orgs::find_user(&mut tx, email).await? {
        // Most likely the same person again: one who has not confirmed yet gets the link
        // again, one who has is told to sign in.
        if !account.verified {
            if accounts::may_email(&mut tx, email, "confirm_email", cooldown, now).await? {
                send_confirmation(state, &mut tx, account.id).await?;
            }
        } else if accounts::may_email(&mut tx, email, "signup_attempt", cooldown, now).await? {
            jobs::enqueue(&mut tx, &SendEmail::SignupAttempt { user_id: account.id }, now).await?;
        }
        tx.commit().await?;
        return Ok(());
    }
    let created = match orgs::create_org(&mut tx, organization, email, hash, Verification::Pending).await {
        Ok(created) => created,
        // Signed up by another request a moment ago: that one sent the email.
        Err(NewUserError::EmailTaken) => return Ok(()),
        Err(NewUserError::Database(e)) => return Err(e.into()),
        Err(e) => return Err(AppError::Internal(e.into())),
    };
    // Takes this address's turn, so "send it again" right away sends nothing more.
    accounts::may_email(&mut tx, email, "confirm_email", cooldown, now).await?;
    send_confirmation(state, &mut tx, created.admin_user_id).await?;
    tx.commit().await?;
    tracing::info!(org_id = %created.org_id, "organization created; its admin has yet to confirm the address");
    Ok(())
}

async fn send_confirmation(state: &AppState, conn: &mut sqlx::PgConnection, user_id: uuid::Uuid) -> sqlx::Result<()> {
    let now = state.clock.now();
    let lifetime = Duration::hours(state.settings.accounts.verify_link_hours);
    let link_id =
        accounts::issue(conn, &state.cipher, Purpose::VerifyEmail, Owner::User(user_id), lifetime, now).await?;
    jobs::enqueue(conn, &SendEmail::ConfirmEmail { link_id }, now).await?;
    Ok(())
}

/// `GET /signup/verify/{token}`: the link in the confirmation email confirms the address
/// and signs the admin in.
pub async fn verify(
    State(state): State<AppState>,
    csrf: CsrfToken,
    PathId(token): PathId<LinkToken>,
) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    let found = accounts::use_up(&mut tx, token.as_str(), Purpose::VerifyEmail, state.clock.now()).await?;
    let Found::Valid(link) = &found else {
        return links::link_problem(&state, &csrf, Purpose::VerifyEmail, &found).await;
    };
    let user_id = link.user_id.ok_or_else(|| anyhow::anyhow!("an address link without its user"))?;
    let org_id = orgs::mark_verified(&mut tx, user_id).await?.ok_or(AppError::NotFound)?;
    tx.commit().await?;
    tracing::info!(%org_id, "address confirmed");
    signed_in(&state, user_id, org_id, "/app").await
}

/// `POST /signup/resend`: a new confirmation link for an account still waiting for one.
/// The answer is the same for any address.
pub async fn resend(
    State(state): State<AppState>,
    csrf: CsrfToken,
    CsrfForm(form): CsrfForm<EmailForm>,
) -> AppResult<Response> {
    let email = EmailAddress::parse(&form.email).map_err(|why| AppError::invalid("email", capitalise(why)))?;
    let now = state.clock.now();
    let cooldown = Duration::seconds(state.settings.accounts.email_cooldown_secs);
    let mut tx = state.db.begin().await?;
    let waiting = orgs::find_user(&mut tx, &email).await?.filter(|account| !account.verified);
    if accounts::may_email(&mut tx, &email, "confirm_email", cooldown, now).await?
        && let Some(account) = waiting
    {
        send_confirmation(&state, &mut tx, account.id).await?;
    }
    tx.commit().await?;
    links::check_email(&state, &csrf, Sent::Resend, email.as_str()).await
}

#[derive(Template)]
#[template(path = "confirm_first.html")]
struct ConfirmFirstPage<'a> {
    chrome: Chrome,
    email: &'a str,
    outbox: Option<String>,
}

/// The answer to the right password of an admin who has not confirmed the address yet.
/// Only someone who knows the password sees it, so it reveals nothing to others.
pub async fn unconfirmed(state: &AppState, csrf: &CsrfToken, email: &str) -> AppResult<Response> {
    let chrome = Chrome::new(state, None, csrf, "login").await?;
    let page = ConfirmFirstPage { chrome, email, outbox: links::outbox(state) };
    Ok((StatusCode::FORBIDDEN, render(&page)?).into_response())
}
