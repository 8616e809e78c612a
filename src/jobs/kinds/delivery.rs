//! Handles one accepted webhook delivery: is this a move into a trigger stage, which
//! assessments do the posting's and opportunity's tags name, and who gets invited. What
//! prevents an invitation becomes `{brand}: Error` and a note in Lever saying why and how to
//! fix it. The delivery log shows what each delivery led to.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::{
    db::{self, assessments::AssessmentRef},
    domain::{
        email::EmailAddress,
        lifecycle::{StatusTags, is_trigger_stage},
        resolution::{self, Resolved},
    },
    invitations::{self, NewInvitation},
    jobs::Env,
    jobs::{
        Job, JobContext, JobError,
        kinds::{Subject, error_note, follow_up},
    },
    lever::{Api, LeverError, cache, types::Opportunity, webhook},
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
        let delivery = sqlx::query!(
            "SELECT id, event, opportunity_id, data, result FROM deliveries
             WHERE org_id = $1 AND token = $2 AND outcome = 'accepted'",
            self.org_id,
            self.token
        )
        .fetch_optional(&env.db)
        .await?;
        let Some(delivery) = delivery.filter(|d| d.result.is_none()) else {
            return Ok(());
        };
        let event = Event {
            id: delivery.id,
            kind: delivery.event.unwrap_or_default(),
            opportunity_id: delivery.opportunity_id.unwrap_or_default(),
            data: delivery.data.unwrap_or_default(),
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
        sqlx::query!("UPDATE deliveries SET result = $2 WHERE id = $1", event.id, summary).execute(&env.db).await?;
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
            let reason = Problem::Permission(format!("{e:#}"));
            error_in_lever(env, api, event, &reason).await?;
            Ok(reason.summary())
        }
        other => other,
    }
}

fn is_forbidden(e: &anyhow::Error) -> bool {
    matches!(e.downcast_ref::<LeverError>(), Some(LeverError::Forbidden(_)))
}

async fn decide(env: &Env, api: &mut Api<'_>, event: &Event) -> Result<String, JobError> {
    let picked = sqlx::query_scalar!("SELECT trigger_stage_ids FROM lever_settings WHERE org_id = $1", api.org_id)
        .fetch_optional(&env.db)
        .await?
        .unwrap_or_default();
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
    remember_status_tags(env, api.org_id, &opportunity).await?;
    if opportunity.archived.as_ref().is_some_and(Value::is_object) {
        return report(env, api, event, Problem::Archived).await;
    }
    let posting = match opportunity.posting_id() {
        Some(id) => Some(cache::posting(&env.lever, api, id).await?),
        None => None,
    };
    let posting_tags = posting.as_ref().map(|p| p.tags.clone()).unwrap_or_default();
    let assessments = db::assessments::for_resolution(&mut *env.db.acquire().await?, api.org_id).await?;
    let catalogue: Vec<resolution::Candidate> = assessments.iter().map(AssessmentRef::candidate).collect();
    let tags = posting_tags.iter().chain(&opportunity.tags).map(String::as_str);
    let resolved = resolution::resolve(&env.settings.brand, tags, &catalogue);
    if resolved.invite.is_empty() {
        return report(env, api, event, Problem::from_resolution(&env.settings.brand, &resolved)).await;
    }
    let Some(email) = opportunity.emails.iter().find_map(|e| EmailAddress::parse(e).ok()) else {
        return report(env, api, event, Problem::NoEmail).await;
    };
    let perform_as = opportunity
        .moved_into_by(&stage)
        .or_else(|| opportunity.applications.iter().find_map(|a| a.posting_owner.as_deref()))
        .or_else(|| posting.as_ref().and_then(|p| p.owner.as_deref()));
    let entered = opportunity.entered_at(&stage);
    let mut tx = env.db.begin().await?;
    let (mut invited, mut open) = (Vec::new(), Vec::new());
    for id in &resolved.invite {
        let a = assessments.iter().find(|a| a.id == *id).expect("resolved from this list");
        // An invitation that is open, or was completed: a candidate takes an assessment once
        // (only an expired or cancelled one may be sent again).
        let live = sqlx::query!(
            "SELECT stage_entered_at, deadline, created_at, completed_at FROM invitations
             WHERE org_id = $1 AND opportunity_id = $2 AND assessment_id = $3
               AND status IN ('invited', 'started', 'completed')
             ORDER BY created_at DESC LIMIT 1",
            api.org_id,
            opportunity.id,
            a.id
        )
        .fetch_optional(&mut *tx)
        .await?;
        match live {
            // The same move reported twice (e.g. Application Created and Stage Change).
            Some(l) if l.stage_entered_at.is_some() && l.stage_entered_at == entered => {}
            Some(l) => open.push(Earlier {
                assessment: a.name.clone(),
                sent: l.created_at,
                deadline: l.deadline,
                completed: l.completed_at,
            }),
            None => {
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
                let now = env.clock.now();
                let remind = env.settings.email.reminder_hours_before_deadline;
                if let Some((id, effects)) = invitations::create(&mut tx, &env.cipher, now, remind, &new).await? {
                    let subject = Subject { org_id: api.org_id, invitation_id: id, opportunity_id: &opportunity.id };
                    follow_up(&mut tx, subject, &effects, now).await?;
                    invited.push(a.name.clone());
                }
            }
        }
    }
    tx.commit().await?;
    if !invited.is_empty() {
        return Ok(format!("Invited {email} to {}", invited.join(", ")));
    }
    if open.is_empty() {
        return Ok("Already invited for this move: nothing new".into());
    }
    report(env, api, event, Problem::AlreadyInvited(open)).await
}

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

