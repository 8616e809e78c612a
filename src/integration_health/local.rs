//! The checks Fulcrum answers from its own tables.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::{Check, Handles, Status};
use crate::{
    jobs::{self, JobState},
    lever::{
        FILES_SCOPE, SCOPES,
        connection::{self, Connection},
        settings::{self, Overview},
        webhook,
    },
    sweeps,
};

/// Lever's limits on refresh tokens: 90 days unused, one year in all.
const UNUSED_LIMIT_DAYS: i64 = 90;
const LIFETIME_DAYS: i64 = 365;
/// Silence from Lever for this long is worth a warning.
const QUIET_DAYS: i64 = 7;

pub(super) struct Facts {
    pub connection: Option<Connection>,
    pub overview: Overview,
    pub last_delivery: Option<DateTime<Utc>>,
    pub backlog: Vec<(JobState, i64)>,
    pub oldest_waiting: Option<DateTime<Utc>>,
    /// The last accepted webhook delivery of each event.
    pub last_by_event: Vec<(String, DateTime<Utc>)>,
    /// Moves the sweep found in the last week that no webhook had reported.
    pub found_by_sweep: i64,
    pub sweep: Option<sweeps::Sweep>,
    pub sweep_every: Duration,
}

impl Facts {
    pub async fn load(h: &Handles<'_>, org_id: Uuid) -> anyhow::Result<Self> {
        let connection = connection::get(h.db, org_id).await?;
        let overview = settings::overview(h.lever, org_id).await?;
        let deliveries = crate::deliveries::recent(h.db, org_id).await?;
        let backlog = jobs::backlog(h.db, Some(org_id)).await?;
        let oldest_waiting = sqlx::query_scalar!(
            "SELECT min(run_at) FROM jobs WHERE org_id = $1 AND state = 'queued' AND run_at <= $2",
            org_id,
            h.clock.now()
        )
        .fetch_one(h.db)
        .await?;
        let sweep = sweeps::get(h.db, org_id).await?;
        Ok(Self {
            connection,
            overview,
            last_delivery: deliveries.last,
            backlog,
            oldest_waiting,
            last_by_event: deliveries.last_by_event,
            found_by_sweep: deliveries.found_by_sweep,
            sweep,
            sweep_every: h.sweep_every,
        })
    }

    pub fn granted(&self, scope: &str) -> bool {
        self.connection.as_ref().is_some_and(|c| c.scopes.split_whitespace().any(|s| s == scope))
    }
}

const RECONNECT: &str = "An admin opens the Lever page and clicks Connect Lever; a Lever Super Admin accepts.";

pub(super) fn connection(facts: &Facts, now: DateTime<Utc>) -> Check {
    let check = |status, detail: String, fix: &str| Check::new("connection", "Lever connection", status, detail, fix);
    let Some(c) = &facts.connection else {
        return check(Status::Error, "Lever is not connected: no candidate is invited.".into(), RECONNECT);
    };
    if !c.connected() {
        let why = c.problem.clone().unwrap_or_else(|| "access was revoked or has expired".into());
        return check(Status::Error, format!("Lever needs reconnecting ({why}): work is paused."), RECONNECT);
    }
    let age = now - c.authorized_at;
    let idle = now - c.last_refreshed_at;
    let refreshed = c.last_refreshed_at.format("%Y-%m-%d %H:%M UTC");
    let expires = (c.authorized_at + Duration::days(LIFETIME_DAYS)).format("%Y-%m-%d");
    if age > Duration::days(LIFETIME_DAYS - 30) {
        let detail = format!("Lever's one-year limit on this connection ends on {expires}.");
        return check(Status::Warning, detail, "Reconnect Lever before then (Lever page → Connect Lever).");
    }
    if idle > Duration::days(UNUSED_LIMIT_DAYS - 10) {
        let detail = format!("The token was last refreshed {refreshed}; Lever drops it after 90 days unused.");
        return check(Status::Warning, detail, "Make sure a worker process is running: it refreshes tokens daily.");
    }
    let detail = format!(
        "Connected to Lever account {}; token last refreshed {refreshed}; reconnect needed by {expires}.",
        c.account_id
    );
    check(Status::Ok, detail, "")
}

