//! The queue as organizations and pages see it: parking and resuming an organization's
//! work, the backlog and failed jobs, Retry, and pruning history.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{JobState, notify};

/// Parks an organization's queued work while its Lever connection cannot be used.
pub async fn park_org(conn: &mut PgConnection, org_id: Uuid) -> sqlx::Result<u64> {
    let parked = sqlx::query!("UPDATE jobs SET state = 'paused' WHERE org_id = $1 AND state = 'queued'", org_id)
        .execute(conn)
        .await?;
    Ok(parked.rows_affected())
}

/// Queues the parked jobs of an organization whose Lever connection works again.
pub async fn resume_org(conn: &mut PgConnection, org_id: Uuid, now: DateTime<Utc>) -> sqlx::Result<u64> {
    let resumed = sqlx::query!(
        "UPDATE jobs SET state = 'queued', run_at = $2 WHERE org_id = $1 AND state = 'paused'",
        org_id,
        now,
    )
    .execute(&mut *conn)
    .await?;
    notify(conn).await?;
    Ok(resumed.rows_affected())
}

/// Safety net for [`resume_org`]: parked jobs of connected organizations go back to the
/// queue (a job can park itself in the instant a reconnect commits).
pub(in crate::jobs) async fn resume_connected(pool: &PgPool, now: DateTime<Utc>) -> sqlx::Result<u64> {
    let resumed = sqlx::query!(
        "UPDATE jobs SET state = 'queued', run_at = $1
         WHERE state = 'paused'
           AND org_id IN (SELECT org_id FROM lever_connections WHERE status = 'connected')",
        now,
    )
    .execute(pool)
    .await?;
    Ok(resumed.rows_affected())
}

/// Deletes finished jobs past the retention window.
pub(in crate::jobs) async fn prune(pool: &PgPool, retention_days: i64) -> sqlx::Result<u64> {
    let pruned = sqlx::query!(
        "DELETE FROM jobs WHERE state = 'done' AND finished_at < now() - make_interval(days => $1)",
        retention_days as i32,
    )
    .execute(pool)
    .await?;
    Ok(pruned.rows_affected())
}

pub struct FailedJob {
    pub id: i64,
    pub kind: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub finished_at: Option<DateTime<Utc>>,
    pub payload: serde_json::Value,
}

/// An organization's failed jobs, newest first. Jobs that do not talk to Lever (emails,
/// closing invitations) carry no `org_id` column, so they are found through their payload.
pub async fn failed_jobs(pool: &PgPool, org_id: Uuid) -> sqlx::Result<Vec<FailedJob>> {
    failed(pool, org_id, None).await
}

/// The organization's failed jobs, or only job `only` if it is one of them.
async fn failed(pool: &PgPool, org_id: Uuid, only: Option<i64>) -> sqlx::Result<Vec<FailedJob>> {
    sqlx::query_as!(
        FailedJob,
        "SELECT id, kind, attempts, last_error, finished_at, payload FROM jobs
         WHERE state = 'failed' AND ($2::bigint IS NULL OR id = $2) AND (org_id = $1 OR (org_id IS NULL AND (
                   payload->>'org_id' = $1::text
                   OR payload->>'invitation_id' IN (SELECT id::text FROM invitations WHERE org_id = $1))))
         ORDER BY finished_at DESC LIMIT 200",
        org_id,
        only,
    )
    .fetch_all(pool)
    .await
}

/// Queues a failed job again with fresh attempts. False if it is not this organization's
/// failed job.
pub async fn retry_failed(pool: &PgPool, org_id: Uuid, id: i64, now: DateTime<Utc>) -> sqlx::Result<bool> {
    if failed(pool, org_id, Some(id)).await?.is_empty() {
        return Ok(false);
    }
    let retried = sqlx::query!(
        "UPDATE jobs SET state = 'queued', attempts = 0, run_at = $2, finished_at = NULL
         WHERE id = $1 AND state = 'failed'",
        id,
        now,
    )
    .execute(pool)
    .await?;
    if retried.rows_affected() > 0 {
        notify(pool).await?;
    }
    Ok(retried.rows_affected() > 0)
}