/// An earlier invitation to the same assessment that stands in the way of a new one.
struct Earlier {
    assessment: String,
    sent: chrono::DateTime<chrono::Utc>,
    deadline: chrono::DateTime<chrono::Utc>,
    completed: Option<chrono::DateTime<chrono::Utc>>,
}

/// Why a candidate was not invited, with the fix.
enum Problem {
    NoTag { seen: Vec<String>, near: Vec<(String, String)> },
    Unknown(Vec<(String, Option<String>)>),
    Inactive(Vec<String>),
    NoEmail,
    Archived,
    AlreadyInvited(Vec<Earlier>),
    Permission(String),
}

impl Problem {
    fn from_resolution(brand: &str, r: &Resolved) -> Self {
        if !r.inactive.is_empty() {
            return Self::Inactive(r.inactive.clone());
        }
        if r.unknown.iter().any(|(tag, _)| resolution::normalize(tag).starts_with(&resolution::normalize(brand))) {
            return Self::Unknown(r.unknown.clone());
        }
        let near = r.unknown.iter().filter_map(|(tag, s)| Some((tag.clone(), s.clone()?))).collect();
        Self::NoTag { seen: r.seen.clone(), near }
    }

    fn text(&self, brand: &str) -> (String, String) {
        let quote = |items: &[String]| items.iter().map(|t| format!("\"{t}\"")).collect::<Vec<_>>().join(", ");
        match self {
            Self::NoTag { seen, near } => {
                let mut why = format!(
                    "No assessment tag was found on the posting or the opportunity. Tags seen: {}.",
                    if seen.is_empty() { "none".to_string() } else { quote(seen) }
                );
                for (tag, suggestion) in near {
                    why.push_str(&format!(" \"{tag}\" is not an assessment tag — did you mean \"{suggestion}\"?"));
                }
                let fix = format!(
                    "Add the tag \"{brand} <assessment name>\" or the assessment's code (e.g. FC-12345, listed under \
                     Assessments in {brand}) to the posting or the opportunity, then move the candidate into the stage again."
                );
                (why, fix)
            }
            Self::Unknown(tags) => {
                let list: Vec<String> = tags
                    .iter()
                    .map(|(tag, s)| match s {
                        Some(s) => format!("\"{tag}\" (did you mean \"{s}\"?)"),
                        None => format!("\"{tag}\""),
                    })
                    .collect();
                (
                    format!("No assessment in {brand} matches the tag {}.", list.join(", ")),
                    format!(
                        "Correct the tag, or create the assessment in {brand}, then move the candidate into the stage again."
                    ),
                )
            }
            Self::Inactive(tags) => (
                format!("The assessment tagged {} is switched off in {brand}.", quote(tags)),
                format!("Switch it on under Assessments in {brand}, then move the candidate into the stage again."),
            ),
            Self::NoEmail => (
                "The candidate has no usable email address in Lever.".into(),
                "Add an email address to the candidate in Lever, then move them into the stage again.".into(),
            ),
            Self::Archived => (
                "The candidate is archived in Lever, so no assessment was sent.".into(),
                "Unarchive the candidate in Lever, then move them into the stage again.".into(),
            ),
            Self::AlreadyInvited(earlier) => {
                let (done, open): (Vec<&Earlier>, Vec<&Earlier>) = earlier.iter().partition(|e| e.completed.is_some());
                let mut why = Vec::new();
                if !open.is_empty() {
                    let list: Vec<String> = open
                        .iter()
                        .map(|e| {
                            format!(
                                "{} (sent {}, valid until {})",
                                e.assessment,
                                e.sent.format("%Y-%m-%d"),
                                e.deadline.format("%Y-%m-%d %H:%M UTC")
                            )
                        })
                        .collect();
                    why.push(format!("The candidate already has an open invitation: {}.", list.join("; ")));
                }
                if !done.is_empty() {
                    let list: Vec<String> = done
                        .iter()
                        .filter_map(|e| {
                            Some(format!("{} (completed {})", e.assessment, e.completed?.format("%Y-%m-%d")))
                        })
                        .collect();
                    why.push(format!("The candidate has already taken {}.", list.join("; ")));
                }
                let fix = if open.is_empty() {
                    format!(
                        "Nothing to do: a candidate takes each assessment once, and the result is on the candidate's \
                         feedback. For another attempt, tag a different {brand} assessment."
                    )
                } else {
                    "Wait until it is completed or expires; a new invitation is sent when the candidate is moved into the \
                     stage after it expired."
                        .into()
                };
                (why.join(" "), fix)
            }
            Self::Permission(detail) => (
                format!("{brand} is missing a Lever permission: {detail}."),
                format!(
                    "An admin reconnects Lever in {brand} (Lever settings page) and accepts every requested permission."
                ),
            ),
        }
    }

    fn summary(&self) -> String {
        let (why, _) = self.text("");
        format!("Not invited: {why}")
    }
}

/// Reports the problem in Lever and returns the delivery log's line for it.
async fn report(env: &Env, api: &mut Api<'_>, event: &Event, problem: Problem) -> Result<String, JobError> {
    error_in_lever(env, api, event, &problem).await?;
    let (why, _) = problem.text(&env.settings.brand);
    Ok(format!("Not invited: {why}"))
}

async fn error_in_lever(env: &Env, api: &mut Api<'_>, event: &Event, problem: &Problem) -> Result<(), JobError> {
    let (why, fix) = problem.text(&env.settings.brand);
    error_note::write(env, api, &event.opportunity_id, &format!("delivery-{}", event.id), &why, &fix).await
}
