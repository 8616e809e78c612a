//! Lever's authorization server (Auth0 behind `auth.lever.co`): authorize, code and refresh
//! grants, rotating refresh tokens and JWT-shaped access tokens.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::extract::rejection::FormRejection;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::state::{AccessGrant, AuthCode, RefreshGrant, Shared, State as FakeState};
use super::state::{lock, random_alnum};
use super::{AUDIENCE, CLIENT_ID, CLIENT_SECRET};

const CODE_TTL: Duration = Duration::from_secs(600);
const ISSUER: &str = "https://auth.lever.co/";

pub(super) fn router(shared: Shared) -> Router {
    Router::new().route("/authorize", get(authorize)).route("/oauth/token", post(token)).with_state(shared)
}

/// Reads the claims of an access token the fake issued (no signature check: it is a fake).
#[allow(dead_code)]
pub fn jwt_claims(access_token: &str) -> Option<Value> {
    let payload = access_token.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

type Params = HashMap<String, String>;

fn param<'a>(params: &'a Params, key: &str) -> &'a str {
    params.get(key).map(String::as_str).unwrap_or("")
}

/// There is no user to click: the configured approver accepts, unless told to deny.
async fn authorize(State(shared): State<Shared>, Query(query): Query<Params>) -> Response {
    let mut state = lock(&shared);
    state.authorize_requests.push(query.clone());
    let redirect_uri = match registered_redirect(&state, &query) {
        Ok(uri) => uri,
        Err(message) => return error_page(message),
    };
    let back = |pairs: &[(&str, &str)]| redirect_back(&redirect_uri, pairs, query.get("state"));
    if let Some((error, description)) = refusal(&mut state, &query) {
        return back(&[("error", error), ("error_description", &description)]);
    }
    let Some((account_id, user_id)) = state.oauth.approver.clone() else {
        return error_page("fake lever: no approver configured; call set_approver");
    };
    let scopes = match state.oauth.granted_scopes.get(&account_id) {
        Some(granted) => granted.clone(),
        None => param(&query, "scope").split_whitespace().map(str::to_owned).collect(),
    };
    let code = random_alnum(32);
    let issued = AuthCode {
        account_id,
        user_id,
        scopes,
        redirect_uri: redirect_uri.clone(),
        expires_at: Instant::now() + CODE_TTL,
        used: false,
    };
    state.codes.insert(code.clone(), issued);
    back(&[("code", &code)])
}

/// Auth0 never redirects to an unregistered URI: a bad client or callback gets an error page.
fn registered_redirect(state: &FakeState, query: &Params) -> Result<String, &'static str> {
    if param(query, "client_id") != CLIENT_ID {
        return Err("Unknown client_id");
    }
    let Some(registered) = state.oauth.redirect_uri.clone() else {
        return Err("fake lever: no redirect_uri registered; call set_redirect_uri");
    };
    if param(query, "redirect_uri") != registered {
        return Err("redirect_uri does not match the registered callback URL");
    }
    Ok(registered)
}

/// Refusals that go back to the client as `?error=…&error_description=…&state=…`.
fn refusal(state: &mut FakeState, query: &Params) -> Option<(&'static str, String)> {
    if param(query, "response_type") != "code" {
        let description = "Unsupported response type".to_owned();
        return Some(("unsupported_response_type", description));
    }
    if param(query, "audience") != AUDIENCE {
        let description = format!("Service not found: {}", param(query, "audience"));
        return Some(("access_denied", description));
    }
    if std::mem::take(&mut state.oauth.deny_next) {
        return Some(("access_denied", "The user denied access".to_owned()));
    }
    None
}

fn redirect_back(redirect_uri: &str, pairs: &[(&str, &str)], state: Option<&String>) -> Response {
    let mut url = reqwest::Url::parse(redirect_uri).expect("registered redirect_uri is a URL");
    {
        let mut query = url.query_pairs_mut();
        query.extend_pairs(pairs);
        if let Some(state) = state {
            query.append_pair("state", state);
        }
    }
    (StatusCode::FOUND, [(header::LOCATION, url.to_string())]).into_response()
}

fn error_page(message: &str) -> Response {
    let body = json!({ "error": "invalid_request", "error_description": message });
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let body = json!({ "error": error, "error_description": description });
    (status, Json(body)).into_response()
}

