//! `/login`, `/logout`: plain HTML forms with CSRF protection, Argon2id passwords, and
//! failed sign-ins counted per account from each client and per client. Signing up is in
//! `signup`.

use askama::Template;
use axum::{
    extract::{Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use super::{
    client::ClientAddr,
    cookies,
    csrf::{CsrfForm, CsrfToken, NoFields},
    error::{AppError, AppResult},
    layout::{Chrome, render},
    session::{self, MaybeUser},
};
use crate::{crypto, http::AppState, orgs::NewUserError, passwords, throttle};

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    chrome: Chrome,
    email: String,
    error: Option<String>,
    /// The page to return to after signing in.
    next: String,
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

#[derive(Deserialize)]
pub struct Next {
    #[serde(default)]
    next: String,
}

/// `next` when it is a path on this site: never another host (`//host`, `https://…`), so
/// the sign-in form cannot be used to send people elsewhere.
pub fn local_path(next: &str) -> Option<&str> {
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && next.len() <= 2000
        && !next.chars().any(char::is_control);
    local.then_some(next)
}

/// The sign-in form, coming back to `next` afterwards.
pub fn sign_in_url(next: Option<&str>) -> String {
    match next.and_then(local_path).filter(|n| *n != "/" && *n != "/app") {
        Some(next) => format!("/login?{}", serde_html_form::to_string([("next", next)]).unwrap_or_default()),
        None => "/login".into(),
    }
}

pub async fn login_page(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    csrf: CsrfToken,
    Query(Next { next }): Query<Next>,
) -> AppResult<Response> {
    let next = local_path(&next).unwrap_or("/app").to_string();
    if user.is_some() {
        return Ok(Redirect::to(&next).into_response());
    }
    let chrome = Chrome::new(&state, None, &csrf, "login").await?;
    render(&LoginPage { chrome, email: String::new(), error: None, next })
}

pub async fn login(
    State(state): State<AppState>,
    client: ClientAddr,
    csrf: CsrfToken,
    CsrfForm(form): CsrfForm<LoginForm>,
) -> AppResult<Response> {
    // Counted before the password is checked, in one statement: of any number of
    // concurrent attempts only those within the limits reach the (costly) check.
    let limits = sign_in_limits(&state, &client, &form.email);
    if let Some(exceeded) = throttle::count(&state.db, &limits).await? {
        let message = "Too many failed sign-ins from here. Wait a few minutes and try again.";
        let mut page = refuse(&state, &csrf, &form, StatusCode::TOO_MANY_REQUESTS, message).await?;
        page.headers_mut().insert(header::RETRY_AFTER, exceeded.retry_after_secs().into());
        return Ok(page);
    }
    let keys: Vec<String> = limits.into_iter().map(|l| l.key).collect();
    let user = sqlx::query!(
        r#"SELECT id, org_id, password_hash, email_verified_at IS NOT NULL AS "confirmed!"
           FROM users WHERE lower(email) = lower($1)"#,
        form.email.trim()
    )
    .fetch_optional(&state.db)
    .await?;
    let checked = match &user {
        Some(user) => passwords::verify(&form.password, &user.password_hash).await,
        None => passwords::verify_nobody(&form.password).await,
    };
    let verified = match checked {
        Ok(verified) => verified,
        Err(busy) => {
            // Not checked, so not counted.
            throttle::forgive(&state.db, &keys).await?;
            let message = format!("{} Try again in a moment.", capitalise(&busy.to_string()));
            return refuse(&state, &csrf, &form, StatusCode::SERVICE_UNAVAILABLE, &message).await;
        }
    };
    let Some(user) = user.filter(|_| verified) else {
        let message = "That email and password do not match an account.";
        return refuse(&state, &csrf, &form, StatusCode::UNAUTHORIZED, message).await;
    };
    // A right password is no failure: this client's count for the account starts again,
    // and its count across accounts takes this attempt back.
    throttle::reset(&state.db, &keys[0]).await?;
    throttle::forgive(&state.db, &keys[1..]).await?;
    if !user.confirmed {
        return super::signup::unconfirmed(&state, &csrf, form.email.trim()).await;
    }
    signed_in(&state, user.id, user.org_id, local_path(&form.next).unwrap_or("/app")).await
}

/// Sign-in attempts are counted per account from this client, and per client. A client
/// over either limit is refused; other clients — the real user somewhere else — are not,
/// so someone without the password cannot keep the account's owner out.
fn sign_in_limits(state: &AppState, client: &ClientAddr, email: &str) -> Vec<throttle::Limit> {
    let server = &state.settings.server;
    let account = crypto::hash_token(&email.trim().to_lowercase());
    let client = client.key();
    vec![
        throttle::Limit {
            key: format!("sign-in:{client}:{account}"),
            max: server.login_max_failures,
            window_secs: server.login_window_secs,
        },
        throttle::Limit {
            key: format!("sign-in:{client}"),
            max: server.login_max_failures_per_ip,
            window_secs: server.login_window_secs,
        },
    ]
}

/// The sign-in form again, with what went wrong.
async fn refuse(
    state: &AppState,
    csrf: &CsrfToken,
    form: &LoginForm,
    status: StatusCode,
    message: &str,
) -> AppResult<Response> {
    let chrome = Chrome::new(state, None, csrf, "login").await?;
    let page = LoginPage {
        chrome,
        email: form.email.trim().to_string(),
        error: Some(message.to_string()),
        next: local_path(&form.next).unwrap_or("/app").to_string(),
    };
    Ok((status, render(&page)?).into_response())
}

pub(super) async fn signed_in(
    state: &AppState,
    user_id: uuid::Uuid,
    org_id: uuid::Uuid,
    next: &str,
) -> AppResult<Response> {
    let days = state.settings.server.session_days;
    let token = session::start(&state.db, user_id, org_id, days).await?;
    let cookie = cookies::set(cookies::SESSION, &token, days * 86_400, "Lax", state.settings.secure_cookies());
    let location = HeaderValue::from_str(next).unwrap_or(HeaderValue::from_static("/app"));
    Ok((StatusCode::SEE_OTHER, [(header::SET_COOKIE, cookie), (header::LOCATION, location)]).into_response())
}

pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    CsrfForm(_): CsrfForm<NoFields>,
) -> AppResult<Response> {
    if let Some(token) = cookies::get(&headers, cookies::SESSION) {
        session::end(&state.db, token).await?;
    }
    let cookie = cookies::clear(cookies::SESSION, state.settings.secure_cookies());
    Ok((StatusCode::SEE_OTHER, [(header::SET_COOKIE, cookie), (header::LOCATION, "/login".parse().expect("static"))])
        .into_response())
}

/// What to tell the person whose new user was refused; failures that are not theirs
/// become errors.
pub fn refusal(error: NewUserError) -> Result<(StatusCode, String), AppError> {
    match error {
        NewUserError::Database(e) => Err(e.into()),
        NewUserError::Other(e) => Err(AppError::Internal(e)),
        busy @ NewUserError::Busy(_) => Ok((StatusCode::SERVICE_UNAVAILABLE, capitalise(&busy.to_string()))),
        taken @ NewUserError::EmailTaken => Ok((StatusCode::CONFLICT, capitalise(&taken.to_string()))),
        NewUserError::Invalid(why) => Ok((StatusCode::UNPROCESSABLE_ENTITY, capitalise(why))),
    }
}

pub fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect::<String>() + ".",
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_on_this_site_are_returned_to() {
        assert_eq!(local_path("/app/invitations/1?x=y"), Some("/app/invitations/1?x=y"));
        for elsewhere in ["//evil.test/x", "https://evil.test", "/\\evil.test", "app", "", "/a\nb"] {
            assert_eq!(local_path(elsewhere), None, "{elsewhere:?}");
        }
    }

    #[test]
    fn the_sign_in_form_remembers_the_page() {
        assert_eq!(
            sign_in_url(Some("/app/invitations/1?status=a b")),
            "/login?next=%2Fapp%2Finvitations%2F1%3Fstatus%3Da+b"
        );
        assert_eq!(sign_in_url(Some("/app")), "/login");
        assert_eq!(sign_in_url(Some("//evil.test")), "/login");
        assert_eq!(sign_in_url(None), "/login");
    }
}
