//! The REST API under `/api/v1`: JSON in and out, authenticated with an organization's API
//! key (`Authorization: Bearer …`), errors as `{"error": {"code", "message"}}`.

mod integrations;
mod invitations;

use axum::{
    Json, Router,
    extract::{FromRequest, FromRequestParts, Request, State, rejection::JsonRejection},
    http::{header, request::Parts},
    routing::{get, post},
};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use uuid::Uuid;

use super::error::{ApiError, ApiResult, AppError};
use crate::{app::AppState, crypto};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi))
        .route("/organization", get(organization))
        .route("/integrations/lever", get(integrations::get).put(integrations::put))
        .route("/invitations", get(invitations::list))
        .route("/invitations/{id}", get(invitations::get))
        .route("/invitations/{id}/start", post(invitations::start))
        .route("/invitations/{id}/result", post(invitations::result))
}

/// A JSON body whose problems come back in the API's error shape.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            Err(JsonRejection::JsonDataError(e)) => {
                Err(AppError::BadRequest(format!("The JSON body does not fit: {}", e.body_text())).into())
            }
            Err(JsonRejection::JsonSyntaxError(_)) => {
                Err(AppError::BadRequest("The body is not valid JSON.".into()).into())
            }
            Err(JsonRejection::MissingJsonContentType(_)) => {
                Err(AppError::BadRequest("Send the body as JSON (Content-Type: application/json).".into()).into())
            }
            Err(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => Err(AppError::PayloadTooLarge.into()),
            Err(e) => Err(AppError::BadRequest(e.body_text()).into()),
        }
    }
}

/// The organization an API key belongs to.
#[derive(Clone, Copy, Debug)]
pub struct ApiClient {
    pub org_id: Uuid,
    pub key_id: Uuid,
}

impl FromRequestParts<AppState> for ApiClient {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
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
