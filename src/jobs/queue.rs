//! The queue's SQL. Every state change after a claim names the lease it was claimed under,
//! so a worker that lost its lease (and whose job someone else now runs) changes nothing.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool, postgres::PgPoolOptions};
use uuid::Uuid;

use super::JobState;

mod organizations;
pub use organizations::*;

/// Connections for the queue's own bookkeeping (claim, complete, fail, leases, reaping),
/// apart from the pool jobs use, so a busy job cannot starve the claim loop of a
/// connection. Four session settings make them fit the work:
///
/// - The planner stays on indexes. A queue table's statistics are nearly always stale
///   (empty a moment ago, 100,000 rows now); planned from them, a claim sorts every queued
///   job, costing more the longer the queue is, just when it has to drain fastest. Every
///   statement here has an index that fits it, so a plan without one is never right.
/// - No JIT compilation. A plan that keeps a sequential scan of a small table (the claim
///   reads two) carries the huge cost that keeps the planner off such scans, which is far
///   above the JIT threshold: every claim was compiled afresh, tens of milliseconds each.
/// - Plans are made once per connection (generic): re-planning the claim cost more than
///   running it.
/// - Commits do not wait for the WAL flush. A database crash can then forget the last
///   moments of bookkeeping, which only means a job runs again: it reverts to queued, or
///   to running until its lease runs out. Jobs must tolerate running again anyway (a worker
///   can die after the work, before the record), and what a job itself writes (its effects,
///   `lever_writes`, jobs it enqueues) goes through the main pool, durable as always, as
///   does every enqueue. Waiting for a flush on each claim and each completion was a third
///   of the queue's throughput.
pub(super) fn pool(db: &PgPool) -> PgPool {
    let options = (*db.connect_options()).clone().application_name("fulcrum-queue");
    // Set after connecting rather than as startup options, which a connection pooler in
    // front of PostgreSQL (PgBouncer) refuses or drops.
    PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(db.options().get_acquire_timeout())
        .after_connect(|conn, _| {
            Box::pin(async move {
                sqlx::raw_sql(
                    "SET enable_seqscan = off; SET enable_bitmapscan = off; SET jit = off; \
                     SET plan_cache_mode = force_generic_plan; SET synchronous_commit = off",
                )
                .execute(conn)
                .await
                .map(drop)
            })
        })
        .connect_lazy_with(options)
}

/// Wakes the workers of every process (LISTEN on [`super::CHANNEL`]); inside a transaction
/// the wake-up is delivered at commit.
pub(super) async fn notify<'c>(conn: impl sqlx::PgExecutor<'c>) -> sqlx::Result<()> {
    sqlx::query("SELECT pg_notify($1, '')").bind(super::CHANNEL).execute(conn).await?;
    Ok(())
}

pub(super) async fn insert(
    conn: &mut PgConnection,
    kind: &str,
    payload: serde_json::Value,
    org_id: Option<Uuid>,
    unique_key: Option<String>,
    max_attempts: i32,
    run_at: DateTime<Utc>,
) -> sqlx::Result<i64> {
    // A duplicate of queued work moves it no later; a duplicate of running work asks for
    // one more run after this one (the running job may have read its inputs already).
    sqlx::query_scalar!(
        r#"WITH job AS (
               INSERT INTO jobs (kind, payload, org_id, unique_key, max_attempts, run_at)
               VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL AND state IN ('queued', 'running', 'paused')
               DO UPDATE SET
                   rerun = jobs.rerun OR jobs.state = 'running',
                   run_at = CASE WHEN jobs.state = 'queued' THEN least(jobs.run_at, EXCLUDED.run_at) ELSE jobs.run_at END
               RETURNING id
           )
           SELECT job.id AS "id!" FROM job, LATERAL (SELECT pg_notify($7, '')) AS wake"#,
        kind,
        payload,
        org_id,
        unique_key,
        max_attempts,
        run_at,
        super::CHANNEL,
    )
    .fetch_one(conn)
    .await
}

/// Many jobs of one kind, without waking anyone (see `jobs::enqueue_batch`). A duplicate of
/// queued, running or paused work is left as it is.
pub(super) async fn insert_batch(
    conn: &mut PgConnection,
    kind: &str,
    payloads: &[serde_json::Value],
    org_ids: &[Option<Uuid>],
    unique_keys: &[Option<String>],
    max_attempts: i32,
    run_at: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO jobs (kind, payload, org_id, unique_key, max_attempts, run_at)
         SELECT $1, payload, org_id, unique_key, $5, $6
         FROM unnest($2::jsonb[], $3::uuid[], $4::text[]) AS i(payload, org_id, unique_key)
         ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL AND state IN ('queued', 'running', 'paused')
         DO NOTHING",
        kind,
        payloads,
        org_ids as &[Option<Uuid>],
        unique_keys as &[Option<String>],
        max_attempts,
        run_at,
    )
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Debug)]
pub(super) struct Claimed {
    pub id: i64,
    pub kind: String,
    pub payload: serde_json::Value,
    pub attempts: i32,
    pub lease: Uuid,
    pub org_id: Option<Uuid>,
    /// When it was due: the claim's `now` minus this is how long it waited.
    pub run_at: DateTime<Utc>,
}

