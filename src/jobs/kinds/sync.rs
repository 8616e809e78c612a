//! Brings one opportunity in Lever up to date with its invitations: the status tag, the
//! invite note of each invitation, the result (a feedback form, or a scored note when no
//! form can be written) and why an invitation was cancelled. It converges on the current
//! state whatever order events came in, and each effect happens once (tags are idempotent;
//! notes and forms go through `lever::writes`). Nothing is written to an opportunity whose
//! candidate was deleted or anonymized in Lever.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::{
    copy,
    domain::lifecycle::{Status, StatusTags, rating, rating_label},
    invitations::{self, CancelReason, InLever, InvitationStatus, candidate_label},
    jobs::Env,
    jobs::{self, Job, JobContext, JobError, kinds::lever_setup::EnsureFeedbackTemplate},
    lever::{
        Api, LeverError, connection,
        feedback::{self, Known},
        status_tags,
        writes::{self, Payload, Write},
    },
};

#[derive(Debug, Serialize, Deserialize)]
pub struct SyncOpportunity {
    pub org_id: Uuid,
    pub opportunity_id: String,
}

impl Job for SyncOpportunity {
    const KIND: &'static str = "lever_sync_opportunity";
    const MAX_ATTEMPTS: i32 = 12;

    fn org_id(&self) -> Option<Uuid> {
        Some(self.org_id)
    }

    fn unique_key(&self) -> Option<String> {
        Some(format!("sync:{}:{}", self.org_id, self.opportunity_id))
    }

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        let env = &ctx.env;
        let mut conn = env.db.acquire().await?;
        if invitations::removed_in_lever(&mut conn, self.org_id, &self.opportunity_id).await? {
            return Ok(());
        }
        drop(conn);
        let invitations = invitations::shown_in_lever(&env.db, self.org_id, &self.opportunity_id).await?;
        if invitations.is_empty() {
            return Ok(());
        }
        let mut api = Api::for_org(&env.lever, self.org_id).await?;
        sync_tags(env, &mut api, &self.opportunity_id, &invitations).await?;
        for inv in &invitations {
            if inv.email_sent_at.is_some() {
                invite_note(env, &mut api, &self.opportunity_id, inv).await?;
            }
            match inv.status {
                InvitationStatus::Completed | InvitationStatus::Expired => {
                    result(env, &mut api, &self.opportunity_id, inv).await?
                }
                InvitationStatus::Cancelled => cancel_note(env, &mut api, &self.opportunity_id, inv).await?,
                InvitationStatus::Invited | InvitationStatus::Started => {}
            }
        }
        Ok(())
    }
}

impl InLever {
    fn lifecycle(&self) -> Option<Status> {
        Status::of(self.status, self.passed)
    }
}

/// Gives the opportunity the status tag its invitations call for.
async fn sync_tags(env: &Env, api: &mut Api<'_>, opportunity: &str, invitations: &[InLever]) -> Result<(), JobError> {
    let tags = StatusTags::new(&env.settings.brand);
    let statuses: Vec<(Status, DateTime<Utc>)> =
        invitations.iter().filter_map(|i| Some((i.lifecycle()?, i.updated_at))).collect();
    let desired = tags.desired(&statuses);
    set_status_tags(env, api, opportunity, &desired).await
}

/// Makes `desired` the opportunity's status tags (they are mutually exclusive), calling
/// Lever only for what differs from what Fulcrum last wrote or saw there.
pub async fn set_status_tags(
    env: &Env,
    api: &mut Api<'_>,
    opportunity: &str,
    desired: &[String],
) -> Result<(), JobError> {
    let believed = status_tags::believed(&env.db, api.org_id, opportunity).await?;
    if desired.iter().any(|t| !believed.contains(t)) {
        api.add_tags(opportunity, desired, None).await?;
    }
    let stale: Vec<String> = believed.iter().filter(|t| !desired.contains(t)).cloned().collect();
    if !stale.is_empty() {
        api.remove_tags(opportunity, &stale, None).await?;
    }
    status_tags::remember(&env.db, api.org_id, opportunity, desired).await?;
    Ok(())
}

