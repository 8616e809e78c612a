//! What Fulcrum keeps of an account's Lever data between calls: the stage list (stages can
//! be renamed; an unknown id forces a re-read), postings (their tags decide the
//! assessment; re-read after `lever.cache_ttl_secs`) and archive reasons (read once, again
//! when an unknown one turns up). Each saves Lever calls, which are the scarce resource.

use chrono::{Duration, Utc};
use serde_json::Value;

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

/// An archive reason of the account: a hire or not (its `type`), and its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchiveReason {
    pub hired: bool,
    pub text: Option<String>,
}

/// Archive reason `reason_id`, from the account's reasons read once (and again when an
/// unknown one turns up). `None` when Lever does not say (the reason is unknown, or the
/// token lacks `archive_reasons:read:admin`).
pub async fn archive_reason(
    lever: &Lever,
    api: &mut Api<'_>,
    reason_id: &str,
) -> Result<Option<ArchiveReason>, LeverError> {
    let known = |reasons: &Value| {
        let reason = reasons.get(reason_id)?;
        Some(ArchiveReason {
            hired: reason.get("type")?.as_str()? == "hired",
            text: reason.get("text").and_then(Value::as_str).map(str::to_string),
        })
    };
    let cached =
        sqlx::query_scalar!("SELECT archive_reasons FROM lever_accounts WHERE account_id = $1", api.account_id)
            .fetch_optional(&lever.db)
            .await
            .map_err(LeverError::database)?
            .flatten();
    if let Some(answer) = cached.as_ref().and_then(known) {
        return Ok(Some(answer));
    }
    let reasons = match api.list("/archive_reasons", &[]).await {
        Ok(reasons) => reasons,
        Err(LeverError::Forbidden(_) | LeverError::NotFound(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let by_id: serde_json::Map<String, Value> = reasons
        .iter()
        .filter_map(|r| {
            let id = r.get("id")?.as_str()?.to_string();
            Some((id, serde_json::json!({ "type": r.get("type")?, "text": r.get("text") })))
        })
        .collect();
    let by_id = Value::Object(by_id);
    sqlx::query!(
        "INSERT INTO lever_accounts (account_id, archive_reasons) VALUES ($1, $2)
         ON CONFLICT (account_id) DO UPDATE SET archive_reasons = EXCLUDED.archive_reasons",
        api.account_id,
        by_id,
    )
    .execute(&lever.db)
    .await
    .map_err(LeverError::database)?;
    Ok(known(&by_id))
}
