//! `GET, PUT /api/v1/integrations/lever`: the connection's state and its settings.
//! Signature tokens are write-only: the answer says whether each is set, never its value.

use std::collections::HashMap;

use axum::{Json, extract::State};
use serde::Deserialize;

use super::{ApiClient, ApiJson};
use crate::{
    http::AppState,
    http::error::{ApiResult, AppError},
    lever::{
        settings::{self, Change, Overview},
        webhook,
    },
};

pub async fn get(State(state): State<AppState>, client: ApiClient) -> ApiResult<Json<Overview>> {
    Ok(Json(settings::overview(&state.lever, client.org_id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Update {
    /// Event name → token; `null` removes it.
    #[serde(default)]
    signature_tokens: Option<HashMap<String, Option<String>>>,
    #[serde(default)]
    trigger_stage_ids: Option<Vec<String>>,
}

pub async fn put(
    State(state): State<AppState>,
    client: ApiClient,
    ApiJson(update): ApiJson<Update>,
) -> ApiResult<Json<Overview>> {
    let invalid = |(field, message): (String, String)| AppError::Invalid { field, message };
    let mut change = Change::default();
    for (event, token) in update.signature_tokens.unwrap_or_default() {
        let field = format!("signature_tokens.{event}");
        let token = match token {
            Some(t) => Some(settings::check_token(&field, &t).map_err(invalid)?),
            None => None,
        };
        let Some(event) = webhook::EVENTS.into_iter().find(|e| *e == event) else {
            let message = format!("signature tokens are kept for {}", webhook::EVENTS.join(", "));
            return Err(AppError::invalid(&field, &message).into());
        };
        change.token(event, token);
    }
    if let Some(ids) = &update.trigger_stage_ids {
        settings::check_stage_ids(&state.lever, client.org_id, ids).await?.map_err(invalid)?;
    }
    change.trigger_stage_ids = update.trigger_stage_ids;
    settings::apply(&state.lever, client.org_id, &change).await?;
    Ok(Json(settings::overview(&state.lever, client.org_id).await?))
}
