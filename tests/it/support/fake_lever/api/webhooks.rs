//! Lever's webhooks API: registrations with a per-webhook signature token.

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::super::state::{Shared, lock, new_id, now_ms, random_alnum};
use super::{ApiError, ApiResult, Ctx, one, page, with_account};

const WEBHOOK_EVENTS: [&str; 10] = [
    "applicationCreated",
    "candidateHired",
    "candidateStageChange",
    "candidateArchiveChange",
    "candidateDeleted",
    "contactCreated",
    "contactUpdated",
    "interviewCreated",
    "interviewUpdated",
    "interviewDeleted",
];

/// Lever documents listing under the write scope too, so either opens it.
pub(super) async fn list(State(shared): State<Shared>, Extension(ctx): Extension<Ctx>) -> ApiResult {
    ctx.require_any(&["webhooks:read:admin", "webhooks:write:admin"])?;
    let hooks = with_account(&shared, &ctx, |acct| acct.webhooks.clone());
    page(&ctx, hooks)
}

pub(super) async fn create(State(shared): State<Shared>, Extension(ctx): Extension<Ctx>) -> ApiResult {
    ctx.require("webhooks:write:admin")?;
    let body = ctx.json()?;
    let https_only = lock(&shared).webhooks_https_only;
    let url = checked_url(&body, https_only)?;
    let event = body.get("event").and_then(Value::as_str).unwrap_or("");
    if !WEBHOOK_EVENTS.contains(&event) {
        return Err(ApiError::bad_request(format!("Unknown event {event:?}")));
    }
    let conditions = body.pointer("/configuration/conditions").cloned();
    // Only these events filter on origin; Lever refuses conditions on the others.
    let filtered = ["applicationCreated", "candidateStageChange", "candidateArchiveChange", "candidateHired"];
    if conditions.is_some() && !filtered.contains(&event) {
        return Err(ApiError::bad_request(format!("{event} webhooks take no conditions")));
    }
    let conditions = conditions.unwrap_or_else(|| json!({}));
    let now = now_ms();
    let hook = json!({
        "id": new_id(),
        "event": event,
        "url": url,
        "configuration": { "conditions": conditions, "signatureToken": random_alnum(48) },
        "createdAt": now,
        "updatedAt": now,
    });
    with_account(&shared, &ctx, |acct| acct.webhooks.push(hook.clone()));
    one(StatusCode::CREATED, hook)
}

/// Real Lever takes only https URLs; the fake allows http unless told otherwise.
fn checked_url(body: &Value, https_only: bool) -> Result<String, ApiError> {
    let raw = body.get("url").and_then(Value::as_str).unwrap_or("");
    let url = reqwest::Url::parse(raw).map_err(|_| ApiError::bad_request(format!("Invalid url {raw:?}")))?;
    let allowed: &[&str] = if https_only { &["https"] } else { &["https", "http"] };
    if !allowed.contains(&url.scheme()) {
        return Err(ApiError::bad_request("Webhook URLs must use https"));
    }
    Ok(raw.to_owned())
}

pub(super) async fn remove(
    State(shared): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    ctx.require("webhooks:write:admin")?;
    let removed = with_account(&shared, &ctx, |acct| {
        let before = acct.webhooks.len();
        acct.webhooks.retain(|h| h["id"] != id.as_str());
        acct.webhooks.len() < before
    });
    if !removed {
        return Err(ApiError::not_found("Webhook", &id));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
