//! Staying in step with Lever when webhooks do not arrive. The sweep lists, per connected
//! account, the opportunities in trigger stages that changed since the last sweep and hands
//! every move nobody handled yet to `HandleDelivery`, as a delivery the sweep found: it is
//! then handled exactly as its webhook would have been, and shows in the delivery log.
//! Counting and inviting the candidates who were already waiting in a trigger stage (at
//! Connect, or when the set-up changed) works the same way, on an admin's click.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{delivery::HandleDelivery, lifecycle, sync::SyncOpportunity};
use crate::{
    deliveries,
    domain::lifecycle::is_trigger_stage,
    invitations,
    jobs::{self, Env, Job, JobContext, JobError},
    lever::{
        Api, cache,
        listing::{Listed, Query},
        settings,
        types::Opportunity,
    },
    stage_entries, sweeps,
};

/// Webhook-driven work of the organization that a sweep lets go first.
const GIVES_WAY_TO: [&str; 2] = [HandleDelivery::KIND, SyncOpportunity::KIND];
/// A sweep gives way for at most this long after it was due.
const MAX_GIVE_WAY: chrono::Duration = chrono::Duration::minutes(2);

#[derive(Debug, Serialize, Deserialize)]
pub struct SweepLever {
    pub org_id: Uuid,
}

impl Job for SweepLever {
    const KIND: &'static str = "lever_sweep";
    const MAX_ATTEMPTS: i32 = 5;

    fn org_id(&self) -> Option<Uuid> {
        Some(self.org_id)
    }

    fn unique_key(&self) -> Option<String> {
        Some(format!("sweep:{}", self.org_id))
    }

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        let env = &ctx.env;
        let Some(state) = sweeps::get(&env.db, self.org_id).await? else {
            return Ok(());
        };
        let now = env.clock.now();
        let due_at = state.next_at - env.settings.sweep_every();
        if now < due_at + MAX_GIVE_WAY && jobs::due_for_org(&env.db, self.org_id, &GIVES_WAY_TO, now).await? > 0 {
            return Err(JobError::Defer(std::time::Duration::from_secs(5), "giving way to webhook work".into()));
        }
        // Lever's `updatedAt` is Lever's clock: the wall clock, whatever a test's says.
        let started = Utc::now();
        sweeps::began(&env.db, self.org_id, started).await?;
        match sweep(env, self.org_id, &state).await {
            Ok(found) => sweeps::finished(&env.db, self.org_id, Some(started), found, None).await?,
            // Shown on the health page; the next sweep is scheduled all the same.
            Err(e) => {
                if let Some(why) = e.gives_up(ctx.attempt, Self::MAX_ATTEMPTS) {
                    sweeps::finished(&env.db, self.org_id, None, 0, Some(&format!("{why:#}"))).await?;
                }
                return Err(e);
            }
        }
        Ok(())
    }
}

/// One sweep; returns how many moves it found that nobody had handled.
async fn sweep(env: &Env, org_id: Uuid, state: &sweeps::Sweep) -> Result<i32, JobError> {
    let mut api = Api::for_org(&env.lever, org_id).await?;
    let triggers = trigger_stages(env, &mut api).await?;
    let mut found = 0;
    if !triggers.is_empty() {
        let query = Query { stage_ids: &triggers, updated_since: Some(state.read_from()), archived: Some(false) };
        let listed = api.list_opportunities(&query).await?;
        let moves = entries(&listed, &triggers, |at| at >= state.since.timestamp_millis());
        found = record_found(env, org_id, &moves, Found::Sweep).await?;
    }
    lifecycle::catch_up(env, &mut api, state.read_from()).await?;
    Ok(found)
}

/// Counts the candidates already waiting in trigger stages without an invitation, and
/// with `invite`, invites them (an admin's **Invite them**).
#[derive(Debug, Serialize, Deserialize)]
pub struct WaitingCandidates {
    pub org_id: Uuid,
    pub invite: bool,
}

impl Job for WaitingCandidates {
    const KIND: &'static str = "lever_waiting_candidates";
    const MAX_ATTEMPTS: i32 = 5;

    fn org_id(&self) -> Option<Uuid> {
        Some(self.org_id)
    }

    fn unique_key(&self) -> Option<String> {
        Some(format!("waiting:{}:{}", self.org_id, self.invite))
    }

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        let env = &ctx.env;
        let Some(state) = sweeps::get(&env.db, self.org_id).await? else {
            return Ok(());
        };
        match waiting(env, self.org_id, &state, self.invite).await {
            Ok(left) => sweeps::counted_waiting(&env.db, self.org_id, Ok(left)).await?,
            Err(e) => {
                if let Some(why) = e.gives_up(ctx.attempt, Self::MAX_ATTEMPTS) {
                    sweeps::counted_waiting(&env.db, self.org_id, Err(&format!("{why:#}"))).await?;
                }
                return Err(e);
            }
        }
        Ok(())
    }
}

/// The waiting candidates left after this run (0 once invited).
async fn waiting(env: &Env, org_id: Uuid, state: &sweeps::Sweep, invite: bool) -> Result<i32, JobError> {
    let mut api = Api::for_org(&env.lever, org_id).await?;
    let triggers = trigger_stages(env, &mut api).await?;
    if triggers.is_empty() {
        return Ok(0);
    }
    let listed =
        api.list_opportunities(&Query { stage_ids: &triggers, archived: Some(false), ..Query::default() }).await?;
    let before = entries(&listed, &triggers, |at| at < state.since.timestamp_millis());
    let mut conn = env.db.acquire().await?;
    let waiting = stage_entries::unhandled(&mut conn, org_id, &before).await?;
    let invited = invitations::opportunities_invited(&mut conn, org_id, &waiting).await?;
    let waiting: Vec<_> = waiting.into_iter().filter(|(o, _, _)| !invited.contains(o)).collect();
    drop(conn);
    if !invite {
        return Ok(waiting.len() as i32);
    }
    record_found(env, org_id, &waiting, Found::Waiting).await?;
    Ok(0)
}

