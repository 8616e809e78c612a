//! Opportunities and what Fulcrum writes on them directly: tags, notes and stage moves.

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::super::state::{Shared, new_id, now_ms};
use super::{ApiError, ApiResult, Ctx, acting_user, one, page, with_account};

pub(super) async fn get_one(
    State(shared): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    ctx.require("opportunities:read:admin")?;
    let expand = ctx.params("expand").contains(&"applications");
    let opp = with_account(&shared, &ctx, |acct| acct.opportunity_json(&id, expand));
    one(StatusCode::OK, opp.ok_or_else(|| ApiError::not_found("Opportunity", &id))?)
}

pub(super) async fn add_tags(
    State(shared): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    change_tags(&shared, &ctx, &id, true)
}

pub(super) async fn remove_tags(
    State(shared): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    change_tags(&shared, &ctx, &id, false)
}

fn change_tags(shared: &Shared, ctx: &Ctx, id: &str, add: bool) -> ApiResult {
    ctx.require("opportunities:write:admin")?;
    let tags = string_list(&ctx.json()?, "tags")?;
    with_account(shared, ctx, |acct| {
        acting_user(acct, ctx)?;
        let opp = acct.opportunity_mut(id).ok_or_else(|| ApiError::not_found("Opportunity", id))?;
        // Tags are case-sensitive strings; adding one that is there already changes nothing.
        for tag in tags {
            let present = opp.tags.contains(&tag);
            if add && !present {
                opp.tags.push(tag);
            } else if !add && present {
                opp.tags.retain(|t| *t != tag);
            }
        }
        opp.updated_at = now_ms();
        one(StatusCode::OK, acct.opportunity_json(id, false).expect("exists"))
    })
}

fn string_list(body: &Value, key: &str) -> Result<Vec<String>, ApiError> {
    let invalid = || ApiError::bad_request(format!("{key} must be an array of strings"));
    let items = body.get(key).and_then(Value::as_array).ok_or_else(invalid)?;
    items.iter().map(|t| t.as_str().map(str::to_owned).ok_or_else(invalid)).collect()
}

pub(super) async fn set_stage(
    State(shared): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    ctx.require("opportunities:write:admin")?;
    let body = ctx.json()?;
    let stage = body.get("stage").and_then(Value::as_str).unwrap_or("");
    with_account(&shared, &ctx, |acct| {
        let user = acting_user(acct, &ctx)?;
        if acct.opportunity(&id).is_none() {
            return Err(ApiError::not_found("Opportunity", &id));
        }
        if acct.stage_index(stage).is_none() {
            return Err(ApiError::bad_request(format!("Invalid stage: {stage:?}")));
        }
        acct.move_to_stage(&id, stage, Some(user));
        one(StatusCode::OK, acct.opportunity_json(&id, false).expect("exists"))
    })
}

pub(super) async fn list_notes(
    State(shared): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    ctx.require("notes:read:admin")?;
    let notes = with_account(&shared, &ctx, |acct| {
        acct.opportunity(&id).map(|_| acct.notes.get(&id).cloned().unwrap_or_default())
    });
    page(&ctx, notes.ok_or_else(|| ApiError::not_found("Opportunity", &id))?)
}

pub(super) async fn add_note(
    State(shared): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    ctx.require("notes:write:admin")?;
    let body = ctx.json()?;
    let note = NoteInput::parse(&body)?;
    with_account(&shared, &ctx, |acct| {
        let user = acting_user(acct, &ctx)?;
        if acct.opportunity(&id).is_none() {
            return Err(ApiError::not_found("Opportunity", &id));
        }
        let note_id = new_id();
        let stored = note.into_json(&note_id, &user);
        acct.notes.entry(id.clone()).or_default().push(stored);
        one(StatusCode::CREATED, json!({ "noteId": note_id }))
    })
}

struct NoteInput {
    value: String,
    score: Option<u64>,
    secret: bool,
    created_at: i64,
}