fn marker(env: &Env, id: Uuid, what: &str) -> String {
    writes::marker(&env.settings.brand, id, what)
}

async fn invite_note(env: &Env, api: &mut Api<'_>, opportunity: &str, inv: &InLever) -> Result<(), JobError> {
    let brand = &env.settings.brand;
    let marker = marker(env, inv.id, "invite");
    let key = format!("inv:{}:invite-note", inv.id);
    let write = Write { key: &key, org_id: api.org_id, opportunity_id: opportunity, marker: &marker };
    let text = copy::text(&copy::InviteNote {
        brand,
        assessment: &inv.assessment_name,
        who: inv.who(),
        email: &inv.candidate_email,
        deadline: inv.deadline,
        report: &invitations::report_url(env.settings.public_url(), inv.id),
        marker: &marker,
    });
    writes::once(&env.lever, api, &write, Payload::Note { text: &text, score: None }).await?;
    Ok(())
}

/// The result as a feedback form on Fulcrum's template, written as the user who moved the
/// candidate (else the posting owner, else whoever connected Lever); a scored note when no
/// form can be written.
async fn result(env: &Env, api: &mut Api<'_>, opportunity: &str, inv: &InLever) -> Result<(), JobError> {
    let Some(status) = inv.lifecycle() else { return Ok(()) };
    let report = invitations::report_url(env.settings.public_url(), inv.id);
    // The first round keeps the key (and marker) results always had; a reopened
    // invitation's later result is a write of its own.
    let (key, report) = match inv.reopens {
        0 => (format!("inv:{}:result", inv.id), report),
        n => (format!("inv:{}:result:{n}", inv.id), format!("{report}#round-{}", n + 1)),
    };
    let connected_by = connection::get(&env.db, api.org_id).await?.and_then(|c| c.lever_user_id);
    let authors: Vec<String> = inv.perform_as.iter().chain(connected_by.iter()).cloned().collect();
    let template = match authors.is_empty() {
        true => Err("no Lever user to write the form as".to_string()),
        false => match feedback::known(&env.db, &api.account_id).await? {
            Known::Ready(template) => Ok(template),
            Known::Unavailable(why) => Err(format!("Lever refused the feedback template: {why}")),
            Known::Unknown => {
                // One job per account finds or makes it; this one comes back shortly.
                jobs::enqueue(
                    &mut *env.db.acquire().await?,
                    &EnsureFeedbackTemplate { org_id: api.org_id },
                    env.clock.now(),
                )
                .await?;
                return Err(JobError::Defer(
                    std::time::Duration::from_millis(500),
                    "waiting for the feedback template".into(),
                ));
            }
        },
    };
    let Ok(template) = template else {
        let why = template.err().unwrap_or_default();
        return result_note(env, api, opportunity, inv, status, &key, &why).await;
    };
    // The report link is unique to this invitation (and round), so it is the form's marker.
    let write = Write { key: &key, org_id: api.org_id, opportunity_id: opportunity, marker: &report };
    let form = feedback_form(&template, inv, status, &report);
    let mut answer = Err(LeverError::Rejected { status: 400, message: "no author".into() });
    for author in &authors {
        answer = writes::once(&env.lever, api, &write, Payload::Feedback { perform_as: author, form: &form }).await;
        // A deactivated or unknown user is refused with 400: try the next author.
        if !matches!(answer, Err(LeverError::Rejected { status: 400, .. })) {
            break;
        }
    }
    match answer {
        Err(LeverError::Forbidden(why)) => {
            result_note(env, api, opportunity, inv, status, &key, &format!("Lever refused the feedback form: {why}"))
                .await
        }
        // Refused for every author: perhaps the template was deleted in Lever. If so, it is
        // made again on the next attempt.
        Err(refused @ LeverError::Rejected { status: 400, .. }) => {
            if api.feedback_template_exists(&template.id).await? {
                return Err(refused.into());
            }
            feedback::forget(&env.db, &api.account_id).await?;
            Err(LeverError::Unavailable(format!("the feedback template was deleted in Lever ({refused})")).into())
        }
        answer => Ok(answer?),
    }
}

