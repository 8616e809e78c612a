//! The lifecycle transitions of one invitation, as decided in `domain::invitation`, written
//! here and nowhere else.

use chrono::{DateTime, Duration, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{CancelReason, Effect, Invitation, InvitationStatus, Outcome, TransitionError, removed_in_lever};
use crate::domain::invitation::{self as lifecycle, Facts, Transition};

/// Why a transition did not happen.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The invitation's state does not allow it.
    #[error(transparent)]
    Refused(#[from] TransitionError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl Invitation {
    fn facts(&self) -> Facts<'_> {
        Facts {
            status: self.status,
            deadline: self.deadline,
            time_limit_minutes: self.time_limit_minutes,
            built_in: self.built_in,
            recorded: match (self.score, self.passed) {
                (Some(score), Some(passed)) => Some(Outcome {
                    score,
                    passed,
                    failure_reason: self.failure_reason.as_deref(),
                    report_url: self.external_report_url.as_deref(),
                }),
                _ => None,
            },
            reminded: self.reminder_sent_at.is_some(),
            resends: self.resends,
            extensions: self.extensions,
        }
    }
}

/// Marks the invitation started (a no-op if it already is). Refused past the deadline.
pub async fn start(conn: &mut PgConnection, inv: &Invitation, now: DateTime<Utc>) -> Result<Vec<Effect>, Error> {
    let Transition { to, effects, .. } = lifecycle::start(&inv.facts(), now)?;
    if let Some(to) = to {
        sqlx::query!("UPDATE invitations SET status = $2, started_at = $3 WHERE id = $1", inv.id, to as _, now)
            .execute(&mut *conn)
            .await?;
    }
    Ok(effects)
}

/// Records the result. The same result again is a no-op; a different one is refused.
pub async fn complete(
    conn: &mut PgConnection,
    inv: &Invitation,
    outcome: &Outcome<'_>,
    now: DateTime<Utc>,
) -> Result<Vec<Effect>, Error> {
    let transition = lifecycle::complete(&inv.facts(), outcome)?;
    record_result(conn, inv, transition, outcome, None, now).await
}

/// The candidate's answers, graded by the built-in runner (refused for an assessment an
/// external engine grades).
pub async fn submit(
    conn: &mut PgConnection,
    inv: &Invitation,
    outcome: &Outcome<'_>,
    answers: &serde_json::Value,
    now: DateTime<Utc>,
) -> Result<Vec<Effect>, Error> {
    let transition = lifecycle::submit(&inv.facts(), outcome)?;
    record_result(conn, inv, transition, outcome, Some(answers), now).await
}