/// Claims up to `limit` due jobs of `kinds` for `worker`, round-robin across
/// organizations: the first due job of every organization, then the second, and so on, the
/// organization waiting longest first; jobs of no organization take turns the same way, as
/// one more lane. An organization never has more than `per_org` jobs running across all
/// workers, and one whose Lever budget is spoken for over the next second gets none (its
/// jobs would only wait on the rate limit while holding a worker). So a tenant with a
/// backlog of thousands holds at most `per_org` worker slots, and every other tenant's
/// next job is at the front of the queue. Only kinds the worker knows are claimed, so
/// workers of different versions can share the queue.
pub(super) async fn claim(
    pool: &PgPool,
    worker: &str,
    kinds: &[String],
    now: DateTime<Utc>,
    limit: i32,
    per_org: i32,
    lease_secs: f64,
) -> sqlx::Result<Vec<Claimed>> {
    // The organizations with queued work are found by a skip scan of `jobs_org_ready` (one
    // probe each, not one per queued job). SKIP LOCKED: rows another worker is claiming
    // right now are passed over rather than waited for, so claimers never queue up behind
    // each other.
    sqlx::query_as!(
        Claimed,
        r#"WITH RECURSIVE orgs AS (
               (SELECT org_id FROM jobs WHERE state = 'queued' AND org_id IS NOT NULL ORDER BY org_id LIMIT 1)
               UNION ALL
               SELECT (SELECT j.org_id FROM jobs j
                       WHERE j.state = 'queued' AND j.org_id IS NOT NULL AND j.org_id > o.org_id
                       ORDER BY j.org_id LIMIT 1)
               FROM orgs o WHERE o.org_id IS NOT NULL
           ), open_orgs AS (
               SELECT o.org_id,
                      $3::int - (SELECT count(*) FROM jobs r WHERE r.state = 'running' AND r.org_id = o.org_id)::int AS room
               FROM orgs o
               WHERE o.org_id IS NOT NULL
                 AND o.org_id NOT IN (
                       SELECT c.org_id FROM lever_connections c
                       JOIN lever_rate r ON r.account_id = c.account_id
                       WHERE r.next_slot > clock_timestamp() + interval '1 second')
           ), owned AS (
               SELECT j.id, j.run_at, row_number() OVER (PARTITION BY o.org_id ORDER BY j.run_at, j.id) AS turn
               FROM open_orgs o
               CROSS JOIN LATERAL (
                   SELECT id, run_at FROM jobs
                   WHERE state = 'queued' AND org_id = o.org_id AND run_at <= $1 AND kind = ANY($6)
                   ORDER BY run_at, id
                   LIMIT greatest(o.room, 0)
                   FOR UPDATE SKIP LOCKED
               ) j
           ), unowned AS (
               SELECT id, run_at, (row_number() OVER (ORDER BY run_at, id) + $3::int - 1) / $3::int AS turn
               FROM (SELECT id, run_at FROM jobs
                     WHERE state = 'queued' AND org_id IS NULL AND run_at <= $1 AND kind = ANY($6)
                     ORDER BY run_at, id
                     LIMIT $2::int
                     FOR UPDATE SKIP LOCKED) u
           ), picked AS (
               SELECT id FROM (SELECT * FROM owned UNION ALL SELECT * FROM unowned) c
               ORDER BY turn, run_at, id
               LIMIT $2::int
           )
           UPDATE jobs SET
               state = 'running',
               attempts = attempts + 1,
               lease = gen_random_uuid(),
               lease_until = now() + make_interval(secs => $4),
               locked_by = $5,
               started_at = now()
           WHERE id = ANY(ARRAY(SELECT id FROM picked))
           RETURNING id, kind, payload, attempts, lease AS "lease!", org_id, run_at"#,
        now,
        limit,
        per_org,
        lease_secs,
        worker,
        kinds,
    )
    .fetch_all(pool)
    .await
}

/// What recording a batch of finished jobs did.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Completed {
    /// Marked done (or deleted, with no retention).
    pub done: u64,
    /// Queued again because a rerun was asked for while they ran.
    pub requeued: u64,
}

impl Completed {
    /// Jobs of the batch whose lease had been lost: their completion changed nothing.
    pub fn ignored(&self, batch: usize) -> u64 {
        (batch as u64).saturating_sub(self.done + self.requeued)
    }
}