fn feedback_form(template: &feedback::Template, inv: &InLever, status: Status, report: &str) -> serde_json::Value {
    let stars = rating(status, inv.score, inv.pass_mark);
    let mut values = vec![
        json!({ "id": template.rating, "value": rating_label(stars) }),
        json!({ "id": template.score, "value": inv.score.unwrap_or(0).to_string() }),
        json!({ "id": template.result, "value": Status::label(Some(status)) }),
        json!({ "id": template.report, "value": report }),
    ];
    if status != (Status::Completed { passed: true }) {
        values.push(json!({ "id": template.reason, "value": inv.reason() }));
    }
    let mut form = json!({ "baseTemplateId": template.id, "fieldValues": values });
    if let Some(at) = inv.completed_at {
        form["completedAt"] = json!(at.timestamp_millis());
    }
    form
}

async fn result_note(
    env: &Env,
    api: &mut Api<'_>,
    opportunity: &str,
    inv: &InLever,
    status: Status,
    key: &str,
    why: &str,
) -> Result<(), JobError> {
    let brand = &env.settings.brand;
    let marker = match inv.reopens {
        0 => marker(env, inv.id, "result"),
        n => marker(env, inv.id, &format!("round-{}/result", n + 1)),
    };
    let write = Write { key, org_id: api.org_id, opportunity_id: opportunity, marker: &marker };
    let stars = rating(status, inv.score, inv.pass_mark);
    let reason = (status != Status::Completed { passed: true }).then(|| inv.reason());
    let text = copy::text(&copy::ResultNote {
        brand,
        assessment: &inv.assessment_name,
        result: Status::label(Some(status)),
        score: inv.score.unwrap_or(0),
        pass_mark: inv.pass_mark,
        rating: rating_label(stars),
        failure_reason: reason.as_deref(),
        report: &invitations::report_url(env.settings.public_url(), inv.id),
        why,
        marker: &marker,
    });
    writes::once(&env.lever, api, &write, Payload::Note { text: &text, score: Some(stars) }).await?;
    Ok(())
}

/// Why the invitation was cancelled, beside the Cancelled tag.
async fn cancel_note(env: &Env, api: &mut Api<'_>, opportunity: &str, inv: &InLever) -> Result<(), JobError> {
    let Some(kind) = inv.cancel_reason else { return Ok(()) };
    let reason = CancelReason::stored(kind, inv.cancel_detail.clone());
    if !reason.shows_in_lever() {
        return Ok(());
    }
    let brand = &env.settings.brand;
    let marker = marker(env, inv.id, "cancel");
    let key = format!("inv:{}:cancel-note", inv.id);
    let write = Write { key: &key, org_id: api.org_id, opportunity_id: opportunity, marker: &marker };
    let text = copy::text(&copy::CancelNote {
        brand,
        assessment: &inv.assessment_name,
        who: inv.who(),
        why: &copy::text(&copy::CancelWhy { brand, reason: &reason }),
        report: &invitations::report_url(env.settings.public_url(), inv.id),
        marker: &marker,
    });
    writes::once(&env.lever, api, &write, Payload::Note { text: &text, score: None }).await?;
    Ok(())
}

impl InLever {
    fn who(&self) -> &str {
        candidate_label(&self.candidate_name, &self.candidate_email)
    }

    fn reason(&self) -> String {
        match (&self.failure_reason, self.status) {
            (Some(reason), _) if !reason.is_empty() => reason.clone(),
            (_, InvitationStatus::Expired) => {
                "The candidate did not complete the assessment before the deadline.".into()
            }
            _ => format!("Scored {} against a pass mark of {}.", self.score.unwrap_or(0), self.pass_mark),
        }
    }
}
