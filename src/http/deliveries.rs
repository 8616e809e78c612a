//! The webhook delivery log: every delivery of the last 14 days, what it was and what it
//! led to. Members read it too: it is where a recruiter sees why a candidate was not invited.

use askama::Template;
use axum::{extract::State, response::Response};
use chrono::{DateTime, Utc};

use super::{
    csrf::CsrfToken,
    error::AppResult,
    layout::{Chrome, render},
    session::CurrentUser,
};
use crate::http::AppState;

pub struct DeliveryRow {
    pub received_at: DateTime<Utc>,
    pub event: Option<String>,
    pub opportunity_id: Option<String>,
    pub outcome: String,
    pub reason: Option<String>,
    pub result: Option<String>,
    pub duplicates: i32,
    /// `webhook`, or found by Fulcrum: `sweep`, `waiting` (an admin's Invite them).
    pub source: String,
}

impl DeliveryRow {
    /// Who noticed a delivery Fulcrum found itself.
    pub fn found_by(&self) -> Option<&'static str> {
        match self.source.as_str() {
            "sweep" => Some("found by the sweep: no webhook reported this move"),
            "waiting" => Some("a waiting candidate an admin chose to invite"),
            _ => None,
        }
    }
}

#[derive(Template)]
#[template(path = "deliveries.html")]
struct DeliveriesPage {
    chrome: Chrome,
    deliveries: Vec<DeliveryRow>,
}

pub async fn page(State(state): State<AppState>, user: CurrentUser, csrf: CsrfToken) -> AppResult<Response> {
    let deliveries = sqlx::query_as!(
        DeliveryRow,
        "SELECT received_at, event, opportunity_id, outcome, reason, result, duplicates, source FROM deliveries
         WHERE org_id = $1 AND received_at > now() - make_interval(days => $2)
         ORDER BY received_at DESC LIMIT 500",
        user.org_id,
        state.settings.jobs.delivery_retention_days as i32,
    )
    .fetch_all(&state.db)
    .await?;
    let chrome = Chrome::new(&state, Some(&user), &csrf, "deliveries").await?;
    render(&DeliveriesPage { chrome, deliveries })
}
