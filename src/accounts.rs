//! Links emailed about an account — confirm an address, reset a password, join a team —
//! and how often such emails may go to one address.
//!
//! A link carries a random secret of 256 bits. Only its SHA-256 is kept for checking
//! visits, plus a copy encrypted under the secret key until the email carrying it has gone
//! out (a retried send needs it, nothing later does). A link works once, expires, and a
//! newer link of the same purpose for the same person replaces it.

use chrono::{DateTime, Duration, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{crypto, crypto::Cipher, domain::email::EmailAddress};

crate::domain::text_enum! {
    /// What a link does; stored as text in `account_links.purpose`.
    pub enum Purpose {
        VerifyEmail = "verify_email",
        ResetPassword = "reset_password",
        JoinTeam = "join_team",
    }
}

impl Purpose {
    /// Where the link leads; the secret is the last path segment.
    pub fn path(self) -> &'static str {
        match self {
            Self::VerifyEmail => "/signup/verify/",
            Self::ResetPassword => "/password/reset/",
            Self::JoinTeam => "/join/",
        }
    }
}

/// Whom a link is for: an existing user, or (to join a team) an invite.
#[derive(Clone, Copy, Debug)]
pub enum Owner {
    User(Uuid),
    Invite(Uuid),
}

impl Owner {
    fn ids(self) -> (Option<Uuid>, Option<Uuid>) {
        match self {
            Self::User(id) => (Some(id), None),
            Self::Invite(id) => (None, Some(id)),
        }
    }
}

