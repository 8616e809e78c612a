//! Team and API keys (admins only): add and remove members, issue and revoke keys. A new
//! key is shown once, on the page that created it.

use askama::Template;
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use uuid::Uuid;

use super::{
    auth::refusal,
    csrf::{CsrfForm, CsrfToken, NoFields},
    error::{AppError, AppResult, parse_id},
    layout::{Chrome, render},
    session::AdminUser,
};
use crate::{
    app::AppState,
    domain::email::EmailAddress,
    orgs::{self, NewUserError, Role},
};

pub struct Member {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub role: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Template)]
#[template(path = "team.html")]
struct TeamPage {
    chrome: Chrome,
    members: Vec<Member>,
    me: Uuid,
    error: Option<String>,
    notice: Option<String>,
}

#[derive(Deserialize)]
pub struct AddMemberForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
}

async fn team_page(
    state: &AppState,
    admin: &AdminUser,
    csrf: &CsrfToken,
    error: Option<String>,
    notice: Option<String>,
) -> AppResult<TeamPage> {
    let members = sqlx::query_as!(
        Member,
        "SELECT id, email, name, role, created_at FROM users WHERE org_id = $1 ORDER BY created_at",
        admin.0.org_id
    )
    .fetch_all(&state.db)
    .await?;
    let chrome = Chrome::new(state, Some(&admin.0), csrf, "team").await?;
    Ok(TeamPage { chrome, members, me: admin.0.id, error, notice })
}

pub async fn page(State(state): State<AppState>, admin: AdminUser, csrf: CsrfToken) -> AppResult<Response> {
    render(&team_page(&state, &admin, &csrf, None, None).await?)
}

pub async fn add_member(
    State(state): State<AppState>,
    admin: AdminUser,
    csrf: CsrfToken,
    CsrfForm(form): CsrfForm<AddMemberForm>,
) -> AppResult<Response> {
    match add(&state, &admin, &form).await {
        Ok(email) => {
            let notice = format!("{email} can now sign in with the password you set.");
            render(&team_page(&state, &admin, &csrf, None, Some(notice)).await?)
        }
        Err(refused) => {
            let (status, message) = refusal(refused)?;
            let page = team_page(&state, &admin, &csrf, Some(message), None).await?;
            Ok((status, render(&page)?).into_response())
        }
    }
}

async fn add(state: &AppState, admin: &AdminUser, form: &AddMemberForm) -> Result<String, NewUserError> {
    let email = EmailAddress::parse(&form.email).map_err(NewUserError::Invalid)?;
    let role = Role::parse(&form.role).ok_or(NewUserError::Invalid("choose a role: admin or member"))?;
    orgs::check_password(&form.password)?;
    let password = form.password.clone();
    let hash =
        tokio::task::spawn_blocking(move || orgs::hash_password(&password)).await.map_err(anyhow::Error::new)??;
    let mut conn = state.db.acquire().await?;
    orgs::create_user(&mut conn, admin.0.org_id, &email, &form.name, &hash, role).await?;
    Ok(email.into_string())
}

pub async fn remove_member(
    State(state): State<AppState>,
    admin: AdminUser,
    csrf: CsrfToken,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    if id == admin.0.id {
        let page = team_page(&state, &admin, &csrf, Some("You cannot remove yourself.".into()), None).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response());
    }
    let removed =
        sqlx::query!("DELETE FROM users WHERE id = $1 AND org_id = $2", id, admin.0.org_id).execute(&state.db).await?;
    if removed.rows_affected() == 0 {
        return Err(AppError::NotFound);
    }
    Ok(Redirect::to("/app/settings/team").into_response())
}

pub struct ApiKeyRow {
    pub id: Uuid,
    pub name: String,
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Template)]
#[template(path = "api_keys.html")]
struct ApiKeysPage {
    chrome: Chrome,
    keys: Vec<ApiKeyRow>,
    new_key: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct NewKeyForm {
    #[serde(default)]
    name: String,
}

async fn api_keys(
    state: &AppState,
    admin: &AdminUser,
    csrf: &CsrfToken,
    new_key: Option<String>,
    error: Option<String>,
) -> AppResult<ApiKeysPage> {
    let keys = sqlx::query_as!(
        ApiKeyRow,
        "SELECT id, name, prefix, created_at, last_used_at, revoked_at FROM api_keys
         WHERE org_id = $1 ORDER BY revoked_at IS NOT NULL, created_at DESC",
        admin.0.org_id
    )
    .fetch_all(&state.db)
    .await?;
    let chrome = Chrome::new(state, Some(&admin.0), csrf, "api-keys").await?;
    Ok(ApiKeysPage { chrome, keys, new_key, error })
}

pub async fn api_keys_page(State(state): State<AppState>, admin: AdminUser, csrf: CsrfToken) -> AppResult<Response> {
    render(&api_keys(&state, &admin, &csrf, None, None).await?)
}

pub async fn create_api_key(
    State(state): State<AppState>,
    admin: AdminUser,
    csrf: CsrfToken,
    CsrfForm(form): CsrfForm<NewKeyForm>,
) -> AppResult<Response> {
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        let error = Some("Give the key a name of at most 100 characters, e.g. \"Grading engine\".".into());
        let page = api_keys(&state, &admin, &csrf, None, error).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response());
    }
    let mut conn = state.db.acquire().await?;
    let (_, key) = orgs::create_api_key(&mut conn, admin.0.org_id, name, Some(admin.0.id)).await?;
    render(&api_keys(&state, &admin, &csrf, Some(key), None).await?)
}

pub async fn revoke_api_key(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    let revoked = sqlx::query!(
        "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 AND org_id = $2",
        id,
        admin.0.org_id
    )
    .execute(&state.db)
    .await?;
    if revoked.rows_affected() == 0 {
        return Err(AppError::NotFound);
    }
    Ok(Redirect::to("/app/settings/api-keys").into_response())
}
