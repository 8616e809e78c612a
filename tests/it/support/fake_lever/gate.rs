//! What every `/v1` request goes through before and after its handler: recording, the rate
//! limit, token checks, injected faults and latency. Handlers only see admitted requests.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{OriginalUri, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::state::{RecordedCall, Shared, State as FakeState, lock};

/// Lever's error body: `{"code": "...", "message": "..."}`.
#[derive(Debug)]
pub(super) struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into() }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BadRequestError", message)
    }
    pub fn not_found(what: &str, id: &str) -> Self {
        let message = format!("{what} {id} not found");
        Self::new(StatusCode::NOT_FOUND, "ResourceNotFound", message)
    }
    fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "UnauthorizedError", "Invalid token")
    }
    fn injected(status: u16) -> Self {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let code = match status.as_u16() {
            502 => "BadGateway",
            503 => "ServiceUnavailable",
            _ => "InternalServerError",
        };
        Self::new(status, code, "Injected failure")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "code": self.code, "message": self.message });
        (self.status, Json(body)).into_response()
    }
}

pub(super) type ApiResult = Result<Response, ApiError>;

/// The admitted caller, handed to handlers as a request extension.
#[derive(Clone)]
pub(super) struct Ctx {
    pub account_id: String,
    pub user_id: String,
    scopes: Arc<Vec<String>>,
    query: Arc<Vec<(String, String)>>,
    body: Bytes,
}