async fn record_result(
    conn: &mut PgConnection,
    inv: &Invitation,
    Transition { to, effects, .. }: Transition,
    outcome: &Outcome<'_>,
    answers: Option<&serde_json::Value>,
    now: DateTime<Utc>,
) -> Result<Vec<Effect>, Error> {
    if let Some(to) = to {
        sqlx::query!(
            "UPDATE invitations SET status = $8, completed_at = $2, started_at = coalesce(started_at, $2),
                    score = $3, passed = $4, failure_reason = $5, external_report_url = $6, answers = $7
             WHERE id = $1",
            inv.id,
            now,
            outcome.score,
            outcome.passed,
            outcome.failure_reason,
            outcome.report_url,
            answers,
            to as _,
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(effects)
}

/// Closes an invitation whose time is up.
pub async fn expire(
    conn: &mut PgConnection,
    inv: &Invitation,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Effect>, Error> {
    let Transition { to, effects, .. } = lifecycle::expire(&inv.facts())?;
    if let Some(to) = to {
        sqlx::query!(
            "UPDATE invitations SET status = $4, completed_at = $2, failure_reason = $3 WHERE id = $1",
            inv.id,
            now,
            reason,
            to as _,
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(effects)
}

/// Cancels an open invitation, keeping why; refused once it is finished (a second cancel
/// included). The effects show the cancel in Lever when the reason calls for it.
pub async fn cancel(
    conn: &mut PgConnection,
    inv: &Invitation,
    reason: &CancelReason,
    now: DateTime<Utc>,
) -> Result<Vec<Effect>, Error> {
    let Transition { to, effects, .. } = lifecycle::cancel(&inv.facts(), reason)?;
    if let Some(to) = to {
        // A refused email is also why the invite is not out, as the dashboard shows.
        let refused = match reason {
            CancelReason::EmailRefused { error } => Some(error.as_str()),
            _ => None,
        };
        sqlx::query!(
            "UPDATE invitations SET status = $2, cancel_reason = $3, cancel_detail = $4, cancelled_at = $5,
                    email_error = coalesce($6, email_error), failure_reason = coalesce($6, failure_reason)
             WHERE id = $1",
            inv.id,
            to as _,
            reason.kind() as _,
            reason.detail(),
            now,
            refused,
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(effects)
}

/// Cancels every open (invited or started) invitation of the opportunity, for `reason`;
/// finished ones stay as they are. Returns each cancelled invitation with the effects the
/// caller carries out in the same transaction (`jobs::kinds::follow_up`).
pub async fn cancel_open(
    conn: &mut PgConnection,
    org_id: Uuid,
    opportunity_id: &str,
    reason: &CancelReason,
    now: DateTime<Utc>,
) -> sqlx::Result<Vec<(Uuid, Vec<Effect>)>> {
    let open: Vec<Invitation> = sqlx::query_as(select_invitation!(
        "WHERE i.org_id = $1 AND i.opportunity_id = $2 AND i.status IN ('invited', 'started')
         ORDER BY i.created_at FOR UPDATE OF i"
    ))
    .bind(org_id)
    .bind(opportunity_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut cancelled = Vec::with_capacity(open.len());
    for inv in &open {
        match cancel(conn, inv, reason, now).await {
            Ok(effects) => cancelled.push((inv.id, effects)),
            // Locked above while open: cannot happen, and would leave it as it is.
            Err(Error::Refused(_)) => {}
            Err(Error::Database(e)) => return Err(e),
        }
    }
    Ok(cancelled)
}

/// Sends the invite again with the same link; an expired invitation reopens with a new
/// deadline (its assessment's days from `now`). Refused once started, completed or
/// cancelled, and for an expired one when the candidate has a newer open invitation to the
/// same assessment.
pub async fn resend(
    conn: &mut PgConnection,
    inv: &Invitation,
    remind_hours: i64,
    now: DateTime<Utc>,
) -> Result<Vec<Effect>, Error> {
    // Nobody is emailed again once Lever no longer has them.
    if removed_in_lever(conn, inv.org_id, &inv.opportunity_id).await? {
        return Err(Error::Refused(TransitionError::RemovedInLever));
    }
    let reopen_until = now + Duration::days(inv.expires_after_days.into());
    let Transition { to, deadline, effects } = lifecycle::resend(&inv.facts(), now, reopen_until, remind_hours)?;
    match deadline {
        None => {
            sqlx::query!("UPDATE invitations SET resends = resends + 1 WHERE id = $1", inv.id)
                .execute(&mut *conn)
                .await?;
        }
        // Reopened: a new round, from the start.
        Some(deadline) => {
            let reopened = sqlx::query!(
                "UPDATE invitations SET status = $2, deadline = $3, resends = resends + 1, reopens = reopens + 1,
                        started_at = NULL, completed_at = NULL, failure_reason = NULL, reminder_sent_at = NULL
                 WHERE id = $1",
                inv.id,
                to.unwrap_or(InvitationStatus::Invited) as _,
                deadline,
            )
            .execute(&mut *conn)
            .await;
            if let Err(e) = &reopened
                && crate::db::unique_violation(e).is_some()
            {
                return Err(Error::Refused(TransitionError::Superseded));
            }
            reopened?;
        }
    }
    Ok(effects)
}

/// Gives a waiting candidate `by` more time before the deadline.
pub async fn extend(
    conn: &mut PgConnection,
    inv: &Invitation,
    by: Duration,
    remind_hours: i64,
    now: DateTime<Utc>,
) -> Result<Vec<Effect>, Error> {
    let Transition { deadline, effects, .. } = lifecycle::extend(&inv.facts(), by, now, remind_hours)?;
    if let Some(deadline) = deadline {
        sqlx::query!(
            "UPDATE invitations SET deadline = $2, extensions = extensions + 1 WHERE id = $1",
            inv.id,
            deadline
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(effects)
}
