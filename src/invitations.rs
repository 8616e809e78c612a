//! Invitations: creating them from a Lever event, and the lifecycle transitions (start,
//! result, expiry) shared by the candidate pages, the REST API and the jobs. Each
//! transition queues, in the same transaction, the work it causes: the Lever sync, emails,
//! the job that closes the invitation when its time is up.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{
    app::AppState,
    crypto,
    jobs::{
        self,
        kinds::{close::CloseInvitation, email::SendEmail, sync::SyncOpportunity},
    },
};

/// Built-in runner: answers may arrive this long after the time limit (the page submits
/// itself at the limit, counting from the server's clock; the network takes a moment).
pub const SUBMIT_GRACE: Duration = Duration::seconds(15);
/// External engines report results after grading; they get a day past the time limit.
pub const ENGINE_GRACE: Duration = Duration::hours(24);

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
    pub status: String,
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
}

impl Invitation {
    /// When a started attempt's time runs out (before any grace).
    pub fn ends_at(&self) -> Option<DateTime<Utc>> {
        self.started_at.map(|s| s + Duration::minutes(self.time_limit_minutes.into()))
    }

    /// After this, a started attempt is closed.
    pub fn close_at(&self) -> Option<DateTime<Utc>> {
        self.ends_at().map(|end| end + if self.built_in { SUBMIT_GRACE } else { ENGINE_GRACE })
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
                    i.email_error
             FROM invitations i JOIN assessments a ON a.id = i.assessment_id ",
            $where
        )
    };
}

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