async fn token(State(shared): State<Shared>, form: Result<Form<Params>, FormRejection>) -> Response {
    let Ok(Form(form)) = form else {
        let description = "Expected an application/x-www-form-urlencoded body";
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", description);
    };
    let mut state = lock(&shared);
    if let Some(status) = state.faults.token_endpoint_error {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return oauth_error(status, "server_error", "Injected failure");
    }
    let get = |k: &str| param(&form, k);
    if get("client_id") != CLIENT_ID || get("client_secret") != CLIENT_SECRET {
        return oauth_error(StatusCode::UNAUTHORIZED, "access_denied", "Unauthorized");
    }
    match get("grant_type") {
        "authorization_code" => exchange_code(&mut state, get("code"), get("redirect_uri")),
        "refresh_token" => refresh(&mut state, get("refresh_token")),
        _ => oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "Unsupported grant type"),
    }
}

fn exchange_code(state: &mut FakeState, code: &str, redirect_uri: &str) -> Response {
    let Some(issued) = state.codes.get_mut(code) else {
        return invalid_grant(state, None, "Invalid authorization code");
    };
    // Codes are single-use: any attempt consumes them, as Auth0 does.
    let fresh = !std::mem::replace(&mut issued.used, true) && issued.expires_at > Instant::now();
    let account = issued.account_id.clone();
    if !fresh || issued.redirect_uri != redirect_uri {
        return invalid_grant(state, Some(account), "Invalid authorization code");
    }
    let (user, scopes) = (issued.user_id.clone(), issued.scopes.clone());
    Json(issue_tokens(state, &account, &user, scopes)).into_response()
}

fn invalid_grant(state: &mut FakeState, account: Option<String>, description: &str) -> Response {
    state.invalid_grants.push(account);
    oauth_error(StatusCode::FORBIDDEN, "invalid_grant", description)
}

fn refresh(state: &mut FakeState, refresh_token: &str) -> Response {
    let grant = state.refresh.get_mut(refresh_token);
    let Some(grant) = grant.filter(|g| g.usable) else {
        let account = state.refresh.get(refresh_token).map(|g| g.account_id.clone());
        return invalid_grant(state, account, "Unknown or invalid refresh token.");
    };
    // Rotation: the token just used is dead from now on.
    grant.usable = false;
    let RefreshGrant { account_id, user_id, scopes, .. } = grant.clone();
    *state.refreshes.entry(account_id.clone()).or_default() += 1;
    Json(issue_tokens(state, &account_id, &user_id, scopes)).into_response()
}

/// Lever only hands out refresh tokens to apps granted `offline_access`.
fn issue_tokens(state: &mut FakeState, account_id: &str, user_id: &str, scopes: Vec<String>) -> Value {
    let ttl = state.oauth.access_ttl;
    let access_token = access_jwt(account_id, user_id, &scopes, ttl);
    state.access.insert(
        access_token.clone(),
        AccessGrant {
            account_id: account_id.to_owned(),
            user_id: user_id.to_owned(),
            scopes: scopes.clone(),
            expires_at: Instant::now() + ttl,
            revoked: false,
        },
    );
    let mut answer = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "scope": scopes.join(" "),
        "expires_in": ttl.as_secs_f64().ceil() as u64,
    });
    if scopes.iter().any(|s| s == "offline_access") {
        let refresh_token = random_alnum(48);
        state.refresh.insert(
            refresh_token.clone(),
            RefreshGrant { account_id: account_id.to_owned(), user_id: user_id.to_owned(), scopes, usable: true },
        );
        answer["refresh_token"] = json!(refresh_token);
    }
    answer
}

fn access_jwt(account_id: &str, user_id: &str, scopes: &[String], ttl: Duration) -> String {
    let now = chrono::Utc::now().timestamp();
    let header = json!({ "alg": "RS256", "typ": "JWT", "kid": "fake-lever" });
    let claims = json!({
        "https://oauth.lever.co/accountId": account_id,
        "https://oauth.lever.co/userId": user_id,
        "https://oauth.lever.co/clientId": CLIENT_ID,
        "iss": ISSUER,
        "sub": format!("{user_id}@clients"),
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + ttl.as_secs_f64().ceil() as i64,
        "azp": CLIENT_ID,
        "scope": scopes.join(" "),
        "gty": "authorization_code",
        // Makes every token unique even when issued within the same second.
        "jti": super::state::new_id(),
    });
    let part = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let signature = URL_SAFE_NO_PAD.encode(random_alnum(64));
    format!("{}.{}.{signature}", part(&header), part(&claims))
}