/// The trigger stages of the organization: those picked, else every stage named after the
/// brand.
async fn trigger_stages(env: &Env, api: &mut Api<'_>) -> Result<Vec<String>, JobError> {
    let picked = settings::picked_stages(&env.db, api.org_id).await?;
    if !picked.is_empty() {
        return Ok(picked);
    }
    let stages = cache::refresh_stages(&env.lever, api).await?;
    let brand = &env.settings.brand;
    Ok(stages.into_iter().filter(|s| is_trigger_stage(brand, &[], &s.id, Some(&s.text))).map(|s| s.id).collect())
}

/// Each listed opportunity's entry into the trigger stage it is in now, when `keep` takes
/// the time of that entry.
fn entries(listed: &Listed, triggers: &[String], keep: impl Fn(i64) -> bool) -> Vec<(String, String, i64)> {
    listed
        .opportunities
        .iter()
        .filter(|o| !o.is_archived())
        .filter_map(|o: &Opportunity| {
            let stage = o.stage.as_deref().filter(|s| triggers.iter().any(|t| t == s))?;
            let at = o.entered_at(stage).unwrap_or(0);
            keep(at).then(|| (o.id.clone(), stage.to_string(), at))
        })
        .collect()
}

/// Who found a move: the sweep, or an admin inviting waiting candidates.
#[derive(Clone, Copy)]
enum Found {
    Sweep,
    Waiting,
}

impl Found {
    fn source(self) -> &'static str {
        match self {
            Self::Sweep => "sweep",
            Self::Waiting => "waiting",
        }
    }
}

/// Stores each move nobody handled (and no webhook delivery of the last hour waits for) as
/// a delivery the sweep found, with the job that handles it, in one transaction. Its token
/// names the move, so the same move found again is the same delivery. Returns how many
/// were new.
async fn record_found(env: &Env, org_id: Uuid, moves: &[(String, String, i64)], by: Found) -> Result<i32, JobError> {
    if moves.is_empty() {
        return Ok(0);
    }
    let now = env.clock.now();
    let mut tx = env.db.begin().await?;
    let moves = stage_entries::unhandled(&mut tx, org_id, moves).await?;
    let tokens = deliveries::insert_found(&mut tx, org_id, &moves, by.source(), now).await?;
    for token in &tokens {
        jobs::enqueue(&mut tx, &HandleDelivery { org_id, token: token.clone() }, now).await?;
    }
    tx.commit().await?;
    if !tokens.is_empty() {
        tracing::info!(org_id = %org_id, found = tokens.len(), source = by.source(), "moves into trigger stages found in Lever");
    }
    Ok(tokens.len() as i32)
}

/// Queues the sweeps that are due (run by the workers' upkeep). Exactly one process
/// schedules each.
pub async fn schedule_due(env: &Env, now: DateTime<Utc>) -> sqlx::Result<usize> {
    let mut tx = env.db.begin().await?;
    let due = sweeps::take_due(&mut tx, now, env.settings.sweep_every()).await?;
    for org_id in &due {
        jobs::enqueue(&mut tx, &SweepLever { org_id: *org_id }, now).await?;
    }
    tx.commit().await?;
    Ok(due.len())
}

/// The set-up changed (Connect, webhooks set up, trigger stages picked): candidates in a
/// trigger stage from before now are waiting candidates, counted for the Lever page, and
/// the sweep heals moves from now on. In the caller's transaction.
pub async fn set_up_changed(
    conn: &mut sqlx::PgConnection,
    org_id: Uuid,
    settings: &crate::config::Settings,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    // Lever's times are compared with this one: Lever's clock, the wall clock.
    sweeps::start(conn, org_id, Utc::now(), now, settings.sweep_every()).await?;
    jobs::enqueue(conn, &WaitingCandidates { org_id, invite: false }, now).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn opportunity(id: &str, stage: &str, entered: i64, archived: bool) -> Opportunity {
        let mut o = json!({"id": id, "stage": stage, "stageChanges": [{"toStageId": stage, "updatedAt": entered}]});
        if archived {
            o["archived"] = json!({"reason": "r", "archivedAt": entered + 1});
        }
        serde_json::from_value(o).unwrap()
    }

    #[test]
    fn a_sweep_takes_active_candidates_in_trigger_stages_entered_in_its_window() {
        let listed = Listed {
            opportunities: vec![
                opportunity("new", "assess", 2_000, false),
                opportunity("old", "assess", 500, false),
                opportunity("elsewhere", "screen", 2_000, false),
                opportunity("archived", "assess", 2_000, true),
            ],
            confidential_included: true,
        };
        let triggers = vec!["assess".to_string()];
        let since = 1_000;
        let swept = entries(&listed, &triggers, |at| at >= since);
        assert_eq!(swept, vec![("new".to_string(), "assess".to_string(), 2_000)]);
        let waiting = entries(&listed, &triggers, |at| at < since);
        assert_eq!(waiting, vec![("old".to_string(), "assess".to_string(), 500)]);
    }
}
