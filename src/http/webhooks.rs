//! `POST /webhooks/lever/{key}`: Lever's deliveries. The signature is checked before
//! anything is stored; a valid new delivery and the job that handles it are committed in
//! one transaction before the 200, so nothing Lever was told we have can be lost (deliveries
//! arriving together share that transaction: see `intake`). Duplicates (Lever retries,
//! Reruns) are recognised by Lever's per-delivery `token`. Workers are woken after the
//! commit, coalesced across deliveries (`jobs::Wakeup`): a NOTIFY in each delivery's
//! transaction would queue every commit behind one database-wide lock.

use std::{sync::Arc, time::Instant};

use axum::{
    Json,
    body::Bytes,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use super::intake::NewDelivery;
use crate::{
    deliveries,
    http::AppState,
    lever::webhook::{self, CACHE_TTL, Delivery, OrgWebhook},
};

/// Lever bodies above this are refused with 413.
pub const MAX_BODY: usize = 256 * 1024;

pub async fn receive(State(state): State<AppState>, Path(key): Path<String>, body: Bytes) -> Response {
    let started = Instant::now();
    match handle(&state, &key, &body).await {
        Ok(outcome) => outcome.into_response(&state, started),
        Err(e) if crate::db::is_unavailable(&e) => {
            tracing::warn!(error = %e, "webhook delivery refused: database unavailable");
            state.metrics.webhook("unavailable", started.elapsed());
            answer(StatusCode::SERVICE_UNAVAILABLE, "the database is unavailable; retry later")
        }
        Err(e) => {
            tracing::error!(error = %e, "webhook delivery failed");
            state.metrics.webhook("error", started.elapsed());
            answer(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

enum Outcome {
    UnknownKey,
    Malformed(String),
    Rejected(String),
    Test,
    Accepted,
    Duplicate,
}

impl Outcome {
    fn into_response(self, state: &AppState, started: Instant) -> Response {
        let (label, status, message) = match self {
            Self::UnknownKey => ("unknown_key", StatusCode::NOT_FOUND, "unknown webhook URL".to_string()),
            Self::Malformed(why) => ("malformed", StatusCode::BAD_REQUEST, why),
            Self::Rejected(why) => ("rejected", StatusCode::UNAUTHORIZED, why),
            Self::Test => ("test", StatusCode::OK, "verified".into()),
            Self::Accepted => ("accepted", StatusCode::OK, "accepted".into()),
            Self::Duplicate => ("duplicate", StatusCode::OK, "already received".into()),
        };
        state.metrics.webhook(label, started.elapsed());
        answer(status, &message)
    }
}

pub(super) fn answer(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "status": status.as_u16(), "message": message }))).into_response()
}

async fn handle(state: &AppState, key: &str, body: &[u8]) -> Result<Outcome, sqlx::Error> {
    let Some(org) = lookup(state, key, false).await? else {
        return Ok(Outcome::UnknownKey);
    };
    let delivery: Delivery = match serde_json::from_slice(body) {
        Ok(d) => d,
        Err(e) if e.is_data() => return Ok(Outcome::Malformed(format!("not a Lever delivery: {e}"))),
        Err(_) => return Ok(Outcome::Malformed("the body is not JSON".into())),
    };
    if !(1..=200).contains(&delivery.token.len()) || delivery.event.len() > 100 {
        return Ok(Outcome::Malformed("token or event is missing or too long".into()));
    }
    let org_id = org.org_id;
    let org = match check_signature(state, key, org, &delivery).await? {
        Ok(org) => org,
        Err(why) => {
            record_rejection(state, org_id, &delivery, &why).await?;
            return Ok(Outcome::Rejected(why));
        }
    };
    let triggered_at = DateTime::from_timestamp_millis(delivery.triggered_at);
    let now = Utc::now();
    let fresh = triggered_at.filter(|t| *t > now - webhook::MAX_AGE && *t < now + webhook::MAX_SKEW);
    let Some(triggered_at) = fresh else {
        let why = "triggeredAt is outside the accepted window (14 days old to 5 minutes ahead)".to_string();
        record_rejection(state, org.org_id, &delivery, &why).await?;
        return Ok(Outcome::Rejected(why));
    };
    if delivery.is_test() {
        record_test(state, org.org_id, &delivery, triggered_at).await?;
        return Ok(Outcome::Test);
    }
    let Some(opportunity) = delivery.opportunity_id().filter(|id| webhook::is_lever_id(id)) else {
        return Ok(Outcome::Malformed("data.opportunityId is missing or not a Lever id".into()));
    };
    if !webhook::is_handled(&delivery.event) {
        return Ok(Outcome::Malformed(format!("Fulcrum does not handle {} events", delivery.event)));
    }
    let opportunity_id = opportunity.to_string();
    let new = NewDelivery {
        org_id: org.org_id,
        token: delivery.token,
        event: delivery.event,
        opportunity_id,
        triggered_at,
        data: delivery.data,
    };
    let accepted = state.intake.store(new).await?;
    Ok(if accepted { Outcome::Accepted } else { Outcome::Duplicate })
}

/// The organization for a webhook key: cached, or read (and decrypted) from the database.
async fn lookup(state: &AppState, key: &str, fresh: bool) -> Result<Option<Arc<OrgWebhook>>, sqlx::Error> {
    let max_age = if fresh { std::time::Duration::from_secs(1) } else { CACHE_TTL };
    if let Some(entry) = state.lever.webhook_cache.get(key, max_age) {
        return Ok(entry);
    }
    let row = sqlx::query!(
        "SELECT o.id, s.application_created_token, s.stage_change_token, s.hired_token, s.archive_change_token,
                s.deleted_token
         FROM organizations o LEFT JOIN lever_settings s ON s.org_id = o.id
         WHERE o.webhook_key = $1",
        key
    )
    .fetch_optional(&state.db)
    .await?;
    let entry = row.map(|r| {
        let open = |sealed: Option<String>, which: &str| {
            sealed.and_then(|s| state.cipher.decrypt(&s, &webhook::token_context(r.id, which)).ok())
        };
        let sealed =
            [r.application_created_token, r.stage_change_token, r.hired_token, r.archive_change_token, r.deleted_token];
        let tokens = webhook::EVENTS.into_iter().zip(sealed).filter_map(|(event, s)| Some((event, open(s, event)?)));
        Arc::new(OrgWebhook { org_id: r.id, tokens: tokens.collect() })
    });
    state.lever.webhook_cache.put(key, entry.clone());
    Ok(entry)
}

async fn check_signature(
    state: &AppState,
    key: &str,
    org: Arc<OrgWebhook>,
    delivery: &Delivery,
) -> Result<Result<Arc<OrgWebhook>, String>, sqlx::Error> {
    let Some(signature) = delivery.signature.as_deref().filter(|s| !s.is_empty()) else {
        return Ok(Err("the delivery is not signed".into()));
    };
    let verifies = |org: &OrgWebhook| {
        org.token_for(&delivery.event)
            .is_some_and(|t| webhook::verify(&[t], &delivery.token, delivery.triggered_at, signature))
    };
    if verifies(&org) {
        return Ok(Ok(org));
    }
    // A token may have just been pasted in another process: read once more.
    let Some(fresh) = lookup(state, key, true).await? else {
        return Ok(Err("unknown webhook URL".into()));
    };
    if verifies(&fresh) {
        return Ok(Ok(fresh));
    }
    Ok(Err(match fresh.token_for(&delivery.event) {
        None => format!("no signature token is configured for {} deliveries", delivery.event),
        Some(_) => "the signature does not match the configured signature token".into(),
    }))
}

/// Logs a refused delivery (see `deliveries::record_rejection`).
async fn record_rejection(state: &AppState, org_id: Uuid, delivery: &Delivery, why: &str) -> Result<(), sqlx::Error> {
    let rejected = deliveries::Rejected {
        org_id,
        token: &delivery.token,
        event: &delivery.event,
        opportunity_id: delivery.opportunity_id().filter(|id| webhook::is_lever_id(id)),
        triggered_at: DateTime::from_timestamp_millis(delivery.triggered_at),
        why,
    };
    deliveries::record_rejection(&state.db, &rejected).await
}

async fn record_test(
    state: &AppState,
    org_id: Uuid,
    delivery: &Delivery,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let mut tx = state.db.begin().await?;
    deliveries::record_test(&mut tx, org_id, &delivery.token, &delivery.event, at).await?;
    sqlx::query!(
        "INSERT INTO lever_settings (org_id, verified_at) VALUES ($1, now())
         ON CONFLICT (org_id) DO UPDATE SET verified_at = now()",
        org_id
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}
