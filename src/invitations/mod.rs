//! The `invitations` table and the only code that writes it: creating invitations from a
//! Lever event, and applying the lifecycle transitions decided in `domain::invitation`.
//! Each transition returns the effects it causes; the caller carries them out in the same
//! transaction (`jobs::follow_up`), so the work exists exactly when the change does.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

pub use crate::domain::invitation::{
    CancelKind, CancelReason, ENGINE_GRACE, Effect, InvitationStatus, Outcome, SUBMIT_GRACE, TransitionError,
    candidate_label,
};
use crate::{
    crypto::{self, Cipher},
    domain::invitation as lifecycle,
};

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct Invitation {
    pub id: Uuid,
    pub org_id: Uuid,
    pub assessment_id: Uuid,
    pub assessment_name: String,
    pub pass_mark: i32,
    pub time_limit_minutes: i32,
    pub built_in: bool,
    pub opportunity_id: String,
    pub candidate_name: String,
    pub candidate_email: String,
    pub status: InvitationStatus,
    pub deadline: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub email_sent_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub score: Option<i32>,
    pub passed: Option<bool>,
    pub failure_reason: Option<String>,
    pub external_report_url: Option<String>,
    pub answers: Option<serde_json::Value>,
    pub perform_as: Option<String>,
    /// Why the invite email has not gone out yet, while it has not.
    pub email_error: Option<String>,
    /// Days an invitation to this assessment stays open (a reopened one gets as many).
    pub expires_after_days: i32,
    pub reminder_sent_at: Option<DateTime<Utc>>,
    pub cancel_reason: Option<CancelKind>,
    pub cancel_detail: Option<String>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub resends: i32,
    pub extensions: i32,
    pub reopens: i32,
    /// The candidate was deleted or anonymized in Lever, and their personal data erased here.
    pub erased_at: Option<DateTime<Utc>>,
}

impl Invitation {
    /// How pages name the candidate.
    pub fn who(&self) -> &str {
        candidate_label(&self.candidate_name, &self.candidate_email)
    }

    /// When a started attempt's time runs out (before any grace).
    pub fn ends_at(&self) -> Option<DateTime<Utc>> {
        self.started_at.map(|s| s + Duration::minutes(self.time_limit_minutes.into()))
    }

    /// After this, a started attempt is closed.
    pub fn close_at(&self) -> Option<DateTime<Utc>> {
        self.ends_at().map(|end| end + if self.built_in { SUBMIT_GRACE } else { ENGINE_GRACE })
    }

    /// Why it was cancelled, when it was.
    pub fn cancelled_because(&self) -> Option<CancelReason> {
        self.cancel_reason.map(|kind| CancelReason::stored(kind, self.cancel_detail.clone()))
    }
}

/// The columns of [`Invitation`], with its assessment's.
macro_rules! select_invitation {
    ($where:literal) => {
        concat!(
            "SELECT i.id, i.org_id, i.assessment_id, a.name AS assessment_name, a.pass_mark, a.time_limit_minutes,
                    jsonb_array_length(a.questions) > 0 AS built_in, i.opportunity_id, i.candidate_name,
                    i.candidate_email, i.status, i.deadline, i.created_at, i.email_sent_at, i.started_at,
                    i.completed_at, i.score, i.passed, i.failure_reason, i.external_report_url, i.answers, i.perform_as,
                    i.email_error, a.expires_after_days, i.reminder_sent_at, i.cancel_reason, i.cancel_detail,
                    i.cancelled_at, i.resends, i.extensions, i.reopens, i.erased_at
             FROM invitations i JOIN assessments a ON a.id = i.assessment_id ",
            $where
        )
    };
}

mod erase;
mod reads;
mod transitions;

pub use erase::{Erased, erase};
pub use reads::{
    Filter, ForEmail, Held, InLever, Named, for_email, held_opportunities, list, named, opportunities_invited,
    removed_in_lever, shown_in_lever, standing,
};
pub use transitions::{Error, cancel, cancel_open, complete, expire, extend, resend, start, submit};

pub async fn get(conn: &mut PgConnection, org_id: Uuid, id: Uuid) -> sqlx::Result<Option<Invitation>> {
    sqlx::query_as(select_invitation!("WHERE i.id = $1 AND i.org_id = $2"))
        .bind(id)
        .bind(org_id)
        .fetch_optional(conn)
        .await
}

