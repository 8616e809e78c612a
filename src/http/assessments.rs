//! Assessments in the app (admins only): the list, with the exact tags recruiters put on
//! Lever postings, and one form to create or edit an assessment, its questions written in
//! the plain-text format.

use askama::Template;
use axum::{
    extract::{Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use uuid::Uuid;

use super::{
    csrf::{CsrfForm, CsrfToken},
    error::{AppError, AppResult},
    layout::{Chrome, render},
    session::AdminUser,
};
use crate::{
    db::assessments::{self, Assessment, SaveError},
    domain::{
        assessment::{AssessmentForm, DEFAULT_EXPIRES_AFTER_DAYS, FieldError, ValidAssessment, questions_to_text},
        resolution::name_tag,
    },
    http::AppState,
    http::path_id::PathId,
};

struct Row {
    assessment: Assessment,
    name_tag: String,
}

#[derive(Template)]
#[template(path = "assessments.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<Row>,
    notice: Option<String>,
}

/// The assessment being edited, as stored (the form may hold a name not yet saved).
struct Editing {
    id: Uuid,
    name: String,
    code: String,
    name_tag: String,
}

#[derive(Template)]
#[template(path = "assessment_form.html")]
struct FormPage {
    chrome: Chrome,
    editing: Option<Editing>,
    form: AssessmentForm,
    errors: Vec<FieldError>,
}

impl FormPage {
    fn action(&self) -> String {
        match &self.editing {
            Some(editing) => format!("/app/assessments/{}", editing.id),
            None => "/app/assessments/new".into(),
        }
    }

    fn invalid(&self, field: &str) -> bool {
        self.errors.iter().any(|e| e.field == field)
    }
}

/// `?saved={id}` after a create or an edit: the list says so.
#[derive(Deserialize)]
pub struct Saved {
    saved: Option<Uuid>,
}

pub async fn list(
    State(state): State<AppState>,
    admin: AdminUser,
    csrf: CsrfToken,
    Query(Saved { saved }): Query<Saved>,
) -> AppResult<Response> {
    let mut conn = state.db.acquire().await?;
    let rows: Vec<Row> = assessments::list(&mut conn, admin.0.org_id)
        .await?
        .into_iter()
        .map(|assessment| Row { name_tag: name_tag(&state.settings.brand, &assessment.name), assessment })
        .collect();
    let notice = saved.and_then(|id| rows.iter().find(|r| r.assessment.id == id)).map(|r| {
        format!("Saved {}. Tag a Lever posting {} or {} to use it.", r.assessment.name, r.name_tag, r.assessment.code)
    });
    let chrome = Chrome::new(&state, Some(&admin.0), &csrf, "assessments").await?;
    render(&ListPage { chrome, rows, notice })
}

pub async fn new_page(State(state): State<AppState>, admin: AdminUser, csrf: CsrfToken) -> AppResult<Response> {
    let form = AssessmentForm {
        expires_after_days: DEFAULT_EXPIRES_AFTER_DAYS.to_string(),
        active: Some("on".into()),
        ..Default::default()
    };
    form_page(&state, &admin, &csrf, StatusCode::OK, None, form, Vec::new()).await
}

pub async fn create(
    State(state): State<AppState>,
    admin: AdminUser,
    csrf: CsrfToken,
    CsrfForm(form): CsrfForm<AssessmentForm>,
) -> AppResult<Response> {
    save(&state, &admin, &csrf, None, form).await
}

pub async fn edit_page(
    State(state): State<AppState>,
    admin: AdminUser,
    csrf: CsrfToken,
    PathId(id): PathId<Uuid>,
) -> AppResult<Response> {
    let assessment = find(&state, &admin, id).await?;
    let form = AssessmentForm {
        name: assessment.name.clone(),
        pass_mark: assessment.pass_mark.to_string(),
        time_limit_minutes: assessment.time_limit_minutes.to_string(),
        expires_after_days: assessment.expires_after_days.to_string(),
        active: assessment.active.then(|| "on".into()),
        instructions: assessment.instructions.clone(),
        questions: questions_to_text(&assessment.questions),
    };
    let editing = editing(&state, assessment);
    form_page(&state, &admin, &csrf, StatusCode::OK, Some(editing), form, Vec::new()).await
}

pub async fn update(
    State(state): State<AppState>,
    admin: AdminUser,
    csrf: CsrfToken,
    PathId(id): PathId<Uuid>,
    CsrfForm(form): CsrfForm<AssessmentForm>,
) -> AppResult<Response> {
    // Found first, so another organization's id is 404 whatever the form holds.
    let assessment = find(&state, &admin, id).await?;
    save(&state, &admin, &csrf, Some(editing(&state, assessment)), form).await
}

async fn find(state: &AppState, admin: &AdminUser, id: Uuid) -> AppResult<Assessment> {
    let mut conn = state.db.acquire().await?;
    assessments::find(&mut conn, admin.0.org_id, id).await?.ok_or(AppError::NotFound)
}

fn editing(state: &AppState, assessment: Assessment) -> Editing {
    let name_tag = name_tag(&state.settings.brand, &assessment.name);
    Editing { id: assessment.id, name: assessment.name, code: assessment.code, name_tag }
}

/// Creates (`editing` is `None`) or updates; on refusal shows the form again with the
/// admin's input and what is wrong, having changed nothing.
async fn save(
    state: &AppState,
    admin: &AdminUser,
    csrf: &CsrfToken,
    editing: Option<Editing>,
    form: AssessmentForm,
) -> AppResult<Response> {
    let valid = match ValidAssessment::from_form(&form) {
        Ok(valid) => valid,
        Err(errors) => {
            return form_page(state, admin, csrf, StatusCode::UNPROCESSABLE_ENTITY, editing, form, errors).await;
        }
    };
    let mut conn = state.db.acquire().await?;
    let org_id = admin.0.org_id;
    let saved = match &editing {
        None => assessments::insert(&mut conn, org_id, &valid).await.map(Some),
        Some(editing) => assessments::update(&mut conn, org_id, editing.id, &valid).await,
    };
    match saved {
        Ok(Some(saved)) => Ok(Redirect::to(&format!("/app/assessments?saved={}", saved.id)).into_response()),
        // Gone between loading the form's assessment and saving it.
        Ok(None) => Err(AppError::NotFound),
        Err(SaveError::DuplicateName) => {
            let errors = vec![FieldError::new("name", SaveError::DuplicateName.to_string())];
            form_page(state, admin, csrf, StatusCode::CONFLICT, editing, form, errors).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn form_page(
    state: &AppState,
    admin: &AdminUser,
    csrf: &CsrfToken,
    status: StatusCode,
    editing: Option<Editing>,
    form: AssessmentForm,
    errors: Vec<FieldError>,
) -> AppResult<Response> {
    let chrome = Chrome::new(state, Some(&admin.0), csrf, "assessments").await?;
    Ok((status, render(&FormPage { chrome, editing, form, errors })?).into_response())
}