impl NoteInput {
    fn parse(body: &Value) -> Result<Self, ApiError> {
        let value = body.get("value").and_then(Value::as_str).unwrap_or("");
        if value.trim().is_empty() {
            return Err(ApiError::bad_request("value is required"));
        }
        let score = match body.get("score") {
            None | Some(Value::Null) => None,
            Some(s) => Some(
                s.as_u64()
                    .filter(|s| (1..=4).contains(s))
                    .ok_or_else(|| ApiError::bad_request("score must be an integer from 1 to 4"))?,
            ),
        };
        let flag = |key: &str| match body.get(key) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(ApiError::bad_request(format!("{key} must be a boolean"))),
        };
        let secret = flag("secret")?;
        flag("notifyFollowers")?;
        let created_at = match body.get("createdAt") {
            None | Some(Value::Null) => now_ms(),
            Some(t) => t.as_i64().ok_or_else(|| ApiError::bad_request("createdAt must be a timestamp in ms"))?,
        };
        Ok(Self { value: value.to_owned(), score, secret, created_at })
    }

    /// Lever's note shape: the written text sits in the single text field's `value`.
    fn into_json(self, id: &str, user: &str) -> Value {
        json!({
            "id": id,
            "text": self.value,
            "fields": [{ "type": "text", "text": "", "value": self.value }],
            "user": user,
            "secret": self.secret,
            "score": self.score,
            "completedAt": self.created_at,
            "createdAt": self.created_at,
            "deletedAt": null,
        })
    }
}

/// `GET /opportunities` with Lever's filters: `stage_id` (repeatable: the union), `archived`,
/// `updated_at_start/_end` (ms, inclusive), `confidentiality` (default `non-confidential`;
/// anything else needs `confidential:access:admin`), `expand`, and Lever's paging.
pub(super) async fn list(State(shared): State<Shared>, Extension(ctx): Extension<Ctx>) -> ApiResult {
    ctx.require("opportunities:read:admin")?;
    let confidentiality = ctx.param("confidentiality").unwrap_or("non-confidential").to_owned();
    if !matches!(confidentiality.as_str(), "confidential" | "non-confidential" | "all") {
        return Err(ApiError::bad_request(format!("Invalid confidentiality: {confidentiality:?}")));
    }
    if confidentiality != "non-confidential" {
        ctx.require("confidential:access:admin")?;
    }
    let archived = match ctx.param("archived") {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(other) => return Err(ApiError::bad_request(format!("Invalid archived: {other:?}"))),
    };
    let updated_start = millis(&ctx, "updated_at_start")?;
    let updated_end = millis(&ctx, "updated_at_end")?;
    let stages: Vec<String> = ctx.params("stage_id").into_iter().map(str::to_owned).collect();
    let expand = ctx.params("expand").contains(&"applications");
    let items = with_account(&shared, &ctx, |acct| {
        let chosen = acct.opportunities.iter().filter(|o| {
            (stages.is_empty() || stages.contains(&o.stage))
                && (confidentiality == "all" || o.confidentiality == confidentiality)
                && archived.is_none_or(|a| a == o.archived.is_some())
                && updated_start.is_none_or(|s| o.updated_at >= s)
                && updated_end.is_none_or(|e| o.updated_at <= e)
        });
        let ids: Vec<String> = chosen.map(|o| o.id.clone()).collect();
        ids.iter().filter_map(|id| acct.opportunity_json(id, expand)).collect::<Vec<Value>>()
    });
    page(&ctx, items)
}

/// `GET /opportunities/deleted?deleted_at_start=…`: deleted opportunities, newest last.
pub(super) async fn list_deleted(State(shared): State<Shared>, Extension(ctx): Extension<Ctx>) -> ApiResult {
    ctx.require("opportunities:read:admin")?;
    let since = millis(&ctx, "deleted_at_start")?;
    let items = with_account(&shared, &ctx, |acct| {
        let deleted = acct.deleted.iter().filter(|d| since.is_none_or(|s| d["deletedAt"].as_i64() >= Some(s)));
        deleted.cloned().collect::<Vec<Value>>()
    });
    page(&ctx, items)
}

fn millis(ctx: &Ctx, name: &str) -> Result<Option<i64>, ApiError> {
    match ctx.param(name) {
        None => Ok(None),
        Some(raw) => raw.parse().map(Some).map_err(|_| ApiError::bad_request(format!("Invalid {name}: {raw:?}"))),
    }
}
