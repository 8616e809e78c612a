//! Handles one accepted webhook delivery: is this a move into a trigger stage, which
//! assessments do the posting's and opportunity's tags name, and who gets invited. What
//! prevents an invitation becomes `{brand}: Error` and a note in Lever saying why and how to
//! fix it. The delivery log shows what each delivery led to.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::{
    copy::{self, Explained},
    db::{self, assessments::AssessmentRef},
    deliveries,
    domain::{
        invite::{self, Decision},
        lifecycle::{StatusTags, is_trigger_stage},
        problem::Problem,
        resolution,
    },
    invitations::{self, NewInvitation},
    jobs::{
        Env, Job, JobContext, JobError,
        kinds::{Subject, error_note, follow_up, lifecycle},
    },
    lever::{Api, LeverError, cache, types::Opportunity, webhook},
    stage_entries,
};

#[derive(Debug, Serialize, Deserialize)]
pub struct HandleDelivery {
    pub org_id: Uuid,
    /// Lever's delivery token (unique per organization).
    pub token: String,
}

impl Job for HandleDelivery {
    const KIND: &'static str = "handle_delivery";
    const MAX_ATTEMPTS: i32 = 10;

    fn org_id(&self) -> Option<Uuid> {
        Some(self.org_id)
    }

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        let env = &ctx.env;
        let Some(delivery) = deliveries::unhandled(&env.db, self.org_id, &self.token).await? else {
            return Ok(());
        };
        let event = Event {
            id: delivery.id,
            kind: delivery.event,
            opportunity_id: delivery.opportunity_id,
            data: delivery.data,
        };
        let outcome = match Api::for_org(&env.lever, self.org_id).await {
            Ok(mut api) => handle(env, &mut api, &event).await,
            Err(e) => Err(e.into()),
        };
        let summary = match outcome {
            Ok(summary) => summary,
            Err(JobError::Fail(e)) => format!("Could not be handled: {e:#}"),
            Err(other) => return Err(other),
        };
        deliveries::set_result(&env.db, event.id, &summary).await?;
        Ok(())
    }
}

struct Event {
    id: i64,
    kind: String,
    opportunity_id: String,
    data: Value,
}

/// Works out and does what the event asks; returns what it led to, for the delivery log.
async fn handle(env: &Env, api: &mut Api<'_>, event: &Event) -> Result<String, JobError> {
    match decide(env, api, event).await {
        Err(JobError::Fail(e)) if is_forbidden(&e) => {
            report(env, api, event, Problem::Permission(format!("{e:#}"))).await
        }
        other => other,
    }
}

fn is_forbidden(e: &anyhow::Error) -> bool {
    matches!(e.downcast_ref::<LeverError>(), Some(LeverError::Forbidden(_)))
}

