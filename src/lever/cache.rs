//! What Fulcrum keeps of an account's Lever data between calls: the stage list (stages can
//! be renamed; an unknown id forces a re-read) and postings (their tags decide the
//! assessment; re-read after `lever.cache_ttl_secs`). Both save Lever calls, which are the
//! scarce resource.

use chrono::{Duration, Utc};

use super::{
    Api, Lever, LeverError,
    types::{Posting, Stage},
};

pub async fn refresh_stages(lever: &Lever, api: &mut Api<'_>) -> Result<Vec<Stage>, LeverError> {
    let stages = api.stages().await?;
    sqlx::query!(
        "INSERT INTO lever_accounts (account_id, stages, stages_fetched_at) VALUES ($1, $2, now())
         ON CONFLICT (account_id) DO UPDATE SET stages = EXCLUDED.stages, stages_fetched_at = now()",
        api.account_id,
        serde_json::to_value(&stages).expect("stages serialize"),
    )
    .execute(&lever.db)
    .await
    .map_err(LeverError::database)?;
    Ok(stages)
}

/// The name of `stage_id`, from the cache unless it is unknown there or stale.
pub async fn stage_name(lever: &Lever, api: &mut Api<'_>, stage_id: &str) -> Result<Option<String>, LeverError> {
    let cached =
        sqlx::query!("SELECT stages, stages_fetched_at FROM lever_accounts WHERE account_id = $1", api.account_id)
            .fetch_optional(&lever.db)
            .await
            .map_err(LeverError::database)?;
    let ttl = Duration::seconds(lever.settings.cache_ttl_secs);
    if let Some(row) = cached
        && row.stages_fetched_at.is_some_and(|at| at > Utc::now() - ttl)
    {
        let stages: Vec<Stage> = row.stages.and_then(|s| serde_json::from_value(s).ok()).unwrap_or_default();
        if let Some(stage) = stages.iter().find(|s| s.id == stage_id) {
            return Ok(Some(stage.text.clone()));
        }
    }
    let stages = refresh_stages(lever, api).await?;
    Ok(stages.into_iter().find(|s| s.id == stage_id).map(|s| s.text))
}

pub async fn posting(lever: &Lever, api: &mut Api<'_>, posting_id: &str) -> Result<Posting, LeverError> {
    let ttl = Duration::seconds(lever.settings.cache_ttl_secs);
    let cached = sqlx::query_scalar!(
        "SELECT posting FROM lever_postings WHERE account_id = $1 AND posting_id = $2 AND fetched_at > $3",
        api.account_id,
        posting_id,
        Utc::now() - ttl,
    )
    .fetch_optional(&lever.db)
    .await
    .map_err(LeverError::database)?;
    if let Some(posting) = cached.and_then(|p| serde_json::from_value(p).ok()) {
        return Ok(posting);
    }
    let posting = api.posting(posting_id).await?;
    sqlx::query!(
        "INSERT INTO lever_postings (account_id, posting_id, posting, fetched_at) VALUES ($1, $2, $3, now())
         ON CONFLICT (account_id, posting_id) DO UPDATE SET posting = EXCLUDED.posting, fetched_at = now()",
        api.account_id,
        posting_id,
        serde_json::to_value(&posting).expect("postings serialize"),
    )
    .execute(&lever.db)
    .await
    .map_err(LeverError::database)?;
    Ok(posting)
}
