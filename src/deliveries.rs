//! The `deliveries` table and the only code that reads or writes it: every webhook delivery
//! Lever sent (accepted, a test, or refused), the moves the sweep or an admin found in
//! their place, what each led to, and the delivery log's and health page's reads. Storing
//! a delivery's job beside it is the caller's, in the same transaction.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// A delivery whose signature and shape were checked, ready to store.
pub struct NewDelivery {
    pub org_id: Uuid,
    pub token: String,
    pub event: String,
    pub opportunity_id: String,
    pub triggered_at: DateTime<Utc>,
    pub data: Option<Value>,
}

/// Stores the accepted deliveries of `batch` that were not received before; returns those
/// stored now, by organization and token.
pub async fn insert_accepted(conn: &mut PgConnection, batch: &[&NewDelivery]) -> sqlx::Result<Vec<(Uuid, String)>> {
    let mut columns = Columns::default();
    for d in batch {
        columns.push(d);
    }
    let stored = sqlx::query!(
        r#"INSERT INTO deliveries (org_id, token, event, opportunity_id, triggered_at, outcome, data)
           SELECT org_id, token, event, opportunity_id, triggered_at, 'accepted', data
           FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::jsonb[])
               AS i(org_id, token, event, opportunity_id, triggered_at, data)
           ON CONFLICT (org_id, token) WHERE outcome <> 'rejected' DO NOTHING
           RETURNING org_id AS "org_id!", token AS "token!""#,
        &columns.org_ids,
        &columns.tokens,
        &columns.events,
        &columns.opportunities,
        &columns.triggered_at,
        &columns.data as &[Option<Value>],
    )
    .fetch_all(conn)
    .await?;
    Ok(stored.into_iter().map(|r| (r.org_id, r.token)).collect())
}

/// The batch as one array per column, for `unnest`.
#[derive(Default)]
struct Columns {
    org_ids: Vec<Uuid>,
    tokens: Vec<String>,
    events: Vec<String>,
    opportunities: Vec<String>,
    triggered_at: Vec<DateTime<Utc>>,
    data: Vec<Option<Value>>,
}

impl Columns {
    fn push(&mut self, d: &NewDelivery) {
        self.org_ids.push(d.org_id);
        self.tokens.push(d.token.clone());
        self.events.push(d.event.clone());
        self.opportunities.push(d.opportunity_id.clone());
        self.triggered_at.push(d.triggered_at);
        self.data.push(d.data.clone());
    }
}

/// Lever retried or reran a delivery: the log shows how often it came.
pub async fn count_repeat(db: &PgPool, org_id: Uuid, token: &str) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE deliveries SET duplicates = duplicates + 1 WHERE org_id = $1 AND token = $2 AND outcome <> 'rejected'",
        org_id,
        token,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// A delivery refused before it was stored, and why.
pub struct Rejected<'a> {
    pub org_id: Uuid,
    pub token: &'a str,
    pub event: &'a str,
    pub opportunity_id: Option<&'a str>,
    pub triggered_at: Option<DateTime<Utc>>,
    pub why: &'a str,
}

