//! The checks that read Lever: webhooks registered, trigger stages, open postings. One
//! bounded pass through the normal Lever client (the account's rate limit applies).

use serde_json::Value;
use uuid::Uuid;

use super::{Check, Handles, LEVER_TIMEOUT, Status, local::Facts};
use crate::{
    domain::resolution::{self, Candidate},
    lever::{
        Api, LeverError,
        settings::cached_stages,
        types::Stage,
        webhook::{self, EVENTS, REQUIRED},
    },
};

pub(super) struct Remote {
    pub webhooks: Check,
    pub trigger_stages: Check,
    pub postings: Check,
}

const WEBHOOKS_FIX: &str =
    "Click Create webhooks in Lever on the Lever page, then have a Super Admin switch the events on in Lever.";
const STAGES_FIX: &str =
    "Pick the trigger stages again on the Lever page, or name a stage in Lever starting with the brand word.";
const POSTINGS_FIX: &str = "Correct the posting's tag in Lever to an assessment's name tag or code (see Assessments), or activate the assessment.";

pub(super) async fn check(h: &Handles<'_>, org_id: Uuid, facts: &Facts) -> Remote {
    let unreadable = |why: &str| Remote {
        webhooks: Check::new(
            "webhooks",
            "Webhooks in Lever",
            Status::Warning,
            format!("Not checked: {why}."),
            WEBHOOKS_FIX,
        ),
        trigger_stages: Check::new(
            "trigger_stages",
            "Trigger stages",
            Status::Warning,
            format!("Not checked: {why}."),
            STAGES_FIX,
        ),
        postings: Check::new("postings", "Posting tags", Status::Warning, format!("Not checked: {why}."), POSTINGS_FIX),
    };
    if !facts.connection.as_ref().is_some_and(|c| c.connected()) {
        return unreadable("Lever is not connected");
    }
    match tokio::time::timeout(LEVER_TIMEOUT, read(h, org_id, facts)).await {
        Ok(Ok(remote)) => remote,
        Ok(Err(e)) => unreadable(&format!("Lever answered: {e}")),
        Err(_) => unreadable(&format!("Lever did not answer within {} seconds", LEVER_TIMEOUT.as_secs())),
    }
}

async fn read(h: &Handles<'_>, org_id: Uuid, facts: &Facts) -> Result<Remote, LeverError> {
    let mut api = Api::for_org(h.lever, org_id).await?;
    let webhooks = match api.webhooks().await {
        Ok(registered) => webhooks(facts, &registered),
        Err(LeverError::Forbidden(why)) => {
            let detail = format!("Lever refused to list webhooks ({why}).");
            Check::new("webhooks", "Webhooks in Lever", Status::Warning, detail, WEBHOOKS_FIX)
        }
        Err(e) => return Err(e),
    };
    let stages = api.stages().await?;
    let cached = cached_stages(h.db, &api.account_id).await.map_err(LeverError::database)?.unwrap_or_default();
    let trigger_stages = trigger_stages(h.brand, facts, &stages, &cached);
    let postings = match api.open_postings().await {
        Ok(open) => postings(h, org_id, &open).await.map_err(LeverError::database)?,
        Err(LeverError::Forbidden(why)) => {
            let detail = format!("Lever refused to list postings ({why}).");
            Check::new(
                "postings",
                "Posting tags",
                Status::Error,
                detail,
                "Reconnect Lever and accept postings:read:admin.",
            )
        }
        Err(e) => return Err(e),
    };
    Ok(Remote { webhooks, trigger_stages, postings })
}

fn webhooks(facts: &Facts, registered: &[Value]) -> Check {
    let url = &facts.overview.webhook_url;
    let at_our_url = |event: &str| registered.iter().any(|w| w["event"] == event && w["url"].as_str() == Some(url));
    let missing: Vec<&str> = EVENTS.into_iter().filter(|e| !at_our_url(e)).collect();
    let required = missing.iter().any(|e| REQUIRED.contains(e));
    let (status, detail) = match missing.as_slice() {
        [] => (Status::Ok, format!("{} are registered in Lever at {url}.", EVENTS.join(", "))),
        _ if !required => (
            Status::Warning,
            format!(
                "Not registered in Lever at {url}: {}. Hires, rejections and deletions are learnt from the sweep \
                 only.",
                missing.iter().map(|e| webhook::label(e)).collect::<Vec<_>>().join(", ")
            ),
        ),
        _ => (
            Status::Error,
            format!(
                "Not registered in Lever at {url}: {}. Candidates moved in Lever are not seen.",
                missing.join(", ")
            ),
        ),
    };
    Check::new("webhooks", "Webhooks in Lever", status, detail, WEBHOOKS_FIX)
}