/// What each scope Fulcrum asks for makes possible, for the scopes check.
fn disables(scope: &str) -> &'static str {
    match scope {
        "offline_access" => "staying connected for more than an hour",
        "opportunities:read:admin" | "opportunities:write:admin" => "reading candidates and setting status tags",
        "notes:read:admin" | "notes:write:admin" => "notes on candidates (invites, errors, results)",
        "stages:read:admin" => "knowing which stage is a trigger stage",
        "tags:read:admin" => "reading tags",
        "postings:read:admin" => "reading posting tags, so candidates are matched to assessments",
        "users:read:admin" => "writing as the recruiter who moved the candidate",
        s if s.starts_with("feedback") => "the scored feedback form (results go into a note instead)",
        s if s.starts_with("webhooks") => "creating and checking webhooks",
        FILES_SCOPE => "attaching the report PDF to the candidate (the feedback form still links to the report)",
        "archive_reasons:read:admin" => "telling a hire from a rejection (every archive counts as a rejection)",
        "confidential:access:admin" => "the sweep seeing candidates of confidential postings",
        _ => "part of the integration",
    }
}

/// Scopes whose absence only narrows what Fulcrum does; without any other, it breaks.
const OPTIONAL: &[&str] = &[
    FILES_SCOPE,
    "archive_reasons:read:admin",
    "confidential:access:admin",
    "feedback:read:admin",
    "feedback:write:admin",
    "feedback_templates:read:admin",
    "feedback_templates:write:admin",
    "webhooks:read:admin",
    "webhooks:write:admin",
    "tags:read:admin",
];

pub(super) fn scopes(facts: &Facts) -> Check {
    let check = |status, detail: String| {
        Check::new(
            "scopes",
            "Lever permissions",
            status,
            detail,
            "Reconnect Lever (Lever page → Connect Lever) and have a Super Admin accept every permission asked for.",
        )
    };
    if facts.connection.is_none() {
        return check(Status::Error, "Not connected: no permission is granted.".into());
    }
    let missing: Vec<&str> = SCOPES.iter().copied().filter(|s| !facts.granted(s)).collect();
    if missing.is_empty() {
        return check(Status::Ok, format!("All {} permissions Fulcrum asks for are granted.", SCOPES.len()));
    }
    let status = if missing.iter().all(|s| OPTIONAL.contains(s)) { Status::Warning } else { Status::Error };
    let lines: Vec<String> = missing.iter().map(|s| format!("{s} (without it: no {})", disables(s))).collect();
    check(status, format!("Not granted: {}.", lines.join("; ")))
}

pub(super) fn signature_tokens(facts: &Facts) -> Check {
    let tokens = &facts.overview.signature_tokens;
    let missing: Vec<&str> = webhook::EVENTS.into_iter().filter(|e| !tokens.get(e).copied().unwrap_or(false)).collect();
    let required: Vec<&str> = missing.iter().copied().filter(|e| webhook::REQUIRED.contains(e)).collect();
    let (status, detail) = match (required.as_slice(), missing.as_slice()) {
        (_, []) => (Status::Ok, format!("A signature token is held for each event: {}.", webhook::EVENTS.join(", "))),
        ([], _) => (
            Status::Warning,
            format!(
                "No signature token for {}: hires, rejections and deletions in Lever are learnt only from the sweep, \
                 up to {} minutes late.",
                missing.join(", "),
                facts.sweep_every.num_minutes()
            ),
        ),
        _ => (
            Status::Error,
            format!("No signature token for {}: those deliveries are refused (401).", missing.join(", ")),
        ),
    };
    Check::new(
        "signature_tokens",
        "Webhook signature tokens",
        status,
        detail,
        "Click Create webhooks in Lever on the Lever page, or paste each webhook's signature token from Lever's settings.",
    )
}