/// Records finished jobs: done (kept for the retention window) or, with `retain` false,
/// deleted; a job asked to rerun while it ran is queued again instead. Only jobs still
/// held under the given leases change.
pub(super) async fn complete(
    pool: &PgPool,
    ids: &[i64],
    leases: &[Uuid],
    now: DateTime<Utc>,
    retain: bool,
) -> sqlx::Result<Completed> {
    let mut completed = Completed::default();
    if !retain {
        // The common case in one cheap statement; reruns (and lost leases) fall through to
        // the marking statement below, which tells them apart.
        completed.done = sqlx::query!(
            "DELETE FROM jobs WHERE id = ANY($1) AND lease = ANY($2) AND state = 'running' AND NOT rerun",
            ids,
            leases,
        )
        .execute(pool)
        .await?
        .rows_affected();
        if completed.done == ids.len() as u64 {
            return Ok(completed);
        }
    }
    let marked = sqlx::query!(
        r#"WITH marked AS (
               UPDATE jobs SET
                   state = CASE WHEN rerun THEN 'queued' ELSE 'done' END,
                   attempts = CASE WHEN rerun THEN 0 ELSE attempts END,
                   run_at = CASE WHEN rerun THEN $3 ELSE run_at END,
                   finished_at = CASE WHEN rerun THEN NULL ELSE now() END,
                   rerun = false, lease = NULL, lease_until = NULL
               WHERE id = ANY($1) AND lease = ANY($2) AND state = 'running'
               RETURNING state
           )
           SELECT count(*) FILTER (WHERE state = 'done') AS "done!",
                  count(*) FILTER (WHERE state = 'queued') AS "requeued!"
           FROM marked"#,
        ids,
        leases,
        now,
    )
    .fetch_one(pool)
    .await?;
    completed.done += marked.done as u64;
    completed.requeued = marked.requeued as u64;
    if completed.requeued > 0 {
        notify(pool).await?;
    }
    Ok(completed)
}

/// After a failed attempt: queued again at `run_at`, or failed for good when `permanent`
/// or out of attempts. The error is kept either way.
pub(super) async fn fail_attempt(
    pool: &PgPool,
    id: i64,
    lease: Uuid,
    error: &str,
    permanent: bool,
    run_at: DateTime<Utc>,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar!(
        r#"UPDATE jobs SET
               state = CASE WHEN $4 OR attempts >= max_attempts THEN 'failed' ELSE 'queued' END,
               finished_at = CASE WHEN $4 OR attempts >= max_attempts THEN now() END,
               run_at = $5, last_error = $3, rerun = false, lease = NULL, lease_until = NULL
           WHERE id = $1 AND lease = $2 AND state = 'running'
           RETURNING state"#,
        id,
        lease,
        error,
        permanent,
        run_at,
    )
    .fetch_optional(pool)
    .await
}

/// Gives a claimed job back without spending its attempt: to run again at `run_at`, or
/// parked until its organization reconnects Lever. The connection row is read FOR SHARE
/// so a reconnect committing at this moment is seen rather than missed.
pub(super) async fn give_back(
    pool: &PgPool,
    id: i64,
    lease: Uuid,
    pause: bool,
    note: &str,
    run_at: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query!(
        r#"WITH connection AS (
               SELECT c.status FROM jobs j JOIN lever_connections c ON c.org_id = j.org_id
               WHERE j.id = $1 FOR SHARE OF c
           )
           UPDATE jobs SET
               state = CASE WHEN $3 AND coalesce((SELECT status FROM connection), '') <> 'connected'
                            THEN 'paused' ELSE 'queued' END,
               attempts = greatest(attempts - 1, 0),
               run_at = $5, last_error = $4, lease = NULL, lease_until = NULL
           WHERE id = $1 AND lease = $2 AND state = 'running'"#,
        id,
        lease,
        pause,
        note,
        run_at,
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Keeps a live worker's leases from running out. Returns the leases still held: a lease
/// missing from the answer was lost (reaped after the worker stalled) and its job now
/// belongs to the queue again. (Every running job has a `lease_until`; saying so lets the
/// statement read the `jobs_leases` index of running jobs.)
pub(super) async fn extend_leases(pool: &PgPool, leases: &[Uuid], lease_secs: f64) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar!(
        r#"UPDATE jobs SET lease_until = now() + make_interval(secs => $2)
           WHERE lease = ANY($1) AND state = 'running' AND lease_until IS NOT NULL
           RETURNING lease AS "lease!""#,
        leases,
        lease_secs,
    )
    .fetch_all(pool)
    .await
}

/// Hands the jobs of dead workers (leases run out) to whoever claims next. Their attempt
/// counts: a job that kills its worker every time must not loop forever.
pub(super) async fn reap_expired(pool: &PgPool, now: DateTime<Utc>) -> sqlx::Result<u64> {
    let reaped = sqlx::query!(
        "UPDATE jobs SET
             state = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END,
             finished_at = CASE WHEN attempts >= max_attempts THEN now() END,
             last_error = 'the worker running this job stopped responding (lease expired)',
             run_at = $1, lease = NULL, lease_until = NULL
         WHERE state = 'running' AND lease_until < now()",
        now,
    )
    .execute(pool)
    .await?;
    if reaped.rows_affected() > 0 {
        notify(pool).await?;
    }
    Ok(reaped.rows_affected())
}
