//! One message, sent at most once.
//!
//! An email is the one effect that cannot be read back before it is repeated (a note in
//! Lever can: `lever::writes`). So the send is recorded in `emails` as 'sending', durably,
//! before the message goes to the mail server, and the row becomes 'sent' or 'failed' with
//! the server's answer. The queue's own bookkeeping may forget a claim or a completion in a
//! database crash and run the job again; the job then finds the record:
//!
//! - 'sent': nothing to do.
//! - 'sending', recently: another attempt is waiting for the mail server's answer (or for
//!   the database, to record it). Wait for it.
//! - 'sending', long ago: the attempt that sent it was lost between handing the message
//!   over and recording the answer (its process died). The message may or may not have
//!   gone. It is not sent again on its own (nobody gets it twice); the record becomes
//!   'unknown' and the job fails with that explanation, shown on the Jobs page, where
//!   Retry sends it again. At most once in that window, and visibly so.

use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{
    backoff::backoff,
    db,
    email::{Email, MailError, templates::Rendered},
    jobs::Env,
};

/// How long a 'sending' record may stand before its sender is taken to be gone: longer
/// than the mail server's timeout (20 s) plus [`RECORD_FOR`].
const ORPHANED_AFTER: Duration = Duration::from_secs(60);

/// How long a sender keeps trying to record the mail server's answer while the database
/// is away (a restart or failover), so that the answer is not lost with it.
const RECORD_FOR: Duration = Duration::from_secs(30);

/// One message to one recipient. `scope` with `kind` and `to` names it: the invitation it
/// is about, or the job that sends it.
pub(in crate::jobs::kinds) struct Message<'a> {
    pub org_id: Uuid,
    pub invitation_id: Option<Uuid>,
    pub kind: &'a str,
    pub scope: String,
    pub to: &'a str,
}

/// Why a message was not (known to be) sent.
#[derive(Debug)]
pub(in crate::jobs::kinds) enum Undelivered {
    /// The mail server's answer, or trouble reaching it.
    Mail(MailError),
    /// Another attempt is sending it now: look again after this long.
    InProgress(Duration),
    /// An earlier attempt may have sent it; what to tell people.
    Uncertain(String),
    Database(sqlx::Error),
}

impl From<sqlx::Error> for Undelivered {
    fn from(e: sqlx::Error) -> Self {
        Self::Database(e)
    }
}

/// Sends `rendered` as `message` unless it was sent, or may have been.
pub(in crate::jobs::kinds) async fn deliver(
    env: &Env,
    message: &Message<'_>,
    rendered: &Rendered,
) -> Result<(), Undelivered> {
    let key = format!("{}:{}:{}", message.kind, message.scope, message.to);
    let recorded = sqlx::query!(
        "SELECT id, status, created_at FROM emails WHERE send_key = $1 AND status IN ('sending', 'sent')",
        key
    )
    .fetch_optional(&env.db)
    .await?;
    if let Some(row) = recorded {
        if row.status == "sent" {
            return Ok(());
        }
        return Err(unanswered(env, message, row.id, row.created_at).await?);
    }
    let Some(id) = start_sending(env, message, &key, &rendered.subject).await? else {
        // Another attempt recorded it a moment ago.
        return Err(Undelivered::InProgress(Duration::from_secs(5)));
    };
    let email = Email {
        to: message.to.into(),
        subject: rendered.subject.clone(),
        text: rendered.text.clone(),
        html: rendered.html.clone(),
    };
    let started = std::time::Instant::now();
    match env.mailer.send(&env.settings.email.from, &email).await {
        Ok(()) => {
            env.metrics.email("sent", started.elapsed());
            record(env, id, "sent", None).await?;
            Ok(())
        }
        Err(e) => {
            env.metrics.email("failed", started.elapsed());
            record(env, id, "failed", Some(e.to_string())).await?;
            Err(Undelivered::Mail(e))
        }
    }
}

/// A 'sending' record with no answer: wait for its sender, or, when it is long gone, mark
/// the message as possibly sent.
async fn unanswered(env: &Env, message: &Message<'_>, id: Uuid, since: DateTime<Utc>) -> sqlx::Result<Undelivered> {
    let age = (env.clock.now() - since).to_std().unwrap_or_default();
    if age < ORPHANED_AFTER {
        return Ok(Undelivered::InProgress(ORPHANED_AFTER - age));
    }
    let why = format!(
        "the {} email to {} may not have been sent: an attempt handed it to the mail server at {} \
         and stopped before the server's answer was recorded (a crash). It is not sent again \
         automatically, so that nobody receives it twice; Retry sends it again.",
        message.kind,
        message.to,
        since.format("%Y-%m-%d %H:%M:%S UTC"),
    );
    sqlx::query!("UPDATE emails SET status = 'unknown', error = $2 WHERE id = $1 AND status = 'sending'", id, why)
        .execute(&env.db)
        .await?;
    Ok(Undelivered::Uncertain(why))
}

/// Records the message as being sent, flushed to disk whatever the server's default, before
/// it goes out. `None` if another attempt holds it.
async fn start_sending(env: &Env, message: &Message<'_>, key: &str, subject: &str) -> sqlx::Result<Option<Uuid>> {
    let mut tx = env.db.begin().await?;
    sqlx::query("SET LOCAL synchronous_commit = on").execute(&mut *tx).await?;
    let id = sqlx::query_scalar!(
        "INSERT INTO emails (org_id, invitation_id, kind, to_address, subject, status, send_key)
         VALUES ($1, $2, $3, $4, $5, 'sending', $6)
         ON CONFLICT (send_key) WHERE status IN ('sending', 'sent') DO NOTHING
         RETURNING id",
        message.org_id,
        message.invitation_id,
        message.kind,
        message.to,
        subject,
        key,
    )
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Records the mail server's answer, waiting out a database restart for a while: the answer
/// is known only here, and a lost 'sent' would later read as "may not have been sent".
async fn record(env: &Env, id: Uuid, status: &str, error: Option<String>) -> sqlx::Result<()> {
    let deadline = tokio::time::Instant::now() + RECORD_FOR;
    let mut round = 1;
    loop {
        let recorded = sqlx::query!("UPDATE emails SET status = $2, error = $3 WHERE id = $1", id, status, error)
            .execute(&env.db)
            .await;
        match recorded {
            Ok(_) => return Ok(()),
            // A later attempt already sent it again after this one was written off: this
            // message stays on record as it is.
            Err(e) if db::unique_violation(&e).is_some() => return Ok(()),
            Err(e) if db::is_unavailable(&e) && tokio::time::Instant::now() < deadline => {
                tracing::info!(error = %e, "recording an email's outcome; waiting for the database");
                tokio::time::sleep(backoff(round, Duration::from_millis(200), Duration::from_secs(2))).await;
                round += 1;
            }
            Err(e) => return Err(e),
        }
    }
}
