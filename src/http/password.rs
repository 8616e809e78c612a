//! `/password/forgot` and `/password/reset/{token}`: a forgotten password is replaced
//! through a single-use link emailed to the account's address. Asking answers the same
//! whether or not the address has an account, and sends at most one link per address per
//! cooldown. Choosing the new password ends the account's other sessions.

use askama::Template;
use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use chrono::Duration;
use serde::Deserialize;

use super::{
    auth::{capitalise, signed_in},
    csrf::{CsrfForm, CsrfToken},
    error::{AppError, AppResult},
    layout::{Chrome, render},
    links::{self, Opened, Sent},
    path_id::PathId,
    session,
};
use crate::{
    accounts::{self, Found, LinkToken, Owner, Purpose},
    domain::email::EmailAddress,
    http::AppState,
    jobs::{self, kinds::email::SendEmail},
    orgs,
};

#[derive(Template)]
#[template(path = "forgot_password.html")]
struct ForgotPage {
    chrome: Chrome,
    email: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    email: String,
}

pub async fn forgot_page(State(state): State<AppState>, csrf: CsrfToken) -> AppResult<Response> {
    let chrome = Chrome::new(&state, None, &csrf, "login").await?;
    render(&ForgotPage { chrome, email: String::new(), error: None })
}

pub async fn forgot(
    State(state): State<AppState>,
    csrf: CsrfToken,
    CsrfForm(form): CsrfForm<ForgotForm>,
) -> AppResult<Response> {
    let email = match EmailAddress::parse(&form.email) {
        Ok(email) => email,
        Err(why) => {
            let chrome = Chrome::new(&state, None, &csrf, "login").await?;
            let page = ForgotPage { chrome, email: form.email.trim().to_string(), error: Some(capitalise(why)) };
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response());
        }
    };
    let now = state.clock.now();
    let accounts_settings = &state.settings.accounts;
    let mut tx = state.db.begin().await?;
    // The turn is taken for any address, known or not, so both cost the same.
    let cooldown = Duration::seconds(accounts_settings.email_cooldown_secs);
    let may = accounts::may_email(&mut tx, &email, "password_reset", cooldown, now).await?;
    if let Some(account) = orgs::find_user(&mut tx, &email).await?
        && may
    {
        let lifetime = Duration::minutes(accounts_settings.reset_link_minutes);
        let owner = Owner::User(account.id);
        let link_id = accounts::issue(&mut tx, &state.cipher, Purpose::ResetPassword, owner, lifetime, now).await?;
        jobs::enqueue(&mut tx, &SendEmail::PasswordReset { link_id }, now).await?;
    }
    tx.commit().await?;
    links::check_email(&state, &csrf, Sent::Reset, email.as_str()).await
}

/// The form posts back to the page's own address (which holds the secret), so the secret
/// is not written into the page.
#[derive(Template)]
#[template(path = "reset_password.html")]
struct ResetPage {
    chrome: Chrome,
    /// The account's address, for the reader and for password managers.
    email: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    password: String,
}

/// The address of the account a reset link is for, if the link is valid.
async fn account_of(state: &AppState, token: &LinkToken) -> AppResult<Opened<String>> {
    let mut conn = state.db.acquire().await?;
    let found = accounts::find(&mut conn, token.as_str(), Purpose::ResetPassword, state.clock.now()).await?;
    let email = match &found {
        Found::Valid(accounts::Link { user_id: Some(id), .. }) => {
            sqlx::query_scalar!("SELECT email FROM users WHERE id = $1", id).fetch_optional(&mut *conn).await?
        }
        _ => None,
    };
    Ok(Opened::new(found, email))
}

pub async fn reset_page(
    State(state): State<AppState>,
    csrf: CsrfToken,
    PathId(token): PathId<LinkToken>,
) -> AppResult<Response> {
    let email = match account_of(&state, &token).await? {
        Opened::Valid(email) => email,
        Opened::NotValid(found) => return links::link_problem(&state, &csrf, Purpose::ResetPassword, &found).await,
    };
    let chrome = Chrome::new(&state, None, &csrf, "login").await?;
    render(&ResetPage { chrome, email, error: None })
}

pub async fn reset(
    State(state): State<AppState>,
    csrf: CsrfToken,
    PathId(token): PathId<LinkToken>,
    CsrfForm(form): CsrfForm<ResetForm>,
) -> AppResult<Response> {
    let email = match account_of(&state, &token).await? {
        Opened::Valid(email) => email,
        Opened::NotValid(found) => return links::link_problem(&state, &csrf, Purpose::ResetPassword, &found).await,
    };
    // A refused password leaves the link as it was, to try again.
    if let Err(refused) = orgs::check_password(&form.password) {
        let (status, message) = super::auth::refusal(refused)?;
        let chrome = Chrome::new(&state, None, &csrf, "login").await?;
        return Ok((status, render(&ResetPage { chrome, email, error: Some(message) })?).into_response());
    }
    let hash = links::hash_password(&form.password).await?;
    let mut tx = state.db.begin().await?;
    let found = accounts::use_up(&mut tx, token.as_str(), Purpose::ResetPassword, state.clock.now()).await?;
    let user_id = match &found {
        Found::Valid(accounts::Link { user_id: Some(user_id), .. }) => *user_id,
        // Used by a request that came in at the same moment.
        _ => return links::link_problem(&state, &csrf, Purpose::ResetPassword, &found).await,
    };
    let org_id = orgs::set_password(&mut tx, user_id, &hash).await?.ok_or(AppError::NotFound)?;
    session::end_all(&mut tx, user_id).await?;
    tx.commit().await?;
    tracing::info!(%org_id, "password reset; the account's other sessions ended");
    signed_in(&state, user_id, org_id, "/app").await
}
