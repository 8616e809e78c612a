//! Organizations, their users and API keys: creation (shared by `/signup` and
//! `fulcrum org create`), password hashing, and API key issue.

use anyhow::Context;
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{crypto, domain::email::EmailAddress, passwords};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Member,
}

impl Role {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "admin" => Some(Self::Admin),
            "member" => Some(Self::Member),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Member => "member",
        }
    }
}

/// What creating an organization can refuse, each with a message for the person asking.
#[derive(Debug, thiserror::Error)]
pub enum NewUserError {
    #[error("{0}")]
    Invalid(&'static str),
    #[error("an account with that email address already exists")]
    EmailTaken,
    /// Every password-hashing slot stayed busy: try again in a moment.
    #[error("too many accounts are being set up at once; try again in a moment")]
    Busy(#[from] passwords::Busy),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// The password rules for everyone who chooses one (see `passwords::problem`).
pub fn check_password(password: &str) -> Result<(), NewUserError> {
    passwords::problem(password).map_or(Ok(()), |why| Err(NewUserError::Invalid(why)))
}

pub fn check_org_name(name: &str) -> Result<&str, NewUserError> {
    let name = name.trim();
    match name.chars().count() {
        0 => Err(NewUserError::Invalid("the organization needs a name")),
        1..=200 => Ok(name),
        _ => Err(NewUserError::Invalid("the organization name must be at most 200 characters")),
    }
}

/// Hashes a new password (Argon2id) on one of the process's bounded hashing slots.
pub async fn hash_password(password: &str) -> Result<String, passwords::Busy> {
    passwords::hash(password).await
}

/// The same, outside any request: the command line and tests.
pub fn hash_password_blocking(password: &str) -> String {
    passwords::hash_blocking(password)
}

#[derive(Debug, Serialize)]
pub struct CreatedOrg {
    pub org_id: Uuid,
    pub admin_user_id: Uuid,
    pub api_key: String,
}

/// Creates an organization, its first admin and a first API key, in the caller's
/// transaction. `password_hash` is made beforehand (it is slow).
pub async fn create_org(
    conn: &mut PgConnection,
    name: &str,
    admin_email: &EmailAddress,
    password_hash: &str,
) -> Result<CreatedOrg, NewUserError> {
    let name = check_org_name(name)?;
    let org_id = sqlx::query_scalar!(
        "INSERT INTO organizations (name, webhook_key) VALUES ($1, $2) RETURNING id",
        name,
        crypto::random_token(24),
    )
    .fetch_one(&mut *conn)
    .await?;
    let admin_user_id = create_user(&mut *conn, org_id, admin_email, "", password_hash, Role::Admin).await?;
    let (_, api_key) = create_api_key(&mut *conn, org_id, "Default", Some(admin_user_id)).await?;
    Ok(CreatedOrg { org_id, admin_user_id, api_key })
}

pub async fn create_user(
    conn: &mut PgConnection,
    org_id: Uuid,
    email: &EmailAddress,
    name: &str,
    password_hash: &str,
    role: Role,
) -> Result<Uuid, NewUserError> {
    let inserted = sqlx::query_scalar!(
        "INSERT INTO users (org_id, email, name, password_hash, role) VALUES ($1, $2, $3, $4, $5)
         RETURNING id",
        org_id,
        email.as_str(),
        name.trim(),
        password_hash,
        role.as_str(),
    )
    .fetch_one(conn)
    .await;
    match inserted {
        Ok(id) => Ok(id),
        Err(e) if crate::db::unique_violation(&e) == Some("users_email_key") => Err(NewUserError::EmailTaken),
        Err(e) => Err(e.into()),
    }
}

/// Issues a new API key; the key itself is returned once and only its hash is stored.
pub async fn create_api_key(
    conn: &mut PgConnection,
    org_id: Uuid,
    name: &str,
    created_by: Option<Uuid>,
) -> anyhow::Result<(Uuid, String)> {
    let key = format!("fk_{}", crypto::random_token(32));
    let prefix: String = key.chars().take(10).collect();
    let id = sqlx::query_scalar!(
        "INSERT INTO api_keys (org_id, name, prefix, key_hash, created_by) VALUES ($1, $2, $3, $4, $5)
         RETURNING id",
        org_id,
        name.trim(),
        prefix,
        crypto::hash_token(&key),
        created_by,
    )
    .fetch_one(conn)
    .await
    .context("storing an API key")?;
    Ok((id, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_and_name_rules() {
        assert!(check_password("short").is_err());
        assert!(check_password("long enough!").is_ok());
        assert!(check_password("Password12").is_err(), "common");
        assert!(check_org_name("   ").is_err());
        assert_eq!(check_org_name("  Acme ").unwrap(), "Acme");
    }
}