async fn decide(env: &Env, api: &mut Api<'_>, event: &Event) -> Result<String, JobError> {
    if matches!(event.kind.as_str(), webhook::HIRED | webhook::ARCHIVE_CHANGE | webhook::DELETED) {
        return lifecycle::on_event(env, api, &event.kind, &event.opportunity_id, &event.data).await;
    }
    if invitations::removed_in_lever(&mut *env.db.acquire().await?, api.org_id, &event.opportunity_id).await? {
        return Ok(REMOVED.into());
    }
    let picked = crate::lever::settings::picked_stages(&env.db, api.org_id).await?;
    let (opportunity, stage) = match event.kind.as_str() {
        webhook::STAGE_CHANGE => {
            let stage = event.data["toStageId"].as_str().filter(|s| webhook::is_lever_id(s)).map(str::to_string);
            let Some(stage) = stage else {
                return Err(JobError::Fail(anyhow::anyhow!("the delivery names no toStageId")));
            };
            if !triggers(env, api, &picked, &stage).await? {
                return Ok("Not a trigger stage: nothing to do".into());
            }
            let opportunity = api.opportunity(&event.opportunity_id).await?;
            // A late delivery (Lever's retries, or a Rerun days later) for a move the
            // candidate has since left: Lever's present stage decides.
            if let Some(now_in) = opportunity.stage.as_deref().filter(|now_in| *now_in != stage)
                && !triggers(env, api, &picked, now_in).await?
            {
                return Ok("The candidate has since moved on to a stage that is not a trigger: not invited".into());
            }
            (opportunity, stage)
        }
        _ => {
            let opportunity = api.opportunity(&event.opportunity_id).await?;
            let Some(stage) = opportunity.stage.clone() else {
                return Ok("The new application is in no stage: nothing to do".into());
            };
            if !triggers(env, api, &picked, &stage).await? {
                return Ok("The new application is not in a trigger stage: nothing to do".into());
            }
            (opportunity, stage)
        }
    };
    if opportunity.is_anonymized {
        return lifecycle::apply(env, api.org_id, &opportunity.id, lifecycle::Fact::Anonymized).await;
    }
    let entry = stage_entries::Entry {
        org_id: api.org_id,
        opportunity_id: &opportunity.id,
        stage_id: &stage,
        entered_at: opportunity.entered_at(&stage).unwrap_or(0),
    };
    // This very move was handled already (by a webhook, a Rerun, the sweep): nothing new.
    if stage_entries::handled_by(&mut *env.db.acquire().await?, &entry).await?.is_some_and(|by| by != event.id) {
        return Ok(ALREADY_HANDLED.into());
    }
    remember_status_tags(env, api.org_id, &opportunity).await?;
    let archived = opportunity.is_archived();
    // An archived candidate is explained without reading the posting.
    let posting = match opportunity.posting_id() {
        Some(id) if !archived => Some(cache::posting(&env.lever, api, id).await?),
        _ => None,
    };
    let mut conn = env.db.acquire().await?;
    let assessments = db::assessments::for_resolution(&mut conn, api.org_id).await?;
    let standing = invitations::standing(&mut conn, api.org_id, &opportunity.id).await?;
    drop(conn);
    let catalogue: Vec<resolution::Candidate> = assessments.iter().map(AssessmentRef::candidate).collect();
    let posting_tags = posting.as_ref().map(|p| p.tags.as_slice()).unwrap_or_default();
    let entered = opportunity.entered_at(&stage);
    let now = env.clock.now();
    let facts = invite::Facts {
        brand: &env.settings.brand,
        archived,
        contact: opportunity.contact(now),
        tags: posting_tags.iter().chain(&opportunity.tags).map(String::as_str).collect(),
        catalogue: &catalogue,
        emails: &opportunity.emails,
        entered,
        standing: &standing,
    };
    let (to, email, standing) = match invite::decide(&facts) {
        Decision::Explain(problem) => return report_entry(env, api, event, &entry, problem).await,
        Decision::AlreadyHandled => return Ok(ALREADY_HANDLED.into()),
        Decision::Invite { to, email, standing } => (to, email, standing),
    };
    let perform_as = opportunity
        .moved_into_by(&stage)
        .or_else(|| opportunity.applications.iter().find_map(|a| a.posting_owner.as_deref()))
        .or_else(|| posting.as_ref().and_then(|p| p.owner.as_deref()));
    let remind = env.settings.email.reminder_hours_before_deadline;
    let mut tx = env.db.begin().await?;
    if !stage_entries::claim(&mut tx, &entry, event.id).await? {
        return Ok(ALREADY_HANDLED.into());
    }
    let mut invited = Vec::new();
    for a in to.iter().filter_map(|id| assessments.iter().find(|a| a.id == *id)) {
        let new = NewInvitation {
            org_id: api.org_id,
            assessment_id: a.id,
            expires_after_days: a.expires_after_days,
            opportunity_id: &opportunity.id,
            posting_id: opportunity.posting_id(),
            candidate_name: opportunity.name.as_deref().unwrap_or_default(),
            candidate_email: email.as_str(),
            perform_as,
            stage_entered_at: entered,
            delivery_id: Some(event.id),
        };
        // None: a concurrent delivery for the same move got there first.
        if let Some((id, effects)) = invitations::create(&mut tx, &env.cipher, now, remind, &new).await? {
            let subject = Subject { org_id: api.org_id, invitation_id: id, opportunity_id: &opportunity.id };
            follow_up(&mut tx, subject, &effects, now).await?;
            invited.push(a.name.clone());
        }
    }
    tx.commit().await?;
    if !invited.is_empty() {
        return Ok(format!("Invited {email} to {}", invited.join(", ")));
    }
    if standing.is_empty() {
        return Ok(ALREADY_HANDLED.into());
    }
    report(env, api, event, Problem::AlreadyInvited(standing)).await
}

/// The delivery log's line for a candidate deleted or anonymized in Lever.
const REMOVED: &str = "The candidate was removed in Lever: nothing more is written to them";

/// Reports why this move did not lead to an invitation, once per move: a second report of
/// the same move (a late webhook after the sweep, say) explains nothing again.
async fn report_entry(
    env: &Env,
    api: &mut Api<'_>,
    event: &Event,
    entry: &stage_entries::Entry<'_>,
    problem: Problem,
) -> Result<String, JobError> {
    if !stage_entries::claim(&mut *env.db.acquire().await?, entry, event.id).await? {
        return Ok(ALREADY_HANDLED.into());
    }
    report(env, api, event, problem).await
}

/// The delivery log's line for a move that was handled before.
const ALREADY_HANDLED: &str = "Already invited for this move: nothing new";

async fn triggers(env: &Env, api: &mut Api<'_>, picked: &[String], stage: &str) -> Result<bool, JobError> {
    if !picked.is_empty() {
        return Ok(picked.iter().any(|p| p == stage));
    }
    let name = cache::stage_name(&env.lever, api, stage).await?;
    Ok(is_trigger_stage(&env.settings.brand, &[], stage, name.as_deref()))
}

/// Records which of Fulcrum's status tags the opportunity carries now, so the next sync
/// removes exactly the stale ones.
async fn remember_status_tags(env: &Env, org_id: Uuid, opportunity: &Opportunity) -> sqlx::Result<()> {
    let ours = StatusTags::new(&env.settings.brand).all();
    let present: Vec<String> = opportunity.tags.iter().filter(|t| ours.contains(t)).cloned().collect();
    crate::lever::status_tags::remember(&env.db, org_id, &opportunity.id, &present).await
}

/// Reports the problem in Lever and returns the delivery log's line for it.
async fn report(env: &Env, api: &mut Api<'_>, event: &Event, problem: Problem) -> Result<String, JobError> {
    let Explained { why, fix } = copy::explain(&env.settings.brand, &problem);
    error_note::write(env, api, &event.opportunity_id, &format!("delivery-{}", event.id), &why, &fix).await?;
    Ok(format!("Not invited: {why}"))
}
