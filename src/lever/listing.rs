//! Reading many opportunities at once, for the sweep and for counting candidates already
//! waiting: Lever's opportunity list with its filters, and deleted opportunities.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{Api, LeverError, types::Opportunity};

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
