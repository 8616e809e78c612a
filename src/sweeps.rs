//! The `lever_sweeps` table: for each connected organization, when its next sweep is due,
//! how far Lever's changes have been read, what the last sweep found, and how many
//! candidates were waiting in trigger stages when last counted.
//!
//! Moves into a trigger stage from `since` on are the sweep's to heal. `since` starts at
//! Connect and moves on when webhooks are set up or the trigger stages change: candidates
//! who were already in a trigger stage then are "waiting", and only an admin's
//! **Invite them** invites them.

use chrono::{DateTime, Duration, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// Lever's `updatedAt` is read back this far before the last sweep, so a change recorded
/// late, or a clock a little off, is still seen. Handled moves are recognised, so the
/// overlap costs a few listed rows, never a second invitation.
pub const OVERLAP: Duration = Duration::minutes(15);

#[derive(Clone, Debug)]
pub struct Sweep {
    pub since: DateTime<Utc>,
    pub next_at: DateTime<Utc>,
    pub covered_until: Option<DateTime<Utc>>,
    pub last_started_at: Option<DateTime<Utc>>,
    pub last_finished_at: Option<DateTime<Utc>>,
    pub last_found: i32,
    pub last_error: Option<String>,
    pub waiting: Option<i32>,
    pub waiting_counted_at: Option<DateTime<Utc>>,
    pub waiting_error: Option<String>,
}

impl Sweep {
    /// Lever's changes from here on are read by the next sweep.
    pub fn read_from(&self) -> DateTime<Utc> {
        self.covered_until.unwrap_or(self.since) - OVERLAP
    }
}

pub async fn get(db: &PgPool, org_id: Uuid) -> sqlx::Result<Option<Sweep>> {
    sqlx::query_as!(
        Sweep,
        "SELECT since, next_at, covered_until, last_started_at, last_finished_at, last_found, last_error,
                waiting, waiting_counted_at, waiting_error
         FROM lever_sweeps WHERE org_id = $1",
        org_id
    )
    .fetch_optional(db)
    .await
}

/// Starts (or starts again) the organization's sweeps: moves before `since` are waiting
/// candidates from now on; the first sweep is due after `every`. Lever's times are
/// compared with `since`, so it is Lever's clock (the wall clock), not a test's.
pub async fn start(
    conn: &mut PgConnection,
    org_id: Uuid,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
    every: Duration,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO lever_sweeps (org_id, since, next_at, covered_until) VALUES ($1, $2, $3, $2)
         ON CONFLICT (org_id) DO UPDATE SET since = EXCLUDED.since, waiting = NULL, waiting_counted_at = NULL,
                                            waiting_error = NULL",
        org_id,
        since,
        now + every,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Organizations whose sweep is due by `now`, each moved on to its next time, in the
/// caller's transaction (so exactly one process schedules each sweep).
pub async fn take_due(conn: &mut PgConnection, now: DateTime<Utc>, every: Duration) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar!(
        "UPDATE lever_sweeps s SET next_at = $2
         FROM lever_connections c
         WHERE c.org_id = s.org_id AND c.status = 'connected' AND s.next_at <= $1
         RETURNING s.org_id",
        now,
        now + every,
    )
    .fetch_all(conn)
    .await
}

/// A sweep began reading Lever at `started` (Lever's clock).
pub async fn began(db: &PgPool, org_id: Uuid, started: DateTime<Utc>) -> sqlx::Result<()> {
    sqlx::query!("UPDATE lever_sweeps SET last_started_at = $2 WHERE org_id = $1", org_id, started).execute(db).await?;
    Ok(())
}

/// A sweep finished: Lever's changes up to `covered_until` were read, and it found
/// `found` moves nobody had reported, or failed with `error`.
pub async fn finished(
    db: &PgPool,
    org_id: Uuid,
    covered_until: Option<DateTime<Utc>>,
    found: i32,
    error: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE lever_sweeps SET covered_until = coalesce($2, covered_until), last_found = $3, last_error = $4,
                                 last_finished_at = now()
         WHERE org_id = $1",
        org_id,
        covered_until,
        found,
        error,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// How many candidates wait in trigger stages without an invitation (`Ok`), or why they
/// could not be counted.
pub async fn counted_waiting(db: &PgPool, org_id: Uuid, count: Result<i32, &str>) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE lever_sweeps SET waiting = $2, waiting_error = $3, waiting_counted_at = now() WHERE org_id = $1",
        org_id,
        count.ok(),
        count.err(),
    )
    .execute(db)
    .await?;
    Ok(())
}
