//! The integration health checks (`/app/settings/integrations/lever/health` and
//! `GET /api/v1/integrations/lever/health`): each says what is wrong and, in one
//! sentence, how to fix it.
//!
//! Most checks read only Fulcrum's own tables (`local`). Three need Lever (`remote`: the
//! webhooks registered, the stage list, the open postings); they go through the normal
//! Lever client, so the account's shared rate limit applies, and are bounded by
//! [`LEVER_TIMEOUT`] so a slow Lever cannot hold a page. The result is kept for
//! [`FRESH_FOR`] per organization in `lever_health`, which is also what every page's banner
//! reads: pages never call Lever for the banner.

mod local;
mod remote;

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use crate::{clock::Clock, config::Settings, lever::Lever};

/// How long a check's result is reused.
pub const FRESH_FOR: Duration = Duration::from_secs(60);
/// The most the Lever reads of one check may take.
pub const LEVER_TIMEOUT: Duration = Duration::from_secs(8);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warning,
    Error,
}

/// One check: `id` is part of the contract (`connection`, `scopes`, `webhooks`,
/// `signature_tokens`, `deliveries`, `trigger_stages`, `postings`, `jobs`, `sweep`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Check {
    pub id: String,
    pub status: Status,
    pub title: String,
    pub detail: String,
    /// One sentence: how to fix it (empty when all is well).
    pub fix: String,
}

impl Check {
    fn new(id: &str, title: &str, status: Status, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        let fix = if status == Status::Ok { String::new() } else { fix.into() };
        Self { id: id.into(), status, title: title.into(), detail: detail.into(), fix }
    }

    pub fn status_name(&self) -> &'static str {
        match self.status {
            Status::Ok => "ok",
            Status::Warning => "warning",
            Status::Error => "error",
        }
    }
}

/// The checks, in the contract's order.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Health {
    pub checked_at: DateTime<Utc>,
    pub checks: Vec<Check>,
}

/// What the checks need: the database, the Lever service and business time.
pub struct Handles<'a> {
    pub db: &'a PgPool,
    pub lever: &'a Lever,
    pub clock: &'a Clock,
    pub brand: &'a str,
    /// How often each account is swept.
    pub sweep_every: chrono::Duration,
}

impl<'a> Handles<'a> {
    pub fn new(db: &'a PgPool, lever: &'a Lever, clock: &'a Clock, settings: &'a Settings) -> Self {
        Self { db, lever, clock, brand: &settings.brand, sweep_every: settings.sweep_every() }
    }
}

/// The organization's health, from the last check when it is fresh, else checked now.
pub async fn current(h: &Handles<'_>, org_id: Uuid) -> anyhow::Result<Health> {
    let now = h.clock.now();
    let cached = sqlx::query!("SELECT checked_at, checks FROM lever_health WHERE org_id = $1", org_id)
        .fetch_optional(h.db)
        .await?;
    if let Some(row) = cached {
        let fresh = row.checked_at > now - chrono::Duration::from_std(FRESH_FOR)?;
        if let (true, Ok(checks)) = (fresh, serde_json::from_value::<Vec<Check>>(row.checks)) {
            return Ok(Health { checked_at: row.checked_at, checks });
        }
    }
    let health = check(h, org_id).await?;
    let has_error = health.checks.iter().any(|c| c.status == Status::Error);
    sqlx::query!(
        "INSERT INTO lever_health (org_id, checked_at, checks, has_error) VALUES ($1, $2, $3, $4)
         ON CONFLICT (org_id) DO UPDATE SET checked_at = EXCLUDED.checked_at, checks = EXCLUDED.checks,
                                            has_error = EXCLUDED.has_error",
        org_id,
        health.checked_at,
        serde_json::to_value(&health.checks)?,
        has_error,
    )
    .execute(h.db)
    .await?;
    Ok(health)
}

/// Checks again the connected organizations whose last check is older than `older_than`
/// (or that were never checked), at most `limit` of them, oldest first: so the app's banner
/// tells of a problem even when nobody opened the health page. Returns how many.
pub async fn refresh_stale(h: &Handles<'_>, older_than: chrono::Duration, limit: i64) -> anyhow::Result<usize> {
    let stale = sqlx::query_scalar!(
        "SELECT c.org_id FROM lever_connections c LEFT JOIN lever_health h ON h.org_id = c.org_id
         WHERE c.status = 'connected' AND (h.checked_at IS NULL OR h.checked_at < $1)
         ORDER BY h.checked_at NULLS FIRST LIMIT $2",
        h.clock.now() - older_than,
        limit,
    )
    .fetch_all(h.db)
    .await?;
    for org_id in &stale {
        if let Err(e) = current(h, *org_id).await {
            tracing::warn!(org_id = %org_id, error = %format!("{e:#}"), "checking integration health failed");
        }
    }
    Ok(stale.len())
}

/// Forgets the last result, so the next look checks again.
pub async fn forget(db: &PgPool, org_id: Uuid) -> sqlx::Result<()> {
    sqlx::query!("DELETE FROM lever_health WHERE org_id = $1", org_id).execute(db).await?;
    Ok(())
}

/// Whether the last check found an error: one indexed row read, for every page's banner.
pub async fn has_error(db: &PgPool, org_id: Uuid) -> sqlx::Result<bool> {
    let found =
        sqlx::query_scalar!("SELECT has_error FROM lever_health WHERE org_id = $1", org_id).fetch_optional(db).await?;
    Ok(found.unwrap_or(false))
}

/// Runs every check now.
async fn check(h: &Handles<'_>, org_id: Uuid) -> anyhow::Result<Health> {
    let now = h.clock.now();
    let facts = local::Facts::load(h, org_id).await?;
    let remote = remote::check(h, org_id, &facts).await;
    let mut checks = vec![
        local::connection(&facts, now),
        local::scopes(&facts),
        remote.webhooks,
        local::signature_tokens(&facts),
        local::deliveries(&facts, now),
        remote.trigger_stages,
        remote.postings,
        local::jobs(&facts, now),
        local::sweep(&facts, now),
    ];
    checks.retain(|c| !c.id.is_empty());
    Ok(Health { checked_at: now, checks })
}
