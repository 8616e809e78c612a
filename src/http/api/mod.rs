//! The REST API under `/api/v1`: JSON in and out, authenticated with an organization's API
//! key (`Authorization: Bearer …`), errors as `{"error": {"code", "message"}}` whatever
//! their status ([`json_errors`]), lists paged with a cursor (`page`). `openapi.json`
//! describes every route in [`ROUTES`]; the tests hold the two to each other.

mod assessments;
mod integrations;
mod invitations;
mod page;

use axum::{
    Json, Router,
    body::{Body, Bytes},
    extract::{FromRequest, FromRequestParts, Query, Request, State},
    http::{HeaderMap, StatusCode, header, request::Parts},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::{MethodRouter, get, post},
};
use serde::de::DeserializeOwned;
use serde_json::{Value, error::Category, json};
use uuid::Uuid;

use super::{
    client::ClientAddr,
    error::{ApiError, ApiResult, AppError},
};
use crate::{crypto, http::AppState, throttle};

/// Every path of the API, relative to `/api/v1`. The router is built from this list, so
/// it is the whole API: the tests ask each path which methods it takes (its 405's `Allow`)
/// and compare the answer with `openapi.json`.
pub const ROUTES: &[&str] = &[
    "/openapi.json",
    "/organization",
    "/integrations/lever",
    "/integrations/lever/health",
    "/invitations",
    "/invitations/{id}",
    "/invitations/{id}/start",
    "/invitations/{id}/result",
    "/invitations/{id}/resend",
    "/invitations/{id}/extend",
    "/invitations/{id}/cancel",
    "/assessments",
    "/assessments/{id}",
];

fn handlers(path: &str) -> MethodRouter<AppState> {
    match path {
        "/openapi.json" => get(openapi),
        "/organization" => get(organization),
        "/integrations/lever" => get(integrations::get).put(integrations::put),
        "/integrations/lever/health" => get(super::lever_health::api),
        "/invitations" => get(invitations::list),
        "/invitations/{id}" => get(invitations::get),
        "/invitations/{id}/start" => post(invitations::start),
        "/invitations/{id}/result" => post(invitations::result),
        "/invitations/{id}/resend" => post(invitations::resend),
        "/invitations/{id}/extend" => post(invitations::extend),
        "/invitations/{id}/cancel" => post(invitations::cancel),
        "/assessments" => get(assessments::list).post(assessments::create),
        "/assessments/{id}" => get(assessments::show).patch(assessments::update),
        other => unreachable!("{other} is in ROUTES without handlers"),
    }
}

pub fn routes() -> Router<AppState> {
    ROUTES.iter().fold(Router::new(), |router, path| router.route(path, handlers(path)))
}

/// Gives every error answer under `/api/` the API's JSON shape, whatever made it: the
/// router (405, keeping its `Allow` header), a body limit (413), the time-out (503), a
/// panic (500). Handlers' own errors are JSON already and pass through.
pub async fn json_errors(request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with("/api/") {
        return next.run(request).await;
    }
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(response.headers()) {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let (json_parts, body) = ApiError::for_status(status).into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    if let Some(content_type) = json_parts.headers.get(header::CONTENT_TYPE) {
        parts.headers.insert(header::CONTENT_TYPE, content_type.clone());
    }
    Response::from_parts(parts, Body::new(body))
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim() == "application/json" || mime.trim().ends_with("+json"))
}

/// A query string whose problems come back in the API's error shape (400 naming what does
/// not fit) rather than axum's plain text.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(Self(value)),
            Err(e) => Err(AppError::BadRequest(format!("The query string does not fit: {}.", e.body_text())).into()),
        }
    }
}

/// A JSON object body whose problems come back in the API's error shape rather than axum's
/// plain text: 415 when it is not sent as JSON, 400 for malformed JSON or JSON of the wrong
/// shape (a wrong type, an unknown field), naming the field's path when serde knows it.
/// Checking values is the handler's job (422 with the field).
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(request.headers()) {
            return Err(AppError::UnsupportedMediaType(
                "Send the body as JSON (Content-Type: application/json).".into(),
            )
            .into());
        }
        let body = Bytes::from_request(request, state).await.map_err(|e| match e.status() {
            StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge,
            _ => AppError::BadRequest("The request body could not be read.".into()),
        })?;
        Ok(Self(parse_json(&body)?))
    }
}

fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    // serde reads a struct from an array too, field by field; every body here is an object.
    if body.trim_ascii_start().first() != Some(&b'{') {
        return Err(AppError::BadRequest("The body must be a JSON object, such as {\"name\": \"…\"}.".into()));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let error = e.into_inner();
        AppError::BadRequest(match error.classify() {
            Category::Data if path != "." => format!("The JSON body does not fit at `{path}`: {error}."),
            Category::Data => format!("The JSON body does not fit: {error}."),
            _ => format!("The body is not valid JSON: {error}."),
        })
    })?;
    deserializer.end().map_err(|e| AppError::BadRequest(format!("The body is not valid JSON: {e}.")))?;
    Ok(value)
}

/// The organization an API key belongs to.
#[derive(Clone, Copy, Debug)]
pub struct ApiClient {
    pub org_id: Uuid,
    pub key_id: Uuid,
}

impl FromRequestParts<AppState> for ApiClient {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        // Every use of a key, good or bad, counts against the client's address.
        let client = ClientAddr::from_request_parts(parts, state).await.unwrap_or_else(|never| match never {});
        let per_minute = state.settings.server.api_max_requests_per_minute;
        let limit = throttle::Limit { key: format!("api:{}", client.key()), max: per_minute, window_secs: 60 };
        match throttle::count(&state.db, &[limit]).await {
            Ok(None) => {}
            Ok(Some(exceeded)) => {
                let message = format!(
                    "Too many API requests from this address (at most {per_minute} a minute). \
                     Wait {} seconds and try again.",
                    exceeded.retry_after_secs()
                );
                let mut response = ApiError(AppError::TooManyRequests(message)).into_response();
                response.headers_mut().insert(header::RETRY_AFTER, exceeded.retry_after_secs().into());
                return Err(response);
            }
            Err(e) => return Err(ApiError::from(e).into_response()),
        }
        Self::authenticate(parts, state).await.map_err(IntoResponse::into_response)
    }
}

impl ApiClient {
    async fn authenticate(parts: &Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| AppError::Unauthorized("Send an API key as `Authorization: Bearer <key>`.".into()))?;
        let key = header
            .strip_prefix("Bearer ")
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .ok_or_else(|| AppError::Unauthorized("The Authorization header must be `Bearer <key>`.".into()))?;
        let row = sqlx::query!(
            "UPDATE api_keys SET last_used_at = now()
             WHERE key_hash = $1 AND revoked_at IS NULL
             RETURNING id, org_id",
            crypto::hash_token(key)
        )
        .fetch_optional(&state.db)
        .await?
        .ok_or_else(|| AppError::Unauthorized("That API key is not valid (unknown or revoked).".into()))?;
        Ok(Self { org_id: row.org_id, key_id: row.id })
    }
}

async fn organization(State(state): State<AppState>, client: ApiClient) -> ApiResult<Json<Value>> {
    let org = sqlx::query!("SELECT id, name, created_at FROM organizations WHERE id = $1", client.org_id)
        .fetch_one(&state.db)
        .await?;
    Ok(Json(json!({ "id": org.id, "name": org.name, "created_at": org.created_at })))
}

async fn openapi() -> Json<Value> {
    Json(serde_json::from_str(include_str!("openapi.json")).expect("openapi.json is valid JSON"))
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        count: Option<i64>,
        items: Option<Vec<Item>>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Item {
        answer: usize,
    }

    fn refusal(body: &str) -> (StatusCode, String) {
        let error = parse_json::<Body>(body.as_bytes()).expect_err(body);
        (error.status(), error.to_string())
    }

    #[test]
    fn malformed_json_is_a_bad_request() {
        for body in ["{", "{\"count\": 1,}", "{} {}", "{\"count\": 1"] {
            let (status, message) = refusal(body);
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
            assert!(message.starts_with("The body is not valid JSON"), "{body}: {message}");
        }
    }

    #[test]
    fn the_wrong_shape_names_the_field() {
        let cases = [
            (r#"{"count": "many"}"#, "at `count`: invalid type: string"),
            (r#"{"items": [{"answer": 0}, {"answer": -1}]}"#, "at `items[1].answer`: invalid value: integer `-1`"),
            (r#"{"colour": "red"}"#, "at `colour`: unknown field `colour`"),
        ];
        for (body, says) in cases {
            let (status, message) = refusal(body);
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
            assert!(message.contains(says), "{body}: {message}");
        }
    }

    #[test]
    fn a_body_that_is_not_an_object_is_a_bad_request() {
        for body in ["", "nope", "[1, 2]", "42", "null"] {
            let (status, message) = refusal(body);
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
            assert!(message.starts_with("The body must be a JSON object"), "{body}: {message}");
        }
    }
}