fn trigger_stages(brand: &str, facts: &Facts, stages: &[Stage], cached: &[Stage]) -> Check {
    let check = |status, detail: String| Check::new("trigger_stages", "Trigger stages", status, detail, STAGES_FIX);
    let picked = &facts.overview.trigger_stage_ids;
    if picked.is_empty() {
        let prefix = resolution::normalize(brand);
        let named: Vec<&str> = stages
            .iter()
            .filter(|s| resolution::normalize(&s.text).starts_with(&prefix))
            .map(|s| s.text.as_str())
            .collect();
        return match named.as_slice() {
            [] => check(
                Status::Error,
                format!("No stage is picked and no stage in Lever starts with \"{brand}\": nobody is invited."),
            ),
            _ => check(Status::Ok, format!("Candidates moved into {} are invited.", quoted(&named))),
        };
    }
    let mut problems = Vec::new();
    let mut names = Vec::new();
    for id in picked {
        let was = cached.iter().find(|s| &s.id == id).map(|s| s.text.as_str());
        match (stages.iter().find(|s| &s.id == id), was) {
            (None, was) => {
                problems.push(format!("the picked stage \"{}\" no longer exists in Lever", was.unwrap_or(id)))
            }
            (Some(now), Some(was)) if now.text != was => {
                problems.push(format!("the picked stage \"{was}\" was renamed in Lever to \"{}\"", now.text))
            }
            (Some(now), _) => names.push(now.text.as_str()),
        }
    }
    match problems.is_empty() {
        true => check(Status::Ok, format!("Candidates moved into {} are invited.", quoted(&names))),
        false => check(Status::Error, format!("{}.", capitalise(&problems.join("; ")))),
    }
}

async fn postings(h: &Handles<'_>, org_id: Uuid, open: &[Value]) -> sqlx::Result<Check> {
    let rows = sqlx::query!("SELECT id, name, code, active FROM assessments WHERE org_id = $1", org_id)
        .fetch_all(h.db)
        .await?;
    let assessments: Vec<Candidate> =
        rows.iter().map(|r| Candidate { id: r.id, name: &r.name, code: &r.code, active: r.active }).collect();
    let (mut lines, mut misses) = (Vec::new(), Vec::new());
    for posting in open {
        let title = posting["text"].as_str().unwrap_or("(untitled)");
        let tags: Vec<&str> = posting["tags"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        let resolved = resolution::resolve(h.brand, tags, &assessments);
        let names: Vec<&str> =
            resolved.invite.iter().filter_map(|id| assessments.iter().find(|a| a.id == *id).map(|a| a.name)).collect();
        for (tag, suggestion) in &resolved.unknown {
            misses.push(match suggestion {
                Some(s) => format!("\"{title}\": `{tag}`: did you mean `{s}`?"),
                None => format!("\"{title}\": `{tag}` names no assessment"),
            });
        }
        for tag in &resolved.inactive {
            misses.push(format!("\"{title}\": `{tag}` names an inactive assessment"));
        }
        lines.push(match names.as_slice() {
            [] => format!("\"{title}\" → no assessment"),
            _ => format!("\"{title}\" → {}", names.join(", ")),
        });
    }
    let listed = if lines.is_empty() { "No open postings.".to_string() } else { format!("{}.", lines.join("; ")) };
    Ok(match misses.is_empty() {
        true => Check::new("postings", "Posting tags", Status::Ok, listed, ""),
        false => Check::new(
            "postings",
            "Posting tags",
            Status::Warning,
            format!("{}. {listed}", misses.join("; ")),
            POSTINGS_FIX,
        ),
    })
}

fn quoted(names: &[&str]) -> String {
    names.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ")
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}
