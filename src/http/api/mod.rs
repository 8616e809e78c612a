//! The REST API under `/api/v1`: JSON in and out, authenticated with an organization's API
//! key (`Authorization: Bearer …`), errors as `{"error": {"code", "message"}}`.

mod assessments;
mod integrations;
mod invitations;

use axum::{
    Json, Router,
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Request, State},
    http::{StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::de::DeserializeOwned;
use serde_json::{Value, error::Category, json};
use uuid::Uuid;

use super::{
    client::ClientAddr,
    error::{ApiError, ApiResult, AppError},
};
use crate::{crypto, http::AppState, throttle};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi))
        .route("/organization", get(organization))
        .route("/integrations/lever", get(integrations::get).put(integrations::put))
        .route("/integrations/lever/health", get(super::lever_health::api))
        .route("/invitations", get(invitations::list))
        .route("/invitations/{id}", get(invitations::get))
        .route("/invitations/{id}/start", post(invitations::start))
        .route("/invitations/{id}/result", post(invitations::result))
        .merge(assessments::routes())
}

/// A JSON object body whose problems come back in the API's error shape rather than axum's
/// plain text, as 400: malformed JSON, or JSON of the wrong shape (a wrong type, an unknown
/// field), naming the field's path when serde knows it. Checking values is the handler's
/// job (422 with the field).
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| mime.trim() == "application/json" || mime.trim().ends_with("+json"));
        if !is_json {
            return Err(AppError::BadRequest("Send the body as JSON (Content-Type: application/json).".into()).into());
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