pub(super) fn deliveries(facts: &Facts, now: DateTime<Utc>) -> Check {
    let fix = format!(
        "In Lever's webhook settings, check that the events are switched on and send to {}, then use Verify Connection.",
        facts.overview.webhook_url
    );
    let quiet = Duration::days(QUIET_DAYS);
    let connected_for = facts.connection.as_ref().map(|c| now - c.authorized_at).unwrap_or_default();
    let per_event: Vec<String> = webhook::EVENTS
        .into_iter()
        .map(|event| match facts.last_by_event.iter().find(|(e, _)| e == event) {
            Some((_, at)) => format!("{event} {}", at.format("%Y-%m-%d %H:%M UTC")),
            None => format!("{event} never"),
        })
        .collect();
    let per_event = format!("Last accepted per event: {}.", per_event.join("; "));
    let (status, detail) = match facts.last_delivery {
        _ if facts.found_by_sweep > 0 => (
            Status::Warning,
            format!(
                "In the last 7 days the sweep found {} move{} into trigger stages that no webhook reported: \
                 deliveries are lost or switched off. {per_event}",
                facts.found_by_sweep,
                if facts.found_by_sweep == 1 { "" } else { "s" }
            ),
        ),
        Some(at) if now - at > quiet => (
            Status::Warning,
            format!("No delivery from Lever accepted since {}. {per_event}", at.format("%Y-%m-%d %H:%M UTC")),
        ),
        Some(_) => (Status::Ok, per_event),
        None if connected_for > quiet => (
            Status::Warning,
            format!("No delivery from Lever accepted in the {} days since connecting.", connected_for.num_days()),
        ),
        None => (Status::Ok, "No delivery yet: Lever sends one when a candidate changes stage.".to_string()),
    };
    Check::new("deliveries", "Webhook deliveries", status, detail, fix)
}

pub(super) fn jobs(facts: &Facts, now: DateTime<Utc>) -> Check {
    let count = |state: JobState| facts.backlog.iter().find(|(s, _)| *s == state).map_or(0, |(_, n)| *n);
    let (queued, paused, failed) = (count(JobState::Queued), count(JobState::Paused), count(JobState::Failed));
    let waiting = facts.oldest_waiting.map(|at| now - at).unwrap_or_default();
    let summary = format!("{queued} waiting, {paused} paused, {failed} failed");
    let (status, detail, fix) = if failed > 0 {
        (
            Status::Error,
            format!("{summary}: some work for Lever or candidates did not happen."),
            "Open Jobs, read each error, fix its cause and click Retry.",
        )
    } else if paused > 0 {
        (Status::Warning, format!("{summary}: work waits for Lever to be reconnected."), RECONNECT)
    } else if waiting > Duration::minutes(10) {
        let detail = format!("{summary}; the oldest has waited {} minutes.", waiting.num_minutes());
        (Status::Warning, detail, "Make sure a worker process (fulcrum serve or fulcrum worker) is running.")
    } else {
        (Status::Ok, format!("{summary}."), "")
    };
    Check::new("jobs", "Background work", status, detail, fix)
}

/// The sweep: when it last ran, what it found, and whether it is running at all.
pub(super) fn sweep(facts: &Facts, now: DateTime<Utc>) -> Check {
    let every = facts.sweep_every;
    let check = |status, detail: String, fix: &str| Check::new("sweep", "Sweep", status, detail, fix);
    let Some(sweep) = &facts.sweep else {
        return check(Status::Warning, "No sweep yet: it starts when Lever is connected.".into(), RECONNECT);
    };
    let workers = "Make sure a worker process (fulcrum serve or fulcrum worker) is running.";
    if let Some(error) = &sweep.last_error {
        return check(Status::Error, format!("The last sweep failed: {error}"), workers);
    }
    match sweep.last_finished_at {
        Some(at) if now - at > every * 3 => check(
            Status::Warning,
            format!(
                "The last sweep ran {}; one is due every {} minutes.",
                at.format("%Y-%m-%d %H:%M UTC"),
                every.num_minutes()
            ),
            workers,
        ),
        Some(at) => check(
            Status::Ok,
            format!(
                "Last sweep {}: {} move{} found that no webhook reported. Every {} minutes Fulcrum reads Lever for them.",
                at.format("%Y-%m-%d %H:%M UTC"),
                sweep.last_found,
                if sweep.last_found == 1 { "" } else { "s" },
                every.num_minutes()
            ),
            "",
        ),
        None if now - sweep.next_at > every * 2 => {
            check(Status::Warning, "No sweep has run since Lever was connected.".into(), workers)
        }
        None => {
            check(Status::Ok, format!("The first sweep is due by {}.", sweep.next_at.format("%Y-%m-%d %H:%M UTC")), "")
        }
    }
}
