//! What the account pages share: the "check your email" answer (the same whether or not
//! the address has an account), the page for a link that no longer works, and password
//! hashing off the request threads.

use askama::Template;
use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};

use super::{
    csrf::CsrfToken,
    error::{AppError, AppResult},
    layout::{Chrome, render},
};
use crate::{
    accounts::{Found, Purpose},
    http::AppState,
    orgs,
};

/// Which request the "check your email" page answers.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    Signup,
    Resend,
    Reset,
}

#[derive(Template)]
#[template(path = "check_email.html")]
struct CheckEmailPage<'a> {
    chrome: Chrome,
    sent: Sent,
    email: &'a str,
    /// How long the link is valid, in words.
    valid_for: String,
    /// Where the message is when mail goes to the outbox folder (development).
    outbox: Option<String>,
}

/// The answer to a sign-up, a resend or a password reset request: the same page whatever
/// the address, so it reveals nothing about who has an account.
pub async fn check_email(state: &AppState, csrf: &CsrfToken, sent: Sent, email: &str) -> AppResult<Response> {
    let accounts = &state.settings.accounts;
    let valid_for = match sent {
        Sent::Signup | Sent::Resend => duration_words(accounts.verify_link_hours * 60),
        Sent::Reset => duration_words(accounts.reset_link_minutes),
    };
    let chrome = Chrome::new(state, None, csrf, "signup").await?;
    render(&CheckEmailPage { chrome, sent, email, valid_for, outbox: outbox(state) })
}

/// The outbox folder, when mail is written there instead of sent (development without
/// `SMTP_URL`): the person at the keyboard is the one who runs Fulcrum.
pub fn outbox(state: &AppState) -> Option<String> {
    let settings = &state.settings;
    let local = !settings.is_production() && settings.email.smtp_url.is_empty();
    local.then(|| format!("{}/", settings.database.data_dir.join("outbox").display()))
}

/// "24 hours", "1 hour", "90 minutes".
pub fn duration_words(minutes: i64) -> String {
    let plural = |n: i64, unit: &str| if n == 1 { format!("1 {unit}") } else { format!("{n} {unit}s") };
    if minutes % 60 == 0 { plural(minutes / 60, "hour") } else { plural(minutes, "minute") }
}

/// What a visited link leads to, or why it does not work (for [`link_problem`]).
pub enum Opened<T> {
    Valid(T),
    NotValid(Found),
}

impl<T> Opened<T> {
    /// `what` when the link is valid and leads somewhere; a valid link whose subject is gone
    /// counts as unknown.
    pub fn new(found: Found, what: Option<T>) -> Self {
        match (found, what) {
            (Found::Valid(_), Some(what)) => Self::Valid(what),
            (Found::Valid(_), None) => Self::NotValid(Found::Unknown),
            (found, _) => Self::NotValid(found),
        }
    }
}

#[derive(Template)]
#[template(path = "link_problem.html")]
struct LinkProblemPage {
    chrome: Chrome,
    purpose: Purpose,
    problem: Problem,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Problem {
    Used,
    Expired,
    Unknown,
}

/// The page for a link that does not work (any more): used, expired, or unknown.
pub async fn link_problem(state: &AppState, csrf: &CsrfToken, purpose: Purpose, found: &Found) -> AppResult<Response> {
    let (status, problem) = match found {
        Found::Used(_) => (StatusCode::GONE, Problem::Used),
        Found::Expired(_) => (StatusCode::GONE, Problem::Expired),
        Found::Unknown => (StatusCode::NOT_FOUND, Problem::Unknown),
        Found::Valid(_) => {
            return Err(AppError::Internal(anyhow::anyhow!("a valid {purpose} link taken for a bad one")));
        }
    };
    let chrome = Chrome::new(state, None, csrf, "signup").await?;
    Ok((status, render(&LinkProblemPage { chrome, purpose, problem })?).into_response())
}

/// Argon2id off the request threads (it is slow by design).
pub async fn hash_password(password: &str) -> AppResult<String> {
    orgs::hash_password(password).await.map_err(|_busy| AppError::Unavailable)
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_read_as_words() {
        assert_eq!(super::duration_words(60), "1 hour");
        assert_eq!(super::duration_words(24 * 60), "24 hours");
        assert_eq!(super::duration_words(90), "90 minutes");
        assert_eq!(super::duration_words(1), "1 minute");
    }
}
