//! Feedback templates and feedback forms, with the validation Lever applies to them.

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::super::model::{SCORE_SYSTEM_VALUES, Template, TemplateField};
use super::super::state::{Account, Shared, new_id, now_ms};
use super::{ApiError, ApiResult, Ctx, one, page, with_account};

const FIELD_TYPES: [&str; 12] = [
    "code",
    "date",
    "dropdown",
    "file",
    "multiple-choice",
    "multiple-select",
    "score",
    "score-system",
    "scorecard",
    "text",
    "textarea",
    "yes-no",
];
const TYPES_WITH_OPTIONS: [&str; 3] = ["dropdown", "multiple-choice", "multiple-select"];

pub(super) async fn list_templates(State(shared): State<Shared>, Extension(ctx): Extension<Ctx>) -> ApiResult {
    ctx.require("feedback_templates:read:admin")?;
    let templates = with_account(&shared, &ctx, |acct| acct.templates.iter().map(Template::to_json).collect());
    page(&ctx, templates)
}

pub(super) async fn get_template(
    State(shared): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    ctx.require("feedback_templates:read:admin")?;
    let template =
        with_account(&shared, &ctx, |acct| acct.templates.iter().find(|t| t.id == id).map(Template::to_json));
    one(StatusCode::OK, template.ok_or_else(|| ApiError::not_found("Feedback template", &id))?)
}

pub(super) async fn add_template(State(shared): State<Shared>, Extension(ctx): Extension<Ctx>) -> ApiResult {
    ctx.require("feedback_templates:write:admin")?;
    let template = parse_template(&ctx.json()?)?;
    let answer = template.to_json();
    with_account(&shared, &ctx, |acct| acct.templates.push(template));
    one(StatusCode::CREATED, answer)
}

fn parse_template(body: &Value) -> Result<Template, ApiError> {
    let text = non_empty_str(body, "text")?;
    let instructions = body.get("instructions").and_then(Value::as_str).unwrap_or("");
    let fields = body
        .get("fields")
        .and_then(Value::as_array)
        .filter(|f| !f.is_empty())
        .ok_or_else(|| ApiError::bad_request("fields must be a non-empty array"))?;
    let fields = fields.iter().map(parse_field).collect::<Result<Vec<_>, _>>()?;
    if fields.iter().filter(|f| f.kind == "score-system").count() != 1 {
        let message = "A feedback template needs exactly one field of type score-system";
        return Err(ApiError::bad_request(message));
    }
    let now = now_ms();
    Ok(Template { id: new_id(), text, instructions: instructions.to_owned(), fields, created_at: now })
}

fn parse_field(field: &Value) -> Result<TemplateField, ApiError> {
    let kind = non_empty_str(field, "type")?;
    if !FIELD_TYPES.contains(&kind.as_str()) {
        return Err(ApiError::bad_request(format!("Unknown field type {kind:?}")));
    }
    let options = match kind.as_str() {
        // Lever fills in the rating scale itself.
        "score-system" => Some(SCORE_SYSTEM_VALUES.map(str::to_owned).to_vec()),
        k if TYPES_WITH_OPTIONS.contains(&k) => Some(parse_options(field)?),
        _ => None,
    };
    Ok(TemplateField {
        id: new_id(),
        text: non_empty_str(field, "text")?,
        description: field.get("description").and_then(Value::as_str).unwrap_or("").to_owned(),
        required: field.get("required").and_then(Value::as_bool).unwrap_or(false),
        kind,
        options,
    })
}

/// Options come as `["a", …]` or Lever's own `[{"text": "a"}, …]`.
fn parse_options(field: &Value) -> Result<Vec<String>, ApiError> {
    let invalid = || ApiError::bad_request("options must be a non-empty array of {text}");
    let options = field.get("options").and_then(Value::as_array).filter(|o| !o.is_empty()).ok_or_else(invalid)?;
    options
        .iter()
        .map(|o| {
            let text = o.as_str().or_else(|| o.get("text").and_then(Value::as_str));
            text.map(str::to_owned).ok_or_else(invalid)
        })
        .collect()
}

fn non_empty_str(v: &Value, key: &str) -> Result<String, ApiError> {
    v.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .map(str::to_owned)
        .ok_or_else(|| ApiError::bad_request(format!("{key} is required")))
}

pub(super) async fn list_feedback(
    State(shared): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    ctx.require("feedback:read:admin")?;
    let forms = with_account(&shared, &ctx, |acct| {
        acct.opportunity(&id).map(|_| acct.feedback.get(&id).cloned().unwrap_or_default())
    });
    page(&ctx, forms.ok_or_else(|| ApiError::not_found("Opportunity", &id))?)
}

