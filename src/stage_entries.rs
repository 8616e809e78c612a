//! Which entries of candidates into trigger stages were handled. An entry is one move of
//! one opportunity into one stage, named by Lever's time of the move; whoever reports it
//! first — Lever's webhook, a Rerun, the sweep, an admin's "Invite them" — handles it, and
//! every later report of the same entry finds it here and changes nothing. This table is
//! the only place that answers "was this move handled?".

use sqlx::PgConnection;
use uuid::Uuid;

/// One move of an opportunity into a stage. `entered_at` is Lever's time of the move (ms
/// since the epoch, from `stageChanges`); 0 when Lever gave none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    pub org_id: Uuid,
    pub opportunity_id: &'a str,
    pub stage_id: &'a str,
    pub entered_at: i64,
}

/// The delivery that handled `entry`, if any did.
pub async fn handled_by(conn: &mut PgConnection, entry: &Entry<'_>) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(
        "SELECT delivery_id FROM stage_entries
         WHERE org_id = $1 AND opportunity_id = $2 AND stage_id = $3 AND entered_at = $4",
        entry.org_id,
        entry.opportunity_id,
        entry.stage_id,
        entry.entered_at,
    )
    .fetch_optional(conn)
    .await
}

/// Records that delivery `delivery_id` handles `entry`, in the caller's transaction. True
/// when it is this delivery's to handle (newly recorded, or recorded by it before: a retry
/// of the same job); false when another delivery handled it.
pub async fn claim(conn: &mut PgConnection, entry: &Entry<'_>, delivery_id: i64) -> sqlx::Result<bool> {
    let holder = sqlx::query_scalar!(
        r#"WITH new AS (
               INSERT INTO stage_entries (org_id, opportunity_id, stage_id, entered_at, delivery_id)
               VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT DO NOTHING
               RETURNING delivery_id)
           SELECT delivery_id AS "delivery_id!" FROM new
           UNION ALL
           SELECT delivery_id FROM stage_entries
           WHERE org_id = $1 AND opportunity_id = $2 AND stage_id = $3 AND entered_at = $4"#,
        entry.org_id,
        entry.opportunity_id,
        entry.stage_id,
        entry.entered_at,
        delivery_id,
    )
    .fetch_all(conn)
    .await?;
    Ok(holder.first() == Some(&delivery_id))
}

/// Moves (opportunity, stage, entered at) as one array per column, for `unnest`.
pub fn columns(moves: &[(String, String, i64)]) -> (Vec<String>, Vec<String>, Vec<i64>) {
    let opportunities = moves.iter().map(|(o, _, _)| o.clone()).collect();
    let stages = moves.iter().map(|(_, s, _)| s.clone()).collect();
    (opportunities, stages, moves.iter().map(|(_, _, at)| *at).collect())
}

/// Of `entries` (opportunity, stage, entered at) of one organization, those nobody handled
/// and no invitation answers yet.
pub async fn unhandled(
    conn: &mut PgConnection,
    org_id: Uuid,
    entries: &[(String, String, i64)],
) -> sqlx::Result<Vec<(String, String, i64)>> {
    let (opportunities, stages, entered) = columns(entries);
    let rows = sqlx::query!(
        r#"SELECT f.opportunity_id AS "opportunity_id!", f.stage_id AS "stage_id!", f.entered_at AS "entered_at!"
           FROM unnest($2::text[], $3::text[], $4::bigint[]) AS f(opportunity_id, stage_id, entered_at)
           WHERE NOT EXISTS (SELECT 1 FROM stage_entries s
                             WHERE s.org_id = $1 AND s.opportunity_id = f.opportunity_id
                               AND s.stage_id = f.stage_id AND s.entered_at = f.entered_at)
             AND NOT EXISTS (SELECT 1 FROM invitations i
                             WHERE i.org_id = $1 AND i.opportunity_id = f.opportunity_id
                               AND i.stage_entered_at = f.entered_at)"#,
        org_id,
        &opportunities,
        &stages,
        &entered,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.opportunity_id, r.stage_id, r.entered_at)).collect())
}
