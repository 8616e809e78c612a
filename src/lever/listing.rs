//! Reading many opportunities at once, for the sweep and for counting candidates already
//! waiting: Lever's opportunity list with its filters, deleted opportunities, and whether an
//! archive reason is a hire.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{Api, Lever, LeverError, types::Opportunity};

/// Which opportunities to list. Filters narrow each other; stage ids are a union.
#[derive(Debug, Default)]
pub struct Query<'q> {
    /// In one of these stages now (empty: any stage).
    pub stage_ids: &'q [String],
    /// Changed at or after this (Lever's `updatedAt`).
    pub updated_since: Option<DateTime<Utc>>,
    /// Only archived (`Some(true)`) or only active (`Some(false)`) ones.
    pub archived: Option<bool>,
}

/// A list's answer, with whether confidential candidates are in it.
#[derive(Debug, Default)]
pub struct Listed {
    pub opportunities: Vec<Opportunity>,
    /// False when the token lacks `confidential:access:admin`: Lever then lists only
    /// non-confidential candidates.
    pub confidential_included: bool,
}

impl Api<'_> {
    /// Every opportunity matching `query`, of every confidentiality level when the token
    /// allows (Lever's list leaves confidential ones out unless asked), each once.
    pub async fn list_opportunities(&mut self, query: &Query<'_>) -> Result<Listed, LeverError> {
        let since = query.updated_since.map(|t| t.timestamp_millis().to_string());
        let mut params: Vec<(&str, &str)> = query.stage_ids.iter().map(|s| ("stage_id", s.as_str())).collect();
        if let Some(since) = since.as_deref() {
            params.push(("updated_at_start", since));
        }
        match query.archived {
            Some(true) => params.push(("archived", "true")),
            Some(false) => params.push(("archived", "false")),
            None => {}
        }
        params.push(("expand", "applications"));
        let mut all = params.clone();
        all.push(("confidentiality", "all"));
        let (items, confidential_included) = match self.list("/opportunities", &all).await {
            Ok(items) => (items, true),
            Err(LeverError::Forbidden(_)) => (self.list("/opportunities", &params).await?, false),
            Err(e) => return Err(e),
        };
        let mut seen = std::collections::HashSet::new();
        let opportunities = items
            .into_iter()
            .filter_map(|v| serde_json::from_value::<Opportunity>(v).ok())
            .filter(|o| !o.id.is_empty() && seen.insert(o.id.clone()))
            .collect();
        Ok(Listed { opportunities, confidential_included })
    }

    /// Opportunities deleted at or after `since` (ids). The path and scope of this list are
    /// not firmly documented: a 403 or 404 is the caller's to tolerate.
    pub async fn deleted_since(&mut self, since: DateTime<Utc>) -> Result<Vec<String>, LeverError> {
        let since = since.timestamp_millis().to_string();
        let items = self.list("/opportunities/deleted", &[("deleted_at_start", since.as_str())]).await?;
        Ok(items.iter().filter_map(|v| v.get("id").and_then(Value::as_str)).map(str::to_string).collect())
    }
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