/// Locks the invitation for a transition (FOR UPDATE), so two transitions of one
/// invitation never interleave.
pub async fn lock(conn: &mut PgConnection, id: Uuid) -> sqlx::Result<Option<Invitation>> {
    sqlx::query_as(select_invitation!("WHERE i.id = $1 FOR UPDATE OF i")).bind(id).fetch_optional(conn).await
}

pub async fn by_token(conn: &mut PgConnection, token: &str) -> sqlx::Result<Option<Invitation>> {
    sqlx::query_as(select_invitation!("WHERE i.token_hash = $1"))
        .bind(crypto::hash_token(token))
        .fetch_optional(conn)
        .await
}

pub struct NewInvitation<'a> {
    pub org_id: Uuid,
    pub assessment_id: Uuid,
    pub expires_after_days: i32,
    pub opportunity_id: &'a str,
    pub posting_id: Option<&'a str>,
    pub candidate_name: &'a str,
    pub candidate_email: &'a str,
    pub perform_as: Option<&'a str>,
    pub stage_entered_at: Option<i64>,
    pub delivery_id: Option<i64>,
}

/// Creates an invitation. `None` when the candidate already has a live invitation to this
/// assessment; otherwise its id and the effects to carry out (the email, reminder, expiry).
pub async fn create(
    conn: &mut PgConnection,
    cipher: &Cipher,
    now: DateTime<Utc>,
    remind_hours: i64,
    new: &NewInvitation<'_>,
) -> sqlx::Result<Option<(Uuid, Vec<Effect>)>> {
    let id = Uuid::new_v4();
    let token = crypto::random_token(24);
    let deadline = now + Duration::days(new.expires_after_days.into());
    let transition = lifecycle::create(now, deadline, remind_hours);
    let inserted = sqlx::query_scalar!(
        "INSERT INTO invitations (id, org_id, assessment_id, opportunity_id, posting_id, candidate_name, candidate_email,
                                  token_hash, token_sealed, deadline, perform_as, stage_entered_at, delivery_id, created_at,
                                  status)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
         ON CONFLICT (org_id, opportunity_id, assessment_id) WHERE status IN ('invited', 'started') DO NOTHING
         RETURNING id",
        id,
        new.org_id,
        new.assessment_id,
        new.opportunity_id,
        new.posting_id,
        new.candidate_name,
        new.candidate_email,
        crypto::hash_token(&token),
        cipher.encrypt(&token, &link_context(id)),
        deadline,
        new.perform_as,
        new.stage_entered_at,
        new.delivery_id,
        now,
        transition.to.unwrap_or(InvitationStatus::Invited) as _,
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(inserted.map(|id| (id, transition.effects)))
}

fn link_context(id: Uuid) -> String {
    format!("invite-link:{id}")
}

/// The candidate's link, for emails.
pub fn link(cipher: &Cipher, public_url: &str, sealed: &str, id: Uuid) -> anyhow::Result<String> {
    let token = cipher.decrypt(sealed, &link_context(id))?;
    Ok(format!("{public_url}/a/{token}"))
}

pub fn report_url(public_url: &str, id: Uuid) -> String {
    format!("{public_url}/app/invitations/{id}")
}

pub async fn mark_email_sent(conn: &mut PgConnection, id: Uuid) -> sqlx::Result<()> {
    sqlx::query!("UPDATE invitations SET email_sent_at = now(), email_error = NULL WHERE id = $1", id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The invite email did not go out yet, and why (shown on the dashboard).
pub async fn mark_email_failed(conn: &mut PgConnection, id: Uuid, why: &str) -> sqlx::Result<()> {
    sqlx::query!("UPDATE invitations SET email_error = $2 WHERE id = $1", id, why).execute(conn).await?;
    Ok(())
}

/// The reminder went out.
pub async fn mark_reminded(conn: &mut PgConnection, id: Uuid) -> sqlx::Result<()> {
    sqlx::query!("UPDATE invitations SET reminder_sent_at = now() WHERE id = $1", id).execute(conn).await?;
    Ok(())
}
