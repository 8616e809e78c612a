//! Read-only account data: postings, stages, users and the tag list.

use std::collections::BTreeMap;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::json;

use super::super::state::Shared;
use super::{ApiError, ApiResult, Ctx, one, page, to_json, with_account};

pub(super) async fn list_postings(State(shared): State<Shared>, Extension(ctx): Extension<Ctx>) -> ApiResult {
    ctx.require("postings:read:admin")?;
    // `state` filters (repeatable: the union), as Lever's list does.
    let states: Vec<String> = ctx.params("state").into_iter().map(str::to_owned).collect();
    let postings = with_account(&shared, &ctx, |acct| {
        let wanted = |p: &&super::super::model::Posting| states.is_empty() || states.contains(&p.state);
        acct.postings.iter().filter(wanted).map(to_json).collect()
    });
    page(&ctx, postings)
}

pub(super) async fn get_posting(
    State(shared): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    ctx.require("postings:read:admin")?;
    let posting = with_account(&shared, &ctx, |acct| acct.postings.iter().find(|p| p.id == id).map(to_json));
    one(StatusCode::OK, posting.ok_or_else(|| ApiError::not_found("Posting", &id))?)
}

pub(super) async fn list_stages(State(shared): State<Shared>, Extension(ctx): Extension<Ctx>) -> ApiResult {
    ctx.require("stages:read:admin")?;
    let stages = with_account(&shared, &ctx, |acct| acct.stages.iter().map(to_json).collect());
    page(&ctx, stages)
}

pub(super) async fn get_stage(
    State(shared): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    ctx.require("stages:read:admin")?;
    let stage = with_account(&shared, &ctx, |acct| acct.stages.iter().find(|s| s.id == id).map(to_json));
    one(StatusCode::OK, stage.ok_or_else(|| ApiError::not_found("Stage", &id))?)
}

/// Filters as Lever does: `email` (exact, case-insensitive), repeatable `accessRole`, and
/// deactivated users only with `includeDeactivated=true`.
pub(super) async fn list_users(State(shared): State<Shared>, Extension(ctx): Extension<Ctx>) -> ApiResult {
    ctx.require("users:read:admin")?;
    let email = ctx.param("email").map(str::to_lowercase);
    let roles = ctx.params("accessRole");
    let include_deactivated = ctx.param("includeDeactivated") == Some("true");
    let users = with_account(&shared, &ctx, |acct| {
        acct.users
            .iter()
            .filter(|u| email.as_ref().is_none_or(|e| u.email.to_lowercase() == *e))
            .filter(|u| roles.is_empty() || roles.contains(&u.access_role.as_str()))
            .filter(|u| include_deactivated || u.deactivated_at.is_none())
            .map(to_json)
            .collect()
    });
    page(&ctx, users)
}

pub(super) async fn get_user(
    State(shared): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    ctx.require("users:read:admin")?;
    let user = with_account(&shared, &ctx, |acct| acct.users.iter().find(|u| u.id == id).map(to_json));
    one(StatusCode::OK, user.ok_or_else(|| ApiError::not_found("User", &id))?)
}

/// Lever's tags have no ids; the list counts the opportunities carrying each one.
pub(super) async fn list_tags(State(shared): State<Shared>, Extension(ctx): Extension<Ctx>) -> ApiResult {
    ctx.require("tags:read:admin")?;
    let counts = with_account(&shared, &ctx, |acct| {
        let mut counts = BTreeMap::<String, usize>::new();
        for tag in acct.opportunities.iter().flat_map(|o| &o.tags) {
            *counts.entry(tag.clone()).or_default() += 1;
        }
        counts
    });
    let tags = counts.into_iter().map(|(text, count)| json!({ "text": text, "count": count })).collect();
    page(&ctx, tags)
}

/// `GET /archive_reasons`: each with `type` `hired` or `non-hired`.
pub(super) async fn list_archive_reasons(State(shared): State<Shared>, Extension(ctx): Extension<Ctx>) -> ApiResult {
    ctx.require("archive_reasons:read:admin")?;
    let reasons = with_account(&shared, &ctx, |acct| acct.archive_reasons.clone());
    page(&ctx, reasons)
}

pub(super) async fn get_archive_reason(
    State(shared): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    ctx.require("archive_reasons:read:admin")?;
    let reason = with_account(&shared, &ctx, |acct| acct.archive_reasons.iter().find(|r| r["id"] == id).cloned());
    one(StatusCode::OK, reason.ok_or_else(|| ApiError::not_found("Archive reason", &id))?)
}