impl Ctx {
    fn has(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    pub fn require(&self, scope: &str) -> Result<(), ApiError> {
        if self.has(scope) {
            return Ok(());
        }
        let message = format!("Missing scope: {scope}");
        Err(ApiError::new(StatusCode::FORBIDDEN, "Forbidden", message))
    }

    /// For endpoints that more than one scope opens; a refusal names the first.
    pub fn require_any(&self, scopes: &[&str]) -> Result<(), ApiError> {
        if scopes.iter().any(|s| self.has(s)) { Ok(()) } else { self.require(scopes[0]) }
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Repeated parameters, also in the `name[]` spelling.
    pub fn params(&self, name: &str) -> Vec<&str> {
        let bracketed = format!("{name}[]");
        let matches = |k: &String| *k == name || *k == bracketed;
        self.query.iter().filter(|(k, _)| matches(k)).map(|(_, v)| v.as_str()).collect()
    }

    pub fn body(&self) -> &[u8] {
        &self.body
    }

    pub fn json(&self) -> Result<Value, ApiError> {
        serde_json::from_slice(&self.body).map_err(|e| ApiError::bad_request(format!("Invalid JSON body: {e}")))
    }
}

/// Lever's request size limit is undocumented beyond files (30 MB, checked by the files
/// route); this only guards against runaway tests.
const MAX_BODY_BYTES: usize = super::api::MAX_FILE_BYTES + (1 << 20);

pub(super) async fn gate(State(shared): State<Shared>, request: Request, next: Next) -> Response {
    let at = Instant::now();
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_BODY_BYTES).await else {
        return ApiError::bad_request("Body too large").into_response();
    };
    let query = Query::<Vec<(String, String)>>::try_from_uri(&parts.uri).map(|Query(q)| q).unwrap_or_default();
    let mut call = arrival(&parts, &query, &bytes, at);
    let is_write = !matches!(parts.method, Method::GET | Method::HEAD);

    let bearer = bearer_token(&parts.headers);
    let admitted = admit(&mut lock(&shared), bearer, query, bytes.clone(), at);
    let response = match admitted {
        Ok(ctx) => {
            call.account_id = Some(ctx.account_id.clone());
            let mut request = Request::from_parts(parts, Body::from(bytes));
            request.extensions_mut().insert(ctx);
            next.run(request).await
        }
        Err((account_id, error)) => {
            call.account_id = account_id;
            rejection(&shared, error)
        }
    };

    let applied_write = is_write && response.status().is_success();
    let lost = match &call.account_id {
        Some(account) if applied_write => lock(&shared).faults.lost_answer(account),
        _ => None,
    };
    let response = match lost {
        Some(status) => ApiError::injected(status).into_response(),
        None => response,
    };
    call.status = response.status().as_u16();
    let delay = settle(&shared, call, applied_write);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    response
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The call as it arrived; account and status are filled in once known.
fn arrival(parts: &Parts, query: &[(String, String)], bytes: &Bytes, at: Instant) -> RecordedCall {
    // Nesting strips `/v1`; record the path as the client sent it.
    let path = parts.extensions.get::<OriginalUri>().map_or(parts.uri.path(), |u| u.path());
    RecordedCall {
        account_id: None,
        method: parts.method.to_string(),
        path: path.to_owned(),
        query: parts.uri.query().unwrap_or("").to_owned(),
        body: recorded_body(parts, bytes),
        status: 0,
        at,
        perform_as: query.iter().find(|(k, _)| k == "perform_as").map(|(_, v)| v.clone()),
    }
}

/// Records the call (before any delay, so tests see it even if the client gave up) and says
/// how long to hold the answer back.
fn settle(shared: &Shared, call: RecordedCall, applied_write: bool) -> Duration {
    let mut state = lock(shared);
    let slow = match &call.account_id {
        Some(account) if applied_write => state.faults.slow_write(account),
        _ => None,
    };
    state.calls.push(call);
    state.faults.latency + slow.unwrap_or(Duration::ZERO)
}

fn recorded_body(parts: &Parts, bytes: &Bytes) -> Option<Value> {
    if bytes.is_empty() {
        return None;
    }
    let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if content_type.starts_with("multipart/") {
        // Uploads are kept whole by the files route; the log only says how big.
        return Some(Value::String(format!("<multipart body, {} bytes>", bytes.len())));
    }
    let fallback = || Value::String(String::from_utf8_lossy(bytes).into_owned());
    Some(serde_json::from_slice(bytes).unwrap_or_else(|_| fallback()))
}

/// Order matters: the rate limit counts every request of a known account (even with an
/// expired or revoked token), and nothing rejected here is applied.
fn admit(
    state: &mut FakeState,
    bearer: Option<&str>,
    query: Vec<(String, String)>,
    body: Bytes,
    now: Instant,
) -> Result<Ctx, (Option<String>, ApiError)> {
    let grant = bearer.and_then(|t| state.access.get(t)).cloned();
    let Some(grant) = grant else {
        return Err((None, ApiError::unauthorized()));
    };
    let account = grant.account_id.clone();
    let fail = |error| Err((Some(account.clone()), error));
    let Some(acct) = state.accounts.get_mut(&account) else {
        return fail(ApiError::unauthorized());
    };
    if !acct.bucket.take(now) {
        let message = "Rate limit exceeded, please retry later";
        return fail(ApiError::new(StatusCode::TOO_MANY_REQUESTS, "TooManyRequests", message));
    }
    if grant.revoked || grant.expires_at <= now {
        return fail(ApiError::unauthorized());
    }
    if let Some(status) = state.faults.failure(&account) {
        return fail(ApiError::injected(status));
    }
    Ok(Ctx {
        account_id: account,
        user_id: grant.user_id,
        scopes: Arc::new(grant.scopes),
        query: Arc::new(query),
        body,
    })
}

fn rejection(shared: &Shared, error: ApiError) -> Response {
    let is_429 = error.status == StatusCode::TOO_MANY_REQUESTS;
    let mut response = error.into_response();
    let retry_after = lock(shared).faults.retry_after;
    if let (true, Some(seconds)) = (is_429, retry_after) {
        let value = HeaderValue::from(seconds);
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

pub(super) async fn not_found(request: Request) -> ApiError {
    ApiError::not_found("Route", request.uri().path())
}