/// Logs a refused delivery, up to a thousand an hour per organization: a flood of forged
/// requests must not grow the table without bound.
pub async fn record_rejection(db: &PgPool, r: &Rejected<'_>) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO deliveries (org_id, token, event, opportunity_id, triggered_at, outcome, reason)
         SELECT $1, $2, $3, $4, $5, 'rejected', $6
         WHERE (SELECT count(*) FROM deliveries
                WHERE org_id = $1 AND outcome = 'rejected' AND received_at > now() - interval '1 hour') < 1000",
        r.org_id,
        r.token,
        r.event,
        r.opportunity_id,
        r.triggered_at,
        r.why,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Logs Lever's test delivery (sent when a webhook is saved in Lever).
pub async fn record_test(
    conn: &mut PgConnection,
    org_id: Uuid,
    token: &str,
    event: &str,
    at: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO deliveries (org_id, token, event, triggered_at, outcome, result)
         VALUES ($1, $2, $3, $4, 'test', 'Lever verified the connection')
         ON CONFLICT (org_id, token) WHERE outcome <> 'rejected' DO NOTHING",
        org_id,
        token,
        event,
        at,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Stores each move (opportunity, stage, entered at) as a delivery found by `source`
/// (`sweep`, `waiting`) unless a webhook delivery of the last hour for the opportunity
/// still waits to be handled. Its token names the move, so the same move found again is
/// the same delivery. Returns the tokens stored now.
pub async fn insert_found(
    conn: &mut PgConnection,
    org_id: Uuid,
    moves: &[(String, String, i64)],
    source: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<Vec<String>> {
    let (opportunities, stages, entered) = crate::stage_entries::columns(moves);
    sqlx::query_scalar!(
        r#"INSERT INTO deliveries (org_id, token, event, opportunity_id, triggered_at, outcome, data, source)
           SELECT $1, $5 || ':' || f.opportunity_id || ':' || f.stage_id || ':' || f.entered_at,
                  'candidateStageChange', f.opportunity_id,
                  CASE WHEN f.entered_at > 0 THEN to_timestamp(f.entered_at / 1000.0) ELSE $6 END, 'accepted',
                  jsonb_build_object('opportunityId', f.opportunity_id, 'toStageId', f.stage_id,
                                     'enteredAt', f.entered_at),
                  $5
           FROM unnest($2::text[], $3::text[], $4::bigint[]) AS f(opportunity_id, stage_id, entered_at)
           WHERE NOT EXISTS (SELECT 1 FROM deliveries d
                             WHERE d.org_id = $1 AND d.opportunity_id = f.opportunity_id AND d.outcome = 'accepted'
                               AND d.result IS NULL AND d.source = 'webhook'
                               AND d.received_at > now() - interval '1 hour')
           ON CONFLICT (org_id, token) WHERE outcome <> 'rejected' DO NOTHING
           RETURNING token AS "token!""#,
        org_id,
        &opportunities,
        &stages,
        &entered,
        source,
        now,
    )
    .fetch_all(conn)
    .await
}

/// An accepted delivery not handled yet.
pub struct Unhandled {
    pub id: i64,
    pub event: String,
    pub opportunity_id: String,
    pub data: Value,
}

/// The accepted delivery `token` of the organization, unless it was handled already.
pub async fn unhandled(db: &PgPool, org_id: Uuid, token: &str) -> sqlx::Result<Option<Unhandled>> {
    let delivery = sqlx::query!(
        "SELECT id, event, opportunity_id, data, result FROM deliveries
             WHERE org_id = $1 AND token = $2 AND outcome = 'accepted'",
        org_id,
        token
    )
    .fetch_optional(db)
    .await?;
    Ok(delivery.filter(|d| d.result.is_none()).map(|d| Unhandled {
        id: d.id,
        event: d.event.unwrap_or_default(),
        opportunity_id: d.opportunity_id.unwrap_or_default(),
        data: d.data.unwrap_or_default(),
    }))
}

/// What delivery `id` led to: the delivery log's line.
pub async fn set_result(db: &PgPool, id: i64, result: &str) -> sqlx::Result<()> {
    sqlx::query!("UPDATE deliveries SET result = $2 WHERE id = $1", id, result).execute(db).await?;
    Ok(())
}

/// Replaces `word` (a removed candidate's address or name) in the delivery log's lines
/// about the opportunity.
pub async fn erase_word(conn: &mut PgConnection, org_id: Uuid, opportunity_id: &str, word: &str) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE deliveries SET result = replace(result, $3, '(erased)')
             WHERE org_id = $1 AND opportunity_id = $2 AND strpos(result, $3) > 0",
        org_id,
        opportunity_id,
        word,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes deliveries older than `days`; returns how many.
pub async fn prune(db: &PgPool, days: i32) -> sqlx::Result<u64> {
    let deleted = sqlx::query!("DELETE FROM deliveries WHERE received_at < now() - make_interval(days => $1)", days)
        .execute(db)
        .await?;
    Ok(deleted.rows_affected())
}

/// One line of the delivery log.
pub struct Logged {
    pub received_at: DateTime<Utc>,
    pub event: Option<String>,
    pub opportunity_id: Option<String>,
    pub outcome: String,
    pub reason: Option<String>,
    pub result: Option<String>,
    pub duplicates: i32,
    /// `webhook`, or found by Fulcrum: `sweep`, `waiting` (an admin's Invite them).
    pub source: String,
}

/// The organization's deliveries of the last `days`, newest first (at most 500).
pub async fn log(db: &PgPool, org_id: Uuid, days: i32) -> sqlx::Result<Vec<Logged>> {
    sqlx::query_as!(
        Logged,
        "SELECT received_at, event, opportunity_id, outcome, reason, result, duplicates, source FROM deliveries
         WHERE org_id = $1 AND received_at > now() - make_interval(days => $2)
         ORDER BY received_at DESC LIMIT 500",
        org_id,
        days,
    )
    .fetch_all(db)
    .await
}

/// What the integration health checks read of the organization's deliveries.
pub struct Recent {
    /// The last accepted or test delivery.
    pub last: Option<DateTime<Utc>>,
    /// The last delivery Lever sent, per event.
    pub last_by_event: Vec<(String, DateTime<Utc>)>,
    /// Moves the sweep found in the last 7 days: webhooks that never came.
    pub found_by_sweep: i64,
}

pub async fn recent(db: &PgPool, org_id: Uuid) -> sqlx::Result<Recent> {
    let last = sqlx::query_scalar!(
        "SELECT max(received_at) FROM deliveries WHERE org_id = $1 AND outcome IN ('accepted', 'test')",
        org_id
    )
    .fetch_one(db)
    .await?;
    let last_by_event = sqlx::query!(
        r#"SELECT event AS "event!", max(received_at) AS "at!" FROM deliveries
               WHERE org_id = $1 AND outcome = 'accepted' AND source = 'webhook' AND event IS NOT NULL
               GROUP BY event"#,
        org_id
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|r| (r.event, r.at))
    .collect();
    let found_by_sweep = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM deliveries
               WHERE org_id = $1 AND source = 'sweep' AND received_at > now() - interval '7 days'"#,
        org_id
    )
    .fetch_one(db)
    .await?;
    Ok(Recent { last, last_by_event, found_by_sweep })
}
