//! The rest of a candidate's life in Lever: hired, archived, deleted or anonymized while an
//! assessment is open. Lever reports these by webhook (Candidate Hired, Candidate Archive
//! Change, Candidate Deleted) or not at all (anonymization, a lost delivery); the sweep
//! catches up on what no webhook said. Either way the same facts have the same effects,
//! once: open invitations are cancelled (Lever shows it, unless the candidate is gone from
//! Lever), and a removed candidate's personal data is erased from Fulcrum.

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::{Subject, follow_up};
use crate::{
    invitations::{self, CancelReason},
    jobs::{self, Env, JobError},
    lever::{Api, LeverError, cache, listing::Query, types::Opportunity, webhook},
};

/// What Lever says happened to the candidate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fact {
    Hired,
    /// Archived with a reason that is not a hire (rejected, withdrew…): its text when known.
    Archived(Option<String>),
    /// Deleted in Lever.
    Deleted,
    /// Anonymized in Lever (its name and contact details are gone there).
    Anonymized,
}

/// Handles a Candidate Hired, Archive Change or Deleted delivery; returns the delivery log's
/// line.
pub async fn on_event(
    env: &Env,
    api: &mut Api<'_>,
    kind: &str,
    opportunity_id: &str,
    data: &Value,
) -> Result<String, JobError> {
    let fact = match kind {
        webhook::HIRED => Fact::Hired,
        webhook::DELETED => Fact::Deleted,
        _ => {
            let to = data.get("toArchived").filter(|v| v.is_object());
            let Some(to) = to else {
                return Ok("Unarchived in Lever: nothing to do".into());
            };
            match to.get("reason").and_then(Value::as_str) {
                Some(reason) => archived_as(env, api, reason).await?,
                None => Fact::Archived(None),
            }
        }
    };
    apply(env, api.org_id, opportunity_id, fact).await
}

/// A hire or a rejection, by the archive reason's `type` (its text is the customer's own).
async fn archived_as(env: &Env, api: &mut Api<'_>, reason: &str) -> Result<Fact, JobError> {
    Ok(match cache::archive_reason(&env.lever, api, reason).await? {
        Some(r) if r.hired => Fact::Hired,
        Some(r) => Fact::Archived(r.text),
        None => Fact::Archived(None),
    })
}

/// What an opportunity just read from Lever says, if it is one of the facts.
pub async fn seen(env: &Env, api: &mut Api<'_>, opportunity: &Opportunity) -> Result<Option<Fact>, JobError> {
    if opportunity.is_anonymized {
        return Ok(Some(Fact::Anonymized));
    }
    if !opportunity.is_archived() {
        return Ok(None);
    }
    Ok(Some(match opportunity.archive_reason_id() {
        Some(reason) => archived_as(env, api, reason).await?,
        None => Fact::Archived(None),
    }))
}

/// Carries out `fact` for the organization's invitations of the opportunity, in one
/// transaction with the work it causes; returns the delivery log's line.
pub async fn apply(env: &Env, org_id: Uuid, opportunity_id: &str, fact: Fact) -> Result<String, JobError> {
    let now = env.clock.now();
    let mut tx = env.db.begin().await?;
    let removed = matches!(fact, Fact::Deleted | Fact::Anonymized);
    let (reason, what) = match fact {
        Fact::Hired => (CancelReason::Hired, "hired"),
        Fact::Archived(reason) => (CancelReason::Archived { reason }, "archived"),
        Fact::Deleted => (CancelReason::Removed, "deleted"),
        Fact::Anonymized => (CancelReason::Removed, "anonymized"),
    };
    let cancelled = invitations::cancel_open(&mut tx, org_id, opportunity_id, &reason, now).await?;
    for (invitation_id, effects) in &cancelled {
        let subject = Subject { org_id, invitation_id: *invitation_id, opportunity_id };
        follow_up(&mut tx, subject, effects, now).await?;
    }
    let erased = if removed {
        let erased = invitations::erase(&mut tx, org_id, opportunity_id, &format!("{what} in Lever"), now).await?;
        jobs::scrub_errors(&mut tx, org_id, &erased.words).await?;
        erased.invitations
    } else {
        0
    };
    tx.commit().await?;
    Ok(match (cancelled.len(), erased) {
        (0, 0) if removed => {
            format!("Candidate {what} in Lever: Fulcrum held nothing about them")
        }
        (0, _) if erased > 0 => format!("Candidate {what} in Lever: their personal data was erased from Fulcrum"),
        (0, _) => format!("Candidate {what} in Lever: no open invitation to cancel"),
        (n, 0) => format!("Candidate {what} in Lever: {n} open invitation(s) cancelled"),
        (n, _) => format!(
            "Candidate {what} in Lever: {n} open invitation(s) cancelled and their personal data erased from Fulcrum"
        ),
    })
}

/// For the sweep: what happened in Lever since `since` to candidates Fulcrum holds and no
/// webhook reported — hired, archived or anonymized (read from Lever's list of archived
/// opportunities), or deleted.
pub async fn catch_up(env: &Env, api: &mut Api<'_>, since: DateTime<Utc>) -> Result<(), JobError> {
    let org_id = api.org_id;
    let held = invitations::held_opportunities(&env.db, org_id).await?;
    if held.is_empty() {
        return Ok(());
    }
    let query = Query { updated_since: Some(since), archived: Some(true), ..Query::default() };
    let archived = api.list_opportunities(&query).await?;
    for opportunity in archived.opportunities.iter().filter(|o| held.iter().any(|h| h.id == o.id)) {
        let open = held.iter().any(|h| h.id == opportunity.id && h.open);
        match seen(env, api, opportunity).await? {
            Some(fact @ Fact::Anonymized) => {
                apply(env, org_id, &opportunity.id, fact).await?;
            }
            Some(fact) if open => {
                apply(env, org_id, &opportunity.id, fact).await?;
            }
            _ => {}
        }
    }
    // Where Lever lists deletions is not firmly documented: without it, deletions are
    // learnt from the webhook alone.
    let deleted = match api.deleted_since(since).await {
        Ok(ids) => ids,
        Err(LeverError::NotFound(_) | LeverError::Forbidden(_) | LeverError::Rejected { .. }) => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    for id in deleted.iter().filter(|id| held.iter().any(|h| &h.id == *id)) {
        apply(env, org_id, id, Fact::Deleted).await?;
    }
    Ok(())
}
