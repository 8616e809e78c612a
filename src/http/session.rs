//! Sign-in sessions kept in PostgreSQL, and the extractors that give handlers the
//! signed-in user: [`CurrentUser`] (any role) and [`AdminUser`] (403 for members).

use axum::{
    extract::FromRequestParts,
    http::{Method, request::Parts},
};
use chrono::{Duration, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::{cookies, error::AppError};
use crate::{crypto, http::AppState, orgs::Role};

#[derive(Clone, Debug)]
pub struct CurrentUser {
    pub id: Uuid,
    pub org_id: Uuid,
    pub org_name: String,
    pub email: String,
    pub role: Role,
}

impl CurrentUser {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        if let Some(user) = parts.extensions.get::<CurrentUser>() {
            return Ok(user.clone());
        }
        // A page asked for by GET is worth coming back to after signing in.
        let sign_in = || {
            let next = (parts.method == Method::GET).then(|| parts.uri.path_and_query().map(|p| p.to_string()));
            AppError::SignInRequired { next: next.flatten() }
        };
        let token = cookies::get(&parts.headers, cookies::SESSION).ok_or_else(sign_in)?;
        let user = find_session(&state.db, &crypto::hash_token(token)).await?.ok_or_else(sign_in)?;
        parts.extensions.insert(user.clone());
        Ok(user)
    }
}

/// A signed-in admin; members get 403.
#[derive(Clone, Debug)]
pub struct AdminUser(pub CurrentUser);

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let user = CurrentUser::from_request_parts(parts, state).await?;
        if !user.is_admin() {
            return Err(AppError::Forbidden("Only an organization admin can do this.".into()));
        }
        Ok(Self(user))
    }
}

/// The signed-in user if there is one, for pages that show either way.
pub struct MaybeUser(pub Option<CurrentUser>);

impl FromRequestParts<AppState> for MaybeUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        match CurrentUser::from_request_parts(parts, state).await {
            Ok(user) => Ok(Self(Some(user))),
            Err(AppError::SignInRequired { .. }) => Ok(Self(None)),
            Err(e) => Err(e),
        }
    }
}

async fn find_session(db: &PgPool, id_hash: &str) -> Result<Option<CurrentUser>, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT u.id, u.org_id, o.name AS org_name, u.email, u.role
           FROM sessions s
           JOIN users u ON u.id = s.user_id
           JOIN organizations o ON o.id = u.org_id
           WHERE s.id_hash = $1 AND s.expires_at > now()"#,
        id_hash
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| CurrentUser {
        id: r.id,
        org_id: r.org_id,
        org_name: r.org_name,
        email: r.email,
        role: Role::parse(&r.role).unwrap_or(Role::Member),
    }))
}

/// Creates a session and returns the cookie value (only its hash is stored).
pub async fn start(db: &PgPool, user_id: Uuid, org_id: Uuid, days: i64) -> Result<String, sqlx::Error> {
    let token = crypto::random_token(32);
    sqlx::query!(
        "INSERT INTO sessions (id_hash, user_id, org_id, expires_at) VALUES ($1, $2, $3, $4)",
        crypto::hash_token(&token),
        user_id,
        org_id,
        Utc::now() + Duration::days(days),
    )
    .execute(db)
    .await?;
    Ok(token)
}

pub async fn end(db: &PgPool, token: &str) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM sessions WHERE id_hash = $1", crypto::hash_token(token)).execute(db).await?;
    Ok(())
}

/// Ends every session of the user (after a password reset), in the caller's transaction.
pub async fn end_all(conn: &mut sqlx::PgConnection, user_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM sessions WHERE user_id = $1", user_id).execute(conn).await?;
    Ok(())
}