/// Which invitations a list shows; every field optional.
#[derive(Debug, Default)]
pub struct Filter<'a> {
    pub status: Option<&'a str>,
    pub opportunity_id: Option<&'a str>,
    pub assessment_id: Option<Uuid>,
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// The organization's invitations matching `filter`, newest first.
pub async fn list(
    conn: &mut PgConnection,
    org_id: Uuid,
    filter: &Filter<'_>,
    limit: i64,
) -> sqlx::Result<Vec<Invitation>> {
    sqlx::query_as(select_invitation!(
        "WHERE i.org_id = $1 AND ($2::text IS NULL OR i.status = $2) AND ($3::text IS NULL OR i.opportunity_id = $3)
           AND ($4::uuid IS NULL OR i.assessment_id = $4) AND ($5::timestamptz IS NULL OR i.created_at >= $5)
           AND ($6::timestamptz IS NULL OR i.created_at < $6)
         ORDER BY i.created_at DESC LIMIT $7"
    ))
    .bind(org_id)
    .bind(filter.status)
    .bind(filter.opportunity_id)
    .bind(filter.assessment_id)
    .bind(filter.from)
    .bind(filter.until)
    .bind(limit)
    .fetch_all(conn)
    .await
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

/// Creates an invitation and queues its email, its reminder and its expiry. `None` when
/// the candidate already has a live invitation to this assessment.
pub async fn create(state: &AppState, conn: &mut PgConnection, new: &NewInvitation<'_>) -> sqlx::Result<Option<Uuid>> {
    let id = Uuid::new_v4();
    let token = crypto::random_token(24);
    let now = state.clock.now();
    let deadline = now + Duration::days(new.expires_after_days.into());
    let inserted = sqlx::query_scalar!(
        "INSERT INTO invitations (id, org_id, assessment_id, opportunity_id, posting_id, candidate_name, candidate_email,
                                  token_hash, token_sealed, deadline, perform_as, stage_entered_at, delivery_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
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
        state.cipher.encrypt(&token, &link_context(id)),
        deadline,
        new.perform_as,
        new.stage_entered_at,
        new.delivery_id,
        now,
    )
    .fetch_optional(&mut *conn)
    .await?;
    if inserted.is_none() {
        return Ok(None);
    }
    jobs::enqueue(conn, &SendEmail::Invite { invitation_id: id }, now).await?;
    let reminder_at = deadline - Duration::hours(state.settings.email.reminder_hours_before_deadline);
    if reminder_at > now + Duration::hours(1) {
        jobs::enqueue_at(conn, &SendEmail::Reminder { invitation_id: id }, reminder_at).await?;
    }
    jobs::enqueue_at(conn, &CloseInvitation { invitation_id: id }, deadline).await?;
    Ok(Some(id))
}

fn link_context(id: Uuid) -> String {
    format!("invite-link:{id}")
}

/// The candidate's link, for emails.
pub fn link(state: &AppState, sealed: &str, id: Uuid) -> anyhow::Result<String> {
    let token = state.cipher.decrypt(sealed, &link_context(id))?;
    Ok(format!("{}/a/{token}", state.settings.public_url()))
}

pub fn report_url(state: &AppState, id: Uuid) -> String {
    format!("{}/app/invitations/{id}", state.settings.public_url())
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TransitionError {
    #[error("this invitation has expired")]
    Expired,
    #[error("this invitation was cancelled")]
    Cancelled,
    #[error("this assessment was already submitted")]
    AlreadyCompleted,
    #[error("the assessment has not been started")]
    NotStarted,
    #[error("a different result was already recorded")]
    ConflictingResult,
}

fn check_open(inv: &Invitation) -> Result<(), TransitionError> {
    match inv.status.as_str() {
        "expired" => Err(TransitionError::Expired),
        "cancelled" => Err(TransitionError::Cancelled),
        "completed" => Err(TransitionError::AlreadyCompleted),
        _ => Ok(()),
    }
}

/// Marks the invitation started (a no-op if it already is). Refused past the deadline.
pub async fn start(
    state: &AppState,
    conn: &mut PgConnection,
    inv: &Invitation,
) -> sqlx::Result<Result<(), TransitionError>> {
    if let Err(e) = check_open(inv) {
        return Ok(Err(e));
    }
    if inv.status == "started" {
        return Ok(Ok(()));
    }
    let now = state.clock.now();
    if now >= inv.deadline {
        return Ok(Err(TransitionError::Expired));
    }
    sqlx::query!("UPDATE invitations SET status = 'started', started_at = $2 WHERE id = $1", inv.id, now)
        .execute(&mut *conn)
        .await?;
    let close_at =
        now + Duration::minutes(inv.time_limit_minutes.into()) + if inv.built_in { SUBMIT_GRACE } else { ENGINE_GRACE };
    jobs::enqueue_at(conn, &CloseInvitation { invitation_id: inv.id }, close_at).await?;
    sync_later(state, conn, inv).await?;
    Ok(Ok(()))
}

pub struct Outcome<'a> {
    pub score: i32,
    pub passed: bool,
    pub failure_reason: Option<&'a str>,
    pub report_url: Option<&'a str>,
    pub answers: Option<&'a serde_json::Value>,
}

/// Records the result. The same result again is a no-op; a different one is refused.
pub async fn complete(
    state: &AppState,
    conn: &mut PgConnection,
    inv: &Invitation,
    outcome: &Outcome<'_>,
) -> sqlx::Result<Result<(), TransitionError>> {
    if inv.status == "completed" {
        let same = inv.score == Some(outcome.score)
            && inv.passed == Some(outcome.passed)
            && inv.failure_reason.as_deref() == outcome.failure_reason
            && inv.external_report_url.as_deref() == outcome.report_url;
        return Ok(if same { Ok(()) } else { Err(TransitionError::ConflictingResult) });
    }
    if let Err(e) = check_open(inv) {
        return Ok(Err(e));
    }
    let now = state.clock.now();
    sqlx::query!(
        "UPDATE invitations SET status = 'completed', completed_at = $2, started_at = coalesce(started_at, $2),
                score = $3, passed = $4, failure_reason = $5, external_report_url = $6, answers = $7
         WHERE id = $1",
        inv.id,
        now,
        outcome.score,
        outcome.passed,
        outcome.failure_reason,
        outcome.report_url,
        outcome.answers,
    )
    .execute(&mut *conn)
    .await?;
    jobs::enqueue(conn, &SendEmail::ResultReady { invitation_id: inv.id }, now).await?;
    sync_later(state, conn, inv).await?;
    Ok(Ok(()))
}

/// Closes an invitation whose time is up.
pub async fn expire(state: &AppState, conn: &mut PgConnection, inv: &Invitation, reason: &str) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE invitations SET status = 'expired', completed_at = $2, failure_reason = $3 WHERE id = $1",
        inv.id,
        state.clock.now(),
        reason,
    )
    .execute(&mut *conn)
    .await?;
    sync_later(state, conn, inv).await
}

/// Queues the Lever update for the invitation's opportunity.
pub async fn sync_later(state: &AppState, conn: &mut PgConnection, inv: &Invitation) -> sqlx::Result<()> {
    let job = SyncOpportunity { org_id: inv.org_id, opportunity_id: inv.opportunity_id.clone() };
    jobs::enqueue(conn, &job, state.clock.now()).await?;
    Ok(())
}
