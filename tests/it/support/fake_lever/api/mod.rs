//! Lever's REST API under `/v1`: every route in one place, plus the envelope helpers.

mod directory;
mod feedback;
mod files;

pub(super) use files::MAX_FILE_BYTES;
mod opportunities;
mod webhooks;

use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::response::IntoResponse;
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::gate::{ApiError, ApiResult, Ctx, gate, not_found};
use super::state::{Account, Shared, lock};

pub(super) fn router(shared: Shared) -> Router {
    Router::new()
        .route("/opportunities", get(opportunities::list))
        .route("/opportunities/deleted", get(opportunities::list_deleted))
        .route("/opportunities/{id}", get(opportunities::get_one))
        .route("/opportunities/{id}/addTags", post(opportunities::add_tags))
        .route("/opportunities/{id}/removeTags", post(opportunities::remove_tags))
        .route("/opportunities/{id}/stage", put(opportunities::set_stage))
        .route("/opportunities/{id}/notes", get(opportunities::list_notes).post(opportunities::add_note))
        .route("/opportunities/{id}/feedback", get(feedback::list_feedback).post(feedback::add_feedback))
        .route("/opportunities/{id}/files", get(files::list).post(files::upload))
        .route("/feedback_templates", get(feedback::list_templates).post(feedback::add_template))
        .route("/feedback_templates/{id}", get(feedback::get_template))
        .route("/postings", get(directory::list_postings))
        .route("/postings/{id}", get(directory::get_posting))
        .route("/stages", get(directory::list_stages))
        .route("/stages/{id}", get(directory::get_stage))
        .route("/users", get(directory::list_users))
        .route("/users/{id}", get(directory::get_user))
        .route("/tags", get(directory::list_tags))
        .route("/archive_reasons", get(directory::list_archive_reasons))
        .route("/archive_reasons/{id}", get(directory::get_archive_reason))
        .route("/webhooks", get(webhooks::list).post(webhooks::create))
        .route("/webhooks/{id}", delete(webhooks::remove))
        .fallback(not_found)
        .layer(from_fn_with_state(shared.clone(), gate))
        .with_state(shared)
}

/// Runs `f` on the caller's account with the lock held (never across an await).
fn with_account<R>(shared: &Shared, ctx: &Ctx, f: impl FnOnce(&mut Account) -> R) -> R {
    f(lock(shared).account_mut(&ctx.account_id))
}

fn one(status: StatusCode, data: Value) -> ApiResult {
    Ok((status, Json(json!({ "data": data }))).into_response())
}

/// Lever's list envelope; `next` is the offset to ask for, present only when `hasNext`.
fn page(ctx: &Ctx, items: Vec<Value>) -> ApiResult {
    let limit = match ctx.param("limit") {
        None => 100,
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=100).contains(l))
            .ok_or_else(|| ApiError::bad_request("limit must be between 1 and 100"))?,
    };
    let offset = match ctx.param("offset") {
        None => 0,
        Some(raw) => raw.parse::<usize>().map_err(|_| ApiError::bad_request("Invalid offset"))?,
    };
    let data: Vec<Value> = items.iter().skip(offset).take(limit).cloned().collect();
    let has_next = offset + limit < items.len();
    let mut body = json!({ "data": data, "hasNext": has_next });
    if has_next {
        body["next"] = json!((offset + limit).to_string());
    }
    Ok(Json(body).into_response())
}

/// `perform_as` must name an active user of the account when given.
fn acting_user(account: &Account, ctx: &Ctx) -> Result<String, ApiError> {
    match ctx.param("perform_as") {
        None => Ok(ctx.user_id.clone()),
        Some(id) => account
            .active_user(id)
            .map(|u| u.id.clone())
            .ok_or_else(|| ApiError::bad_request(format!("perform_as: no active user {id}"))),
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).expect("model serialises")
}
