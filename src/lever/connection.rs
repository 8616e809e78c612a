//! An organization's Lever connection and its token lifecycle.
//!
//! Access tokens live an hour and are refreshed ahead of expiry and after a 401. Refresh
//! tokens rotate: each refresh spends the old one, so two processes refreshing at once
//! would lose the account. A refresh therefore runs under the connection row's lock, and
//! the rotated token is saved in the same transaction. Lever answering `invalid_grant`
//! (access revoked) marks the connection `needs_reconnect` and is reported as
//! [`LeverError::Revoked`] to the one caller that found it; pausing work and telling admins
//! is that caller's business.

use chrono::{DateTime, Duration, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{CachedToken, Lever, LeverError, oauth};

crate::domain::text_enum! {
    /// Whether a connection's tokens can be used; stored as text in
    /// `lever_connections.status`.
    pub enum ConnectionStatus {
        Connected = "connected",
        NeedsReconnect = "needs_reconnect",
    }
}

pub struct Connection {
    pub account_id: String,
    pub status: ConnectionStatus,
    pub scopes: String,
    pub lever_user_id: Option<String>,
    pub authorized_at: DateTime<Utc>,
    pub last_refreshed_at: DateTime<Utc>,
    pub access_expires_at: DateTime<Utc>,
    pub problem: Option<String>,
    pub problem_since: Option<DateTime<Utc>>,
}

impl Connection {
    pub fn connected(&self) -> bool {
        self.status == ConnectionStatus::Connected
    }
}

pub async fn get(db: &PgPool, org_id: Uuid) -> Result<Option<Connection>, sqlx::Error> {
    sqlx::query_as!(
        Connection,
        r#"SELECT account_id, status AS "status: ConnectionStatus", scopes, lever_user_id, authorized_at, last_refreshed_at, access_expires_at,
                problem, problem_since
         FROM lever_connections WHERE org_id = $1"#,
        org_id
    )
    .fetch_optional(db)
    .await
}

/// The banner every page shows while the connection needs attention.
pub async fn banner(db: &PgPool, org_id: Uuid) -> Result<Option<String>, sqlx::Error> {
    let status = sqlx::query_scalar!(
        r#"SELECT status AS "status: ConnectionStatus" FROM lever_connections WHERE org_id = $1"#,
        org_id
    )
    .fetch_optional(db)
    .await?;
    Ok((status == Some(ConnectionStatus::NeedsReconnect)).then(|| {
        "Lever access was revoked or has expired: candidates are not being invited and results are waiting. \
         An admin needs to reconnect Lever."
            .to_string()
    }))
}

/// How many connections, of all organizations, need an admin to reconnect (for metrics).
pub async fn needing_reconnect(db: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(r#"SELECT count(*) AS "count!" FROM lever_connections WHERE status = 'needs_reconnect'"#)
        .fetch_one(db)
        .await
}

fn context(org_id: Uuid, which: &str) -> String {
    format!("lever-{which}:{org_id}")
}

/// When to refresh proactively: a minute before expiry, or a quarter of the lifetime
/// for short-lived tokens.
fn refresh_after(expires_at: DateTime<Utc>, issued_at: DateTime<Utc>) -> DateTime<Utc> {
    let margin = ((expires_at - issued_at) / 4).min(Duration::seconds(60));
    expires_at - margin
}

/// A usable access token for the organization's account. `stale` is a token Lever just
/// refused with 401: a different (newer) one is returned, refreshing if need be.
pub async fn access_token(lever: &Lever, org_id: Uuid, stale: Option<&str>) -> Result<CachedToken, LeverError> {
    if stale.is_none()
        && let Some(token) = lever.cached_token(org_id, Utc::now())
    {
        // The cache saves reading and decrypting the tokens, not checking that they are
        // still ours: another process may have disconnected, or found access revoked.
        let current = sqlx::query_scalar!(
            "SELECT access_expires_at FROM lever_connections WHERE org_id = $1 AND status = 'connected'",
            org_id
        )
        .fetch_optional(&lever.db)
        .await
        .map_err(LeverError::database)?;
        if current == Some(token.expires_at) {
            return Ok(token);
        }
    }
    lever.forget_token(org_id);
    let row = sqlx::query!(
        r#"SELECT account_id, status AS "status: ConnectionStatus", access_token, access_expires_at,
                  last_refreshed_at, problem
           FROM lever_connections WHERE org_id = $1"#,
        org_id
    )
    .fetch_optional(&lever.db)
    .await
    .map_err(LeverError::database)?;
    let Some(row) = row else { return Err(not_connected()) };
    usable(row.status, row.problem)?;
    let access = decrypt(lever, org_id, "access", &row.access_token)?;
    let due = refresh_after(row.access_expires_at, row.last_refreshed_at);
    if Some(access.as_str()) == stale || Utc::now() >= due {
        return refresh(lever, org_id, Refresh::Stale(&access)).await;
    }
    let token = CachedToken {
        account_id: row.account_id,
        access_token: access,
        refresh_after: due,
        expires_at: row.access_expires_at,
    };
    lever.cache_token(org_id, token.clone());
    Ok(token)
}

/// Why a refresh is wanted; decided again under the lock, since another process may have
/// refreshed meanwhile.
#[derive(Clone, Copy, Debug)]
pub enum Refresh<'a> {
    /// Lever refused this access token (401), or it is about to expire.
    Stale(&'a str),
    /// Keep-alive: refresh if the last refresh is older than this, so the refresh token
    /// never reaches Lever's 90-day inactivity limit.
    IdleSince(DateTime<Utc>),
}

/// Refreshes under the connection row's lock, unless the reason no longer holds: then the
/// token another process just obtained is used instead.
pub async fn refresh(lever: &Lever, org_id: Uuid, why: Refresh<'_>) -> Result<CachedToken, LeverError> {
    let mut tx = lever.db.begin().await.map_err(LeverError::database)?;
    // The lock is held across the call to Lever's token endpoint on purpose: it is what
    // keeps two processes from spending the same refresh token.
    let row = sqlx::query!(
        r#"SELECT account_id, status AS "status: ConnectionStatus", access_token, refresh_token, access_expires_at,
                  last_refreshed_at, problem
           FROM lever_connections WHERE org_id = $1 FOR UPDATE"#,
        org_id
    )
    .fetch_optional(&mut *tx)
    .await
    .map_err(LeverError::database)?;
    let Some(row) = row else { return Err(not_connected()) };
    usable(row.status, row.problem)?;
    let current = decrypt(lever, org_id, "access", &row.access_token)?;
    let due = refresh_after(row.access_expires_at, row.last_refreshed_at);
    let needed = match why {
        Refresh::Stale(stale) => current == stale || Utc::now() >= due,
        Refresh::IdleSince(cutoff) => row.last_refreshed_at < cutoff,
    };
    if !needed {
        tx.commit().await.map_err(LeverError::database)?;
        let token = CachedToken {
            account_id: row.account_id,
            access_token: current,
            refresh_after: due,
            expires_at: row.access_expires_at,
        };
        lever.cache_token(org_id, token.clone());
        return Ok(token);
    }
    let refresh_token = decrypt(lever, org_id, "refresh", &row.refresh_token)?;
    match oauth::refresh(lever, &refresh_token).await {
        Ok(tokens) => {
            let now = Utc::now();
            let expires_at = now + Duration::from_std(tokens.expires_in).unwrap_or(Duration::hours(1));
            sqlx::query!(
                "UPDATE lever_connections
                 SET access_token = $2, refresh_token = $3, access_expires_at = $4, last_refreshed_at = $5
                 WHERE org_id = $1",
                org_id,
                lever.cipher.encrypt(&tokens.access_token, &context(org_id, "access")),
                lever.cipher.encrypt(&tokens.refresh_token, &context(org_id, "refresh")),
                expires_at,
                now,
            )
            .execute(&mut *tx)
            .await
            .map_err(LeverError::database)?;
            tx.commit().await.map_err(LeverError::database)?;
            tracing::info!(%org_id, "refreshed the Lever access token");
            let token = CachedToken {
                account_id: row.account_id,
                access_token: tokens.access_token,
                refresh_after: refresh_after(expires_at, now),
                expires_at,
            };
            lever.cache_token(org_id, token.clone());
            Ok(token)
        }
        Err(oauth::OAuthError::InvalidGrant(detail)) => {
            let problem = "Lever refused Fulcrum's access (it was revoked in Lever, or has expired). \
                           Reconnect Lever to resume.";
            tracing::warn!(%org_id, detail = %detail, "Lever refresh token refused: connection needs reconnecting");
            let flipped = mark_needs_reconnect(&mut tx, org_id, problem).await.map_err(LeverError::database)?;
            tx.commit().await.map_err(LeverError::database)?;
            Err(if flipped { LeverError::Revoked(problem.into()) } else { LeverError::NeedsReconnect(problem.into()) })
        }
        Err(e) => Err(LeverError::Unavailable(e.to_string())),
    }
}

/// Flags the connection; true when this call is the one that did.
async fn mark_needs_reconnect(conn: &mut PgConnection, org_id: Uuid, problem: &str) -> sqlx::Result<bool> {
    let flagged = sqlx::query!(
        "UPDATE lever_connections SET status = 'needs_reconnect', problem = $2, problem_since = now()
         WHERE org_id = $1 AND status = 'connected'",
        org_id,
        problem,
    )
    .execute(&mut *conn)
    .await?;
    Ok(flagged.rows_affected() == 1)
}

/// Stores a fresh connection from the OAuth callback. Refuses an account another
/// organization holds. Resuming parked work is the caller's.
pub async fn connect(
    lever: &Lever,
    org_id: Uuid,
    user_id: Uuid,
    tokens: &oauth::Tokens,
    claims: &oauth::Claims,
) -> Result<(), ConnectError> {
    let mut tx = lever.db.begin().await?;
    let holder = sqlx::query_scalar!("SELECT org_id FROM lever_connections WHERE account_id = $1", claims.account_id)
        .fetch_optional(&mut *tx)
        .await?;
    if holder.is_some_and(|holder| holder != org_id) {
        return Err(ConnectError::AccountTaken);
    }
    let now = Utc::now();
    let expires_at = now + Duration::from_std(tokens.expires_in).unwrap_or(Duration::hours(1));
    let stored = sqlx::query!(
        "INSERT INTO lever_connections (org_id, account_id, status, access_token, refresh_token, access_expires_at,
                                        scopes, lever_user_id, connected_by, authorized_at, last_refreshed_at)
         VALUES ($1, $2, 'connected', $3, $4, $5, $6, $7, $8, $9, $9)
         ON CONFLICT (org_id) DO UPDATE SET
             account_id = EXCLUDED.account_id, status = 'connected', access_token = EXCLUDED.access_token,
             refresh_token = EXCLUDED.refresh_token, access_expires_at = EXCLUDED.access_expires_at,
             scopes = EXCLUDED.scopes, lever_user_id = EXCLUDED.lever_user_id, connected_by = EXCLUDED.connected_by,
             authorized_at = EXCLUDED.authorized_at, last_refreshed_at = EXCLUDED.last_refreshed_at,
             expiry_warned_at = NULL, problem = NULL, problem_since = NULL",
        org_id,
        claims.account_id,
        lever.cipher.encrypt(&tokens.access_token, &context(org_id, "access")),
        lever.cipher.encrypt(&tokens.refresh_token, &context(org_id, "refresh")),
        expires_at,
        tokens.scope,
        claims.user_id,
        user_id,
        now,
    )
    .execute(&mut *tx)
    .await;
    match stored {
        Err(e) if crate::db::unique_violation(&e).is_some() => return Err(ConnectError::AccountTaken),
        other => other?,
    };
    sqlx::query!("INSERT INTO lever_settings (org_id) VALUES ($1) ON CONFLICT DO NOTHING", org_id)
        .execute(&mut *tx)
        .await?;
    // Permissions may differ from the last connection: look for the template afresh if
    // it was refused before.
    sqlx::query!(
        "UPDATE lever_accounts SET feedback_template = NULL WHERE account_id = $1 AND feedback_template ? 'unavailable'",
        claims.account_id
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    lever.forget_token(org_id);
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("this Lever account is already connected to another organization")]
    AccountTaken,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Forgets the tokens (removing webhooks and parking work are the caller's).
pub async fn disconnect(lever: &Lever, org_id: Uuid) -> sqlx::Result<()> {
    sqlx::query!("DELETE FROM lever_connections WHERE org_id = $1", org_id).execute(&lever.db).await?;
    lever.forget_token(org_id);
    Ok(())
}

fn not_connected() -> LeverError {
    LeverError::NeedsReconnect("Lever is not connected".into())
}

/// A connection's tokens can be used only while it is `connected`.
fn usable(status: ConnectionStatus, problem: Option<String>) -> Result<(), LeverError> {
    if status == ConnectionStatus::Connected {
        return Ok(());
    }
    Err(LeverError::NeedsReconnect(problem.unwrap_or_else(|| "Lever needs reconnecting".into())))
}

fn decrypt(lever: &Lever, org_id: Uuid, which: &str, ciphertext: &str) -> Result<String, LeverError> {
    lever.cipher.decrypt(ciphertext, &context(org_id, which)).map_err(|e| {
        tracing::error!(%org_id, error = %e, "cannot decrypt the stored Lever token");
        LeverError::NeedsReconnect(format!(
            "the stored Lever credentials cannot be decrypted ({e}); was FULCRUM_SECRET_KEY changed? Reconnect Lever."
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refreshes_a_minute_early_or_a_quarter_early_for_short_tokens() {
        let now = Utc::now();
        assert_eq!(refresh_after(now + Duration::hours(1), now), now + Duration::minutes(59));
        assert_eq!(refresh_after(now + Duration::seconds(4), now), now + Duration::seconds(3));
    }
}
