//! Team and API keys (admins only): the team with its pending invitations (sent from
//! `team_invites`), role changes and removals; issue and revoke keys. A new key is shown
//! once, on the page that created it.

use askama::Template;
use axum::{
    extract::{Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use uuid::Uuid;

use super::{
    csrf::{CsrfForm, CsrfToken, NoFields},
    error::{AppError, AppResult},
    layout::{Chrome, render},
    session::AdminUser,
    team_invites::InviteForm,
};
use crate::{
    http::AppState,
    http::path_id::PathId,
    orgs::{self, Role},
};

pub struct Member {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub role: String,
    pub created_at: DateTime<Utc>,
}

/// An invitation not accepted yet.
pub struct PendingInvite {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub role: String,
    pub sent_at: DateTime<Utc>,
    /// `None` once its link has expired (or was pruned).
    pub valid_until: Option<DateTime<Utc>>,
}

#[derive(Template)]
#[template(path = "team.html")]
pub(super) struct TeamPage {
    chrome: Chrome,
    members: Vec<Member>,
    invites: Vec<PendingInvite>,
    me: Uuid,
    error: Option<String>,
    notice: Option<String>,
    /// What was typed into "Invite a teammate", kept when it is refused.
    draft: InviteForm,
}

/// Notices after a change, named in the redirect so a reload does not repeat the change.
#[derive(Deserialize)]
pub struct Done {
    #[serde(default)]
    done: String,
}

impl Done {
    fn notice(&self) -> Option<String> {
        match self.done.as_str() {
            "removed" => Some("The member was removed; they can no longer sign in.".into()),
            "role" => Some("The role was changed.".into()),
            "invited" => Some("The invitation is on its way. It is listed below until it is accepted.".into()),
            "revoked" => Some("The invitation was withdrawn; its link no longer works.".into()),
            _ => None,
        }
    }
}

pub(super) async fn team_page(
    state: &AppState,
    admin: &AdminUser,
    csrf: &CsrfToken,
    error: Option<String>,
    notice: Option<String>,
    draft: InviteForm,
) -> AppResult<TeamPage> {
    let members = sqlx::query_as!(
        Member,
        "SELECT id, email, name, role, created_at FROM users WHERE org_id = $1 ORDER BY created_at",
        admin.0.org_id
    )
    .fetch_all(&state.db)
    .await?;
    let invites = sqlx::query_as!(
        PendingInvite,
        r#"SELECT i.id, i.email, i.name, i.role, i.updated_at AS sent_at,
                  CASE WHEN l.expires_at > $2 THEN l.expires_at END AS valid_until
           FROM team_invites i
           LEFT JOIN account_links l ON l.invite_id = i.id AND l.used_at IS NULL
           WHERE i.org_id = $1 AND i.accepted_at IS NULL
           ORDER BY i.updated_at"#,
        admin.0.org_id,
        state.clock.now(),
    )
    .fetch_all(&state.db)
    .await?;
    let chrome = Chrome::new(state, Some(&admin.0), csrf, "team").await?;
    Ok(TeamPage { chrome, members, invites, me: admin.0.id, error, notice, draft })
}

pub async fn page(
    State(state): State<AppState>,
    admin: AdminUser,
    csrf: CsrfToken,
    Query(done): Query<Done>,
) -> AppResult<Response> {
    render(&team_page(&state, &admin, &csrf, None, done.notice(), InviteForm::default()).await?)
}

pub async fn remove_member(
    State(state): State<AppState>,
    admin: AdminUser,
    csrf: CsrfToken,
    PathId(id): PathId<Uuid>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> AppResult<Response> {
    if id == admin.0.id {
        return refuse_self(&state, &admin, &csrf, "You cannot remove yourself.").await;
    }
    let removed =
        sqlx::query!("DELETE FROM users WHERE id = $1 AND org_id = $2", id, admin.0.org_id).execute(&state.db).await?;
    if removed.rows_affected() == 0 {
        return Err(AppError::NotFound);
    }
    Ok(Redirect::to("/app/settings/team?done=removed").into_response())
}

#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
}

/// Makes a member an admin or an admin a member. Admins cannot change their own role, so
/// an organization always keeps the admin who is acting.
pub async fn change_role(
    State(state): State<AppState>,
    admin: AdminUser,
    csrf: CsrfToken,
    PathId(id): PathId<Uuid>,
    CsrfForm(form): CsrfForm<RoleForm>,
) -> AppResult<Response> {
    let role = Role::parse(&form.role).ok_or_else(|| AppError::invalid("role", "Choose a role: admin or member."))?;
    if id == admin.0.id {
        return refuse_self(&state, &admin, &csrf, "You cannot change your own role; ask another admin.").await;
    }
    let changed =
        sqlx::query!("UPDATE users SET role = $3 WHERE id = $1 AND org_id = $2", id, admin.0.org_id, role.as_str())
            .execute(&state.db)
            .await?;
    if changed.rows_affected() == 0 {
        return Err(AppError::NotFound);
    }
    Ok(Redirect::to("/app/settings/team?done=role").into_response())
}

async fn refuse_self(state: &AppState, admin: &AdminUser, csrf: &CsrfToken, message: &str) -> AppResult<Response> {
    let page = team_page(state, admin, csrf, Some(message.into()), None, InviteForm::default()).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
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
    /// The name typed for a new key, kept when it is refused.
    name: String,
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
    name: &str,
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
    Ok(ApiKeysPage { chrome, keys, new_key, error, name: name.to_string() })
}

pub async fn api_keys_page(State(state): State<AppState>, admin: AdminUser, csrf: CsrfToken) -> AppResult<Response> {
    render(&api_keys(&state, &admin, &csrf, None, None, "").await?)
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
        let page = api_keys(&state, &admin, &csrf, None, error, name).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response());
    }
    // Names tell keys apart; a repeated name is most often the same form sent twice (a reload).
    let taken = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM api_keys WHERE org_id = $1 AND lower(name) = lower($2) AND revoked_at IS NULL)
           AS "taken!""#,
        admin.0.org_id,
        name
    )
    .fetch_one(&state.db)
    .await?;
    if taken {
        let error =
            Some(format!("A key named \"{name}\" already exists. Choose another name, or revoke that key first."));
        let page = api_keys(&state, &admin, &csrf, None, error, name).await?;
        return Ok((StatusCode::CONFLICT, render(&page)?).into_response());
    }
    let mut conn = state.db.acquire().await?;
    let (_, key) = orgs::create_api_key(&mut conn, admin.0.org_id, name, Some(admin.0.id)).await?;
    render(&api_keys(&state, &admin, &csrf, Some(key), None, "").await?)
}

pub async fn revoke_api_key(
    State(state): State<AppState>,
    admin: AdminUser,
    PathId(id): PathId<Uuid>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> AppResult<Response> {
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
