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
    domain::{
        invitation::{self as lifecycle, Facts, Transition},
        invite::Standing,
        problem::Earlier,
    },
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
    pub status: Option<InvitationStatus>,
    pub opportunity_id: Option<&'a str>,
    pub assessment_id: Option<Uuid>,
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Only invitations after this one (created_at, id) in the list's order: the next page.
    pub after: Option<(DateTime<Utc>, Uuid)>,
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
           AND ($8::timestamptz IS NULL OR (i.created_at, i.id) < ($8, $9::uuid))
         ORDER BY i.created_at DESC, i.id DESC LIMIT $7"
    ))
    .bind(org_id)
    .bind(filter.status)
    .bind(filter.opportunity_id)
    .bind(filter.assessment_id)
    .bind(filter.from)
    .bind(filter.until)
    .bind(limit)
    .bind(filter.after.map(|(at, _)| at))
    .bind(filter.after.map(|(_, id)| id))
    .fetch_all(conn)
    .await
}

/// An invitation named for a list: which one, whose, and how pages call the candidate.
pub struct Named {
    pub id: Uuid,
    pub opportunity_id: String,
    pub who: String,
}

/// The organization's invitations with one of `ids`, or of one of `opportunity_ids`,
/// newest first.
pub async fn named(
    conn: &mut PgConnection,
    org_id: Uuid,
    ids: &[Uuid],
    opportunity_ids: &[String],
) -> sqlx::Result<Vec<Named>> {
    let rows = sqlx::query!(
        "SELECT id, opportunity_id, candidate_name, candidate_email
         FROM invitations WHERE org_id = $1 AND (id = ANY($2) OR opportunity_id = ANY($3))
         ORDER BY created_at DESC",
        org_id,
        ids,
        opportunity_ids,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Named {
            who: candidate_label(&r.candidate_name, &r.candidate_email).to_string(),
            id: r.id,
            opportunity_id: r.opportunity_id,
        })
        .collect())
}

/// The opportunity's newest invitation to each assessment that is open or completed: what
/// stands in the way of inviting again.
pub async fn standing(conn: &mut PgConnection, org_id: Uuid, opportunity_id: &str) -> sqlx::Result<Vec<Standing>> {
    let rows = sqlx::query!(
        "SELECT DISTINCT ON (i.assessment_id) i.assessment_id, a.name, i.stage_entered_at, i.created_at, i.deadline,
                i.completed_at
         FROM invitations i JOIN assessments a ON a.id = i.assessment_id
         WHERE i.org_id = $1 AND i.opportunity_id = $2 AND i.status IN ('invited', 'started', 'completed')
         ORDER BY i.assessment_id, i.created_at DESC",
        org_id,
        opportunity_id,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Standing {
            assessment_id: r.assessment_id,
            stage_entered_at: r.stage_entered_at,
            earlier: Earlier {
                assessment: r.name,
                sent: r.created_at,
                deadline: r.deadline,
                completed: r.completed_at,
            },
        })
        .collect())
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

/// Whether the candidate was deleted or anonymized in Lever (erased, or an invitation of
/// the opportunity cancelled for it): nothing more is written to the opportunity.
pub async fn removed_in_lever(conn: &mut PgConnection, org_id: Uuid, opportunity_id: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM erased_opportunities WHERE org_id = $1 AND opportunity_id = $2)
               OR EXISTS (SELECT 1 FROM invitations
                          WHERE org_id = $1 AND opportunity_id = $2 AND cancel_reason = 'removed') AS "removed!""#,
        org_id,
        opportunity_id
    )
    .fetch_one(conn)
    .await
}

/// The invite email went out.
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

/// Of the opportunities of `moves` (opportunity, stage, entered at), those that have any
/// invitation of the organization.
pub async fn opportunities_invited(
    conn: &mut PgConnection,
    org_id: Uuid,
    moves: &[(String, String, i64)],
) -> sqlx::Result<Vec<String>> {
    let ids: Vec<String> = moves.iter().map(|(o, _, _)| o.clone()).collect();
    sqlx::query_scalar!(
        "SELECT DISTINCT opportunity_id FROM invitations WHERE org_id = $1 AND opportunity_id = ANY($2)",
        org_id,
        &ids,
    )
    .fetch_all(conn)
    .await
}

