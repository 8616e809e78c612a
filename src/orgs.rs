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

/// Whether a new user has shown they read mail at their address. Unconfirmed users (new
/// sign-ups) cannot sign in until they follow the link emailed to them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verification {
    /// Confirmed: by the link, by accepting an invitation sent to the address, or because
    /// an operator made the account (`fulcrum org create`).
    Verified,
    /// Signed up, link not followed yet.
    Pending,
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
    verification: Verification,
) -> Result<CreatedOrg, NewUserError> {
    let name = check_org_name(name)?;
    let org_id = sqlx::query_scalar!(
        "INSERT INTO organizations (name, webhook_key) VALUES ($1, $2) RETURNING id",
        name,
        crypto::random_token(24),
    )
    .fetch_one(&mut *conn)
    .await?;
    let admin = NewUser { email: admin_email, name: "", password_hash, role: Role::Admin, verification };
    let admin_user_id = create_user(&mut *conn, org_id, &admin).await?;
    let (_, api_key) = create_api_key(&mut *conn, org_id, "Default", Some(admin_user_id)).await?;
    Ok(CreatedOrg { org_id, admin_user_id, api_key })
}

/// A user about to be created; `password_hash` is made beforehand (it is slow).
pub struct NewUser<'a> {
    pub email: &'a EmailAddress,
    pub name: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
    pub verification: Verification,
}

pub async fn create_user(conn: &mut PgConnection, org_id: Uuid, user: &NewUser<'_>) -> Result<Uuid, NewUserError> {
    let inserted = sqlx::query_scalar!(
        "INSERT INTO users (org_id, email, name, password_hash, role, email_verified_at)
         VALUES ($1, $2, $3, $4, $5, CASE WHEN $6 THEN now() END)
         RETURNING id",
        org_id,
        user.email.as_str(),
        user.name.trim(),
        user.password_hash,
        user.role.as_str(),
        user.verification == Verification::Verified,
    )
    .fetch_one(conn)
    .await;
    match inserted {
        Ok(id) => Ok(id),
        Err(e) if crate::db::unique_violation(&e) == Some("users_email_key") => Err(NewUserError::EmailTaken),
        Err(e) => Err(e.into()),
    }
}

/// Sets a user's password (hashed beforehand) and returns the user's organization; `None`
/// if there is no such user. Whoever sets it through a link emailed to the address has
/// shown they read mail there, so the address counts as confirmed.
pub async fn set_password(conn: &mut PgConnection, user_id: Uuid, password_hash: &str) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar!(
        "UPDATE users SET password_hash = $2, email_verified_at = coalesce(email_verified_at, now()) WHERE id = $1
         RETURNING org_id",
        user_id,
        password_hash
    )
    .fetch_optional(conn)
    .await
}

/// Marks the user's address as confirmed (a second call changes nothing), and returns the
/// user's organization; `None` if there is no such user.
pub async fn mark_verified(conn: &mut PgConnection, user_id: Uuid) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar!(
        "UPDATE users SET email_verified_at = coalesce(email_verified_at, now()) WHERE id = $1 RETURNING org_id",
        user_id
    )
    .fetch_optional(conn)
    .await
}

/// The account using `email` (whatever its case), if any.
pub async fn find_user(conn: &mut PgConnection, email: &EmailAddress) -> sqlx::Result<Option<Account>> {
    sqlx::query_as!(
        Account,
        "SELECT id, org_id, email, email_verified_at IS NOT NULL AS \"verified!\" FROM users WHERE lower(email) = lower($1)",
        email.as_str()
    )
    .fetch_optional(conn)
    .await
}

/// An existing account, as the sign-up and password pages need it.
#[derive(Debug)]
pub struct Account {
    pub id: Uuid,
    pub org_id: Uuid,
    pub email: String,
    pub verified: bool,
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
