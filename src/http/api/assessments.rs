//! `/api/v1/assessments`: list, create, read and partly update the organization's
//! assessments. `questions` carries the right answers: this is the admin's own data (the
//! candidate pages never show them).

use axum::{
    Json,
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    ApiClient, ApiJson, ApiQuery,
    page::{Cursor, PageQuery, next_cursor},
};
use crate::{
    db::assessments::{self, Assessment},
    domain::{
        assessment::{AssessmentInput, FieldError, Question, ValidAssessment},
        resolution::name_tag,
    },
    http::AppState,
    http::error::{ApiResult, AppError},
    http::path_id::PathId,
};

/// The two tags that select the assessment when put on a Lever posting or opportunity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Tags {
    name: String,
    code: String,
}

#[derive(Serialize)]
pub(super) struct AssessmentJson {
    id: Uuid,
    name: String,
    code: String,
    pass_mark: i32,
    time_limit_minutes: i32,
    expires_after_days: i32,
    active: bool,
    instructions: String,
    questions: Vec<Question>,
    tags: Tags,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl AssessmentJson {
    fn new(brand: &str, a: Assessment) -> Self {
        let tags = Tags { name: name_tag(brand, &a.name), code: a.code.clone() };
        Self {
            id: a.id,
            name: a.name,
            code: a.code,
            pass_mark: a.pass_mark,
            time_limit_minutes: a.time_limit_minutes,
            expires_after_days: a.expires_after_days,
            active: a.active,
            instructions: a.instructions,
            questions: a.questions.0,
            tags,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

/// A create or update body. `null` is the same as leaving a field out. The read-only
/// fields may be sent back as they were read, so a client can return an edited copy.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Body {
    name: Option<String>,
    pass_mark: Option<i64>,
    time_limit_minutes: Option<i64>,
    expires_after_days: Option<i64>,
    active: Option<bool>,
    instructions: Option<String>,
    questions: Option<Vec<Question>>,
    id: Option<Uuid>,
    code: Option<String>,
    tags: Option<Tags>,
    created_at: Option<DateTime<Utc>>,
    updated_at: Option<DateTime<Utc>>,
}

impl Body {
    /// `current` is `None` for a new assessment, which has no read-only values yet.
    fn check_read_only(&self, current: Option<&AssessmentJson>) -> Result<(), AppError> {
        unchanged("id", self.id.as_ref(), current.map(|c| &c.id))?;
        unchanged("code", self.code.as_ref(), current.map(|c| &c.code))?;
        unchanged("tags", self.tags.as_ref(), current.map(|c| &c.tags))?;
        unchanged("created_at", self.created_at.as_ref(), current.map(|c| &c.created_at))?;
        unchanged("updated_at", self.updated_at.as_ref(), current.map(|c| &c.updated_at))
    }

    fn into_input(self) -> AssessmentInput {
        AssessmentInput {
            name: self.name,
            pass_mark: self.pass_mark,
            time_limit_minutes: self.time_limit_minutes,
            expires_after_days: self.expires_after_days,
            active: self.active,
            instructions: self.instructions,
            questions: self.questions,
        }
    }
}

fn unchanged<T: PartialEq>(field: &str, given: Option<&T>, current: Option<&T>) -> Result<(), AppError> {
    match (given, current) {
        (None, _) => Ok(()),
        (Some(given), Some(current)) if given == current => Ok(()),
        (Some(_), Some(_)) => Err(AppError::invalid(field, format!("`{field}` is read-only: it cannot be changed."))),
        (Some(_), None) => Err(AppError::invalid(
            field,
            format!("`{field}` is assigned by Fulcrum: leave it out of a new assessment."),
        )),
    }
}

/// The API reports one problem at a time: the first, in the order of the fields.
fn first_problem(errors: Vec<FieldError>) -> AppError {
    match errors.into_iter().next() {
        Some(FieldError { field, message }) => AppError::invalid(field, message),
        None => AppError::Internal(anyhow::anyhow!("an assessment was refused without a reason")),
    }
}

/// Lists come as `{"data": [...], "next_cursor": ...}`, like every list in the API: by
/// name, a page at a time.
pub(super) async fn list(
    State(state): State<AppState>,
    client: ApiClient,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    let page = query.parse()?;
    let after = match &page.after {
        None => None,
        Some(Cursor::Assessment(name_key)) => Some(name_key.as_str()),
        Some(_) => return Err(AppError::invalid("cursor", "that cursor belongs to another list").into()),
    };
    let mut conn = state.db.acquire().await?;
    let mut rows = assessments::page(&mut conn, client.org_id, after, page.limit + 1).await?;
    let next_cursor = next_cursor(&mut rows, page.limit, |(name_key, _)| Cursor::Assessment(name_key.clone()));
    let data: Vec<AssessmentJson> =
        rows.into_iter().map(|(_, a)| AssessmentJson::new(&state.settings.brand, a)).collect();
    Ok(Json(serde_json::json!({ "data": data, "next_cursor": next_cursor })))
}

pub(super) async fn create(
    State(state): State<AppState>,
    client: ApiClient,
    ApiJson(body): ApiJson<Body>,
) -> ApiResult<Response> {
    body.check_read_only(None)?;
    let valid = ValidAssessment::from_input(body.into_input()).map_err(first_problem)?;
    let mut conn = state.db.acquire().await?;
    let created = assessments::insert(&mut conn, client.org_id, &valid).await?;
    let location = format!("/api/v1/assessments/{}", created.id);
    let body = Json(AssessmentJson::new(&state.settings.brand, created));
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], body).into_response())
}

pub(super) async fn show(
    State(state): State<AppState>,
    client: ApiClient,
    PathId(id): PathId<Uuid>,
) -> ApiResult<Json<AssessmentJson>> {
    let mut conn = state.db.acquire().await?;
    let found = assessments::find(&mut conn, client.org_id, id).await?.ok_or(AppError::NotFound)?;
    Ok(Json(AssessmentJson::new(&state.settings.brand, found)))
}

/// Changes the fields given and keeps the others.
pub(super) async fn update(
    State(state): State<AppState>,
    client: ApiClient,
    PathId(id): PathId<Uuid>,
    ApiJson(body): ApiJson<Body>,
) -> ApiResult<Json<AssessmentJson>> {
    let brand = &state.settings.brand;
    let mut tx = state.db.begin().await?;
    assessments::lock(&mut tx, client.org_id, id).await?;
    let current = assessments::find(&mut tx, client.org_id, id).await?.ok_or(AppError::NotFound)?;
    body.check_read_only(Some(&AssessmentJson::new(brand, current.clone())))?;
    let valid = ValidAssessment::from_input(body.into_input().or(current.to_input())).map_err(first_problem)?;
    let updated = assessments::update(&mut tx, client.org_id, id, &valid).await?.ok_or(AppError::NotFound)?;
    tx.commit().await?;
    Ok(Json(AssessmentJson::new(brand, updated)))
}