/// An opportunity Fulcrum holds invitations for (not erased), and whether one is open.
pub struct Held {
    pub id: String,
    pub open: bool,
}

/// The organization's opportunities with invitations whose candidate was not erased.
pub async fn held_opportunities(db: &sqlx::PgPool, org_id: Uuid) -> sqlx::Result<Vec<Held>> {
    let rows = sqlx::query!(
        r#"SELECT opportunity_id, bool_or(status IN ('invited', 'started')) AS "open!"
           FROM invitations WHERE org_id = $1 AND erased_at IS NULL
           GROUP BY opportunity_id"#,
        org_id
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| Held { id: r.opportunity_id, open: r.open }).collect())
}

/// The candidate was deleted or anonymized in Lever: their name, email address and answers
/// go from every table of Fulcrum's that held them (the address also from the delivery log,
/// sent-mail records and job errors), the anonymous result (assessment, score, dates)
/// stays, and the opportunity is marked so that nothing more is written to it in Lever.
/// Call after cancelling what is open. Returns what was erased: the queue's own records
/// (job errors) are the caller's to scrub of the same words.
pub async fn erase(
    conn: &mut PgConnection,
    org_id: Uuid,
    opportunity_id: &str,
    why: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<Erased> {
    sqlx::query!(
        "INSERT INTO erased_opportunities (org_id, opportunity_id, erased_at, why) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING",
        org_id,
        opportunity_id,
        now,
        why,
    )
    .execute(&mut *conn)
    .await?;
    let people = sqlx::query!(
        "SELECT DISTINCT candidate_email, candidate_name FROM invitations
         WHERE org_id = $1 AND opportunity_id = $2 AND erased_at IS NULL",
        org_id,
        opportunity_id,
    )
    .fetch_all(&mut *conn)
    .await?;
    // Every piece of free text that may quote the candidate: an address or a name.
    let words: Vec<String> = people
        .iter()
        .flat_map(|p| [p.candidate_email.clone(), p.candidate_name.clone()])
        .filter(|w| w.trim().len() >= 3)
        .collect();
    sqlx::query!(
        "UPDATE emails e SET to_address = '', subject = '', error = NULL, send_key = NULL
         FROM invitations i WHERE e.invitation_id = i.id AND i.org_id = $1 AND i.opportunity_id = $2",
        org_id,
        opportunity_id,
    )
    .execute(&mut *conn)
    .await?;
    for word in &words {
        sqlx::query!(
            "UPDATE deliveries SET result = replace(result, $3, '(erased)')
             WHERE org_id = $1 AND opportunity_id = $2 AND strpos(result, $3) > 0",
            org_id,
            opportunity_id,
            word,
        )
        .execute(&mut *conn)
        .await?;
        sqlx::query!(
            "UPDATE invitations SET failure_reason = replace(failure_reason, $3, '(erased)'),
                                    cancel_detail = replace(cancel_detail, $3, '(erased)')
             WHERE org_id = $1 AND opportunity_id = $2
               AND (strpos(failure_reason, $3) > 0 OR strpos(cancel_detail, $3) > 0)",
            org_id,
            opportunity_id,
            word,
        )
        .execute(&mut *conn)
        .await?;
    }
    let erased = sqlx::query!(
        "UPDATE invitations SET candidate_name = '', candidate_email = '', answers = NULL, email_error = NULL,
                                erased_at = $3
         WHERE org_id = $1 AND opportunity_id = $2 AND erased_at IS NULL",
        org_id,
        opportunity_id,
        now,
    )
    .execute(&mut *conn)
    .await?;
    Ok(Erased { invitations: erased.rows_affected(), words })
}

/// What [`erase`] removed.
pub struct Erased {
    pub invitations: u64,
    /// The candidate's address and name, as they may still be quoted elsewhere.
    pub words: Vec<String>,
}