/// Where job `id` is; `None` once it is pruned.
pub(in crate::jobs) async fn state(db: &PgPool, id: i64) -> sqlx::Result<Option<JobState>> {
    sqlx::query_scalar!(r#"SELECT state AS "state: JobState" FROM jobs WHERE id = $1"#, id).fetch_optional(db).await
}

/// Unfinished jobs by state (queued, running, paused, failed): all of them, or one
/// organization's. Each count is answered from its partial index.
pub async fn backlog(db: &PgPool, org_id: Option<Uuid>) -> sqlx::Result<Vec<(JobState, i64)>> {
    let r = sqlx::query!(
        r#"SELECT (SELECT count(*) FROM jobs WHERE state = 'queued' AND ($1::uuid IS NULL OR org_id = $1)) AS "queued!",
                  (SELECT count(*) FROM jobs WHERE state = 'running' AND lease_until IS NOT NULL
                                                   AND ($1::uuid IS NULL OR org_id = $1)) AS "running!",
                  (SELECT count(*) FROM jobs WHERE state = 'paused' AND ($1::uuid IS NULL OR org_id = $1)) AS "paused!",
                  (SELECT count(*) FROM jobs WHERE state = 'failed' AND ($1::uuid IS NULL OR org_id = $1)) AS "failed!""#,
        org_id,
    )
    .fetch_one(db)
    .await?;
    Ok(vec![
        (JobState::Queued, r.queued),
        (JobState::Running, r.running),
        (JobState::Paused, r.paused),
        (JobState::Failed, r.failed),
    ])
}

/// The newest of an organization's jobs of `kinds` that is waiting, running, or failed
/// within the last hour: (kind, state, last error).
pub async fn latest_of_kinds(
    db: &PgPool,
    org_id: Uuid,
    kinds: &[&str],
) -> sqlx::Result<Option<(String, JobState, Option<String>)>> {
    let kinds: Vec<String> = kinds.iter().map(|k| k.to_string()).collect();
    let row = sqlx::query!(
        r#"SELECT kind, state AS "state: JobState", last_error FROM jobs
           WHERE org_id = $1 AND kind = ANY($2) AND (state IN ('queued', 'running') OR
                 (state = 'failed' AND finished_at > now() - interval '1 hour'))
           ORDER BY id DESC LIMIT 1"#,
        org_id,
        &kinds,
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| (r.kind, r.state, r.last_error)))
}

/// For each kind with a job due by `now` and waiting for a worker, when the oldest of them
/// was due. Read from the index of queued jobs, so the cost follows the backlog of due work.
pub async fn oldest_waiting(db: &PgPool, now: DateTime<Utc>) -> sqlx::Result<Vec<(String, DateTime<Utc>)>> {
    let rows = sqlx::query!(
        r#"SELECT kind, min(run_at) AS "due!" FROM jobs
           WHERE state = 'queued' AND run_at <= $1
           GROUP BY kind"#,
        now,
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.kind, r.due)).collect())
}

/// How many of the organization's jobs of `kinds` are due by `now` and not finished (queued
/// or running): the work a background job of lower priority gives way to.
pub async fn due_for_org(db: &PgPool, org_id: Uuid, kinds: &[&str], now: DateTime<Utc>) -> sqlx::Result<i64> {
    let kinds: Vec<String> = kinds.iter().map(|k| k.to_string()).collect();
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM jobs
           WHERE org_id = $1 AND kind = ANY($2) AND state IN ('queued', 'running') AND run_at <= $3"#,
        org_id,
        &kinds,
        now,
    )
    .fetch_one(db)
    .await
}

/// Removes `words` (a candidate's address and name, erased on Lever's word) from the errors
/// and payloads of jobs, which may quote them (a mail server's refusal, an error note's text).
pub async fn scrub_errors(conn: &mut PgConnection, org_id: Uuid, words: &[String]) -> sqlx::Result<()> {
    // A word with JSON's own special characters is left in payloads rather than risk one.
    for word in words {
        sqlx::query!(
            "UPDATE jobs SET last_error = replace(last_error, $2, '(erased)'),
                             payload = CASE WHEN strpos($2, '\"') = 0 AND strpos($2, '\\') = 0
                                            THEN replace(payload::text, $2, '(erased)')::jsonb ELSE payload END
             WHERE (org_id = $1 OR org_id IS NULL)
               AND (strpos(last_error, $2) > 0 OR strpos(payload::text, $2) > 0)",
            org_id,
            word,
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