pub(super) async fn add_feedback(
    State(shared): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    ctx.require("feedback:write:admin")?;
    let body = ctx.json()?;
    with_account(&shared, &ctx, |acct| {
        let user = feedback_author(acct, &ctx)?;
        if acct.opportunity(&id).is_none() {
            return Err(ApiError::not_found("Opportunity", &id));
        }
        let form = build_form(acct, &body, &user)?;
        acct.feedback.entry(id.clone()).or_default().push(form.clone());
        one(StatusCode::CREATED, form)
    })
}

/// Unlike other writes, feedback must name its author.
fn feedback_author(acct: &Account, ctx: &Ctx) -> Result<String, ApiError> {
    let id = ctx.param("perform_as").ok_or_else(|| ApiError::bad_request("perform_as is required"))?;
    acct.active_user(id)
        .map(|u| u.id.clone())
        .ok_or_else(|| ApiError::bad_request(format!("perform_as: no active user {id}")))
}

fn build_form(acct: &Account, body: &Value, user: &str) -> Result<Value, ApiError> {
    let template_id = body.get("baseTemplateId").and_then(Value::as_str).unwrap_or("");
    let template = acct
        .templates
        .iter()
        .find(|t| t.id == template_id)
        .ok_or_else(|| ApiError::bad_request(format!("Unknown baseTemplateId {template_id:?}")))?;
    let values = field_values(template, body)?;
    let fields = template
        .fields
        .iter()
        .map(|f| {
            let mut v = f.to_json();
            v["value"] = values.get(&f.id).cloned().unwrap_or(Value::Null);
            v
        })
        .collect::<Vec<_>>();
    let now = now_ms();
    let completed_at = body.get("completedAt").and_then(Value::as_i64).unwrap_or(now);
    Ok(json!({
        "id": new_id(),
        "type": "interview",
        "text": template.text,
        "instructions": template.instructions,
        "baseTemplateId": template.id,
        "interview": null,
        "panel": null,
        "user": user,
        "fields": fields,
        "createdAt": now,
        "updatedAt": now,
        "completedAt": completed_at,
        "deletedAt": null,
    }))
}

/// Checks every submitted value against its template field, then that required ones are there.
fn field_values(template: &Template, body: &Value) -> Result<Map<String, Value>, ApiError> {
    let submitted = body
        .get("fieldValues")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::bad_request("fieldValues must be an array"))?;
    let mut values = Map::new();
    for item in submitted {
        let id = item.get("id").and_then(Value::as_str).unwrap_or("");
        let field = template
            .fields
            .iter()
            .find(|f| f.id == id)
            .ok_or_else(|| ApiError::bad_request(format!("Field {id:?} is not in the template")))?;
        let value = item.get("value").cloned().unwrap_or(Value::Null);
        if value.is_null() {
            continue;
        }
        check_value(field, &value)?;
        if values.insert(id.to_owned(), value).is_some() {
            return Err(ApiError::bad_request(format!("Field {id:?} given twice")));
        }
    }
    let missing = template.fields.iter().find(|f| f.required && is_blank(values.get(&f.id)));
    if let Some(field) = missing {
        let message = format!("Required field {:?} ({}) is missing", field.text, field.id);
        return Err(ApiError::bad_request(message));
    }
    Ok(values)
}

fn is_blank(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        Some(_) => false,
    }
}

fn check_value(field: &TemplateField, value: &Value) -> Result<(), ApiError> {
    let options = field.options.as_deref().unwrap_or_default();
    let is_option = |v: &Value| v.as_str().is_some_and(|s| options.iter().any(|o| o == s));
    let ok = match field.kind.as_str() {
        "text" | "textarea" | "code" => value.is_string(),
        "yes-no" => matches!(value.as_str(), Some("yes" | "no")),
        "score-system" | "dropdown" | "multiple-choice" => is_option(value),
        "multiple-select" => value.as_array().is_some_and(|a| a.iter().all(is_option)),
        "score" => value.as_u64().is_some_and(|s| (1..=4).contains(&s)),
        "date" => value.is_i64() || value.is_u64(),
        _ => true,
    };
    if ok {
        return Ok(());
    }
    let expected = match field.kind.as_str() {
        "score-system" | "dropdown" | "multiple-choice" | "multiple-select" => {
            format!("one of {options:?}")
        }
        "yes-no" => "\"yes\" or \"no\"".to_owned(),
        "score" => "an integer from 1 to 4".to_owned(),
        "date" => "a timestamp in ms".to_owned(),
        _ => "a string".to_owned(),
    };
    let message = format!("Invalid value {value} for {} field {:?}: expected {expected}", field.kind, field.text);
    Err(ApiError::bad_request(message))
}