/// A link as stored, without its secret.
#[derive(Clone, Debug)]
pub struct Link {
    pub id: Uuid,
    pub purpose: Purpose,
    pub user_id: Option<Uuid>,
    pub invite_id: Option<Uuid>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

/// What a visited link turned out to be.
#[derive(Debug)]
pub enum Found {
    Valid(Link),
    Used(Link),
    Expired(Link),
    /// Never issued, mistyped, replaced by a newer link, or withdrawn.
    Unknown,
}

fn context(id: Uuid) -> String {
    format!("account-link:{id}")
}

/// Makes a new link for `owner`, in the caller's transaction, and returns its id for the
/// job that emails it. An unused earlier link of the same purpose for the same owner stops
/// working: only the newest email's link does.
pub async fn issue(
    conn: &mut PgConnection,
    cipher: &Cipher,
    purpose: Purpose,
    owner: Owner,
    lifetime: Duration,
    now: DateTime<Utc>,
) -> sqlx::Result<Uuid> {
    let (user_id, invite_id) = owner.ids();
    sqlx::query!(
        "DELETE FROM account_links
         WHERE purpose = $1 AND used_at IS NULL AND (user_id = $2 OR invite_id = $3)",
        purpose as _,
        user_id,
        invite_id,
    )
    .execute(&mut *conn)
    .await?;
    let id = Uuid::new_v4();
    let token = crypto::random_token(32);
    sqlx::query!(
        "INSERT INTO account_links (id, purpose, user_id, invite_id, token_hash, token_sealed, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        id,
        purpose as _,
        user_id,
        invite_id,
        crypto::hash_token(&token),
        cipher.encrypt(&token, &context(id)),
        now,
        now + lifetime,
    )
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

/// What the link with secret `token` is, without using it up (to show its page).
pub async fn find(conn: &mut PgConnection, token: &str, purpose: Purpose, now: DateTime<Utc>) -> sqlx::Result<Found> {
    let link = sqlx::query_as!(
        Link,
        r#"SELECT id, purpose AS "purpose: Purpose", user_id, invite_id, expires_at, used_at
           FROM account_links WHERE token_hash = $1 AND purpose = $2"#,
        crypto::hash_token(token),
        purpose as _,
    )
    .fetch_optional(conn)
    .await?;
    Ok(match link {
        None => Found::Unknown,
        Some(link) if link.used_at.is_some() => Found::Used(link),
        Some(link) if link.expires_at <= now => Found::Expired(link),
        Some(link) => Found::Valid(link),
    })
}

/// Uses the link up, in the caller's transaction: `Valid` for exactly one caller, however
/// many follow it at once; the others learn why not.
pub async fn use_up(conn: &mut PgConnection, token: &str, purpose: Purpose, now: DateTime<Utc>) -> sqlx::Result<Found> {
    let used = sqlx::query_as!(
        Link,
        r#"UPDATE account_links SET used_at = $3, token_sealed = NULL
           WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3
           RETURNING id, purpose AS "purpose: Purpose", user_id, invite_id, expires_at, used_at"#,
        crypto::hash_token(token),
        purpose as _,
        now,
    )
    .fetch_optional(&mut *conn)
    .await?;
    match used {
        Some(link) => Ok(Found::Valid(link)),
        None => find(conn, token, purpose, now).await,
    }
}

/// A link whose email has not gone out yet, its secret still sealed.
pub struct Unsent {
    pub link: Link,
    sealed: String,
}

impl Unsent {
    /// The full URL for the email.
    pub fn url(&self, cipher: &Cipher, public_url: &str) -> Result<String, crypto::DecryptError> {
        let token = cipher.decrypt(&self.sealed, &context(self.link.id))?;
        Ok(format!("{public_url}{}{token}", self.link.purpose.path()))
    }
}

/// The link to put in an email: `None` once it is used, expired, replaced or already sent.
pub async fn unsent(conn: &mut PgConnection, id: Uuid, now: DateTime<Utc>) -> sqlx::Result<Option<Unsent>> {
    let row = sqlx::query!(
        r#"SELECT id, purpose AS "purpose: Purpose", user_id, invite_id, expires_at, used_at, token_sealed AS "sealed!"
           FROM account_links
           WHERE id = $1 AND token_sealed IS NOT NULL AND used_at IS NULL AND expires_at > $2"#,
        id,
        now,
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|row| Unsent {
        link: Link {
            id: row.id,
            purpose: row.purpose,
            user_id: row.user_id,
            invite_id: row.invite_id,
            expires_at: row.expires_at,
            used_at: row.used_at,
        },
        sealed: row.sealed,
    }))
}

/// The link's email went out: its secret is no longer kept in any form but its hash.
pub async fn mark_sent(conn: &mut PgConnection, id: Uuid) -> sqlx::Result<()> {
    sqlx::query!("UPDATE account_links SET token_sealed = NULL WHERE id = $1", id).execute(conn).await?;
    Ok(())
}

/// Whether an account email of `kind` may go to `address` now: at most one per
/// `cooldown`. Claims the turn when it may, so of several requests at once one wins.
pub async fn may_email(
    conn: &mut PgConnection,
    address: &EmailAddress,
    kind: &str,
    cooldown: Duration,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let claimed = sqlx::query_scalar!(
        r#"INSERT INTO account_email_cooldowns (address, purpose, sent_at) VALUES (lower($1), $2, $3)
           ON CONFLICT (address, purpose) DO UPDATE SET sent_at = EXCLUDED.sent_at
               WHERE account_email_cooldowns.sent_at <= $4
           RETURNING true AS "claimed!""#,
        address.as_str(),
        kind,
        now,
        now - cooldown,
    )
    .fetch_optional(conn)
    .await?;
    Ok(claimed.is_some())
}

/// A link secret as it appears in a URL: URL-safe base64 of a sane length. Anything else
/// names no link, and is answered 404 before any lookup.
#[derive(Clone)]
pub struct LinkToken(String);

impl LinkToken {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for LinkToken {
    type Err = ();

    fn from_str(text: &str) -> Result<Self, ()> {
        let sane = (20..=100).contains(&text.len())
            && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if sane { Ok(Self(text.to_string())) } else { Err(()) }
    }
}

/// Never printed: it is a secret.
impl std::fmt::Debug for LinkToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkToken([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_tokens_look_like_the_secrets_fulcrum_makes() {
        let made = crypto::random_token(32);
        assert_eq!(made.parse::<LinkToken>().unwrap().as_str(), made);
        for bad in ["", "short", "has spaces in it and is long enough", "../../etc/passwd/and/more/to/be/long"] {
            assert!(bad.parse::<LinkToken>().is_err(), "{bad:?}");
        }
        assert!("x".repeat(101).parse::<LinkToken>().is_err());
    }

    #[test]
    fn each_purpose_has_its_own_path() {
        let paths: Vec<&str> = Purpose::ALL.iter().map(|p| p.path()).collect();
        assert_eq!(paths, ["/signup/verify/", "/password/reset/", "/join/"]);
    }
}
