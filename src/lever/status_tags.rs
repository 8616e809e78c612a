//! `lever_opportunities`: which of Fulcrum's status tags an opportunity carries in Lever,
//! as Fulcrum last wrote or read them, so a sync calls Lever only for what differs.

use sqlx::PgPool;
use uuid::Uuid;

/// The status tags Fulcrum believes the opportunity carries (none when it never looked).
pub async fn believed(db: &PgPool, org_id: Uuid, opportunity_id: &str) -> sqlx::Result<Vec<String>> {
    let tags = sqlx::query_scalar!(
        "SELECT status_tags FROM lever_opportunities WHERE org_id = $1 AND opportunity_id = $2",
        org_id,
        opportunity_id
    )
    .fetch_optional(db)
    .await?;
    Ok(tags.unwrap_or_default())
}

/// Records that the opportunity carries exactly `tags` of Fulcrum's status tags.
pub async fn remember(db: &PgPool, org_id: Uuid, opportunity_id: &str, tags: &[String]) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO lever_opportunities (org_id, opportunity_id, status_tags) VALUES ($1, $2, $3)
         ON CONFLICT (org_id, opportunity_id) DO UPDATE SET status_tags = EXCLUDED.status_tags, updated_at = now()",
        org_id,
        opportunity_id,
        tags,
    )
    .execute(db)
    .await?;
    Ok(())
}
