//! The webhook delivery log: every delivery of the last 14 days, what it was and what it
//! led to. Members read it too: it is where a recruiter sees why a candidate was not invited.

use askama::Template;
use axum::{extract::State, response::Response};

use super::{
    csrf::CsrfToken,
    error::AppResult,
    layout::{Chrome, render},
    session::CurrentUser,
};
use crate::{
    deliveries::{self, Logged},
    http::AppState,
};

impl Logged {
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
    deliveries: Vec<Logged>,
}

pub async fn page(State(state): State<AppState>, user: CurrentUser, csrf: CsrfToken) -> AppResult<Response> {
    let deliveries =
        deliveries::log(&state.db, user.org_id, state.settings.jobs.delivery_retention_days as i32).await?;
    let chrome = Chrome::new(&state, Some(&user), &csrf, "deliveries").await?;
    render(&DeliveriesPage { chrome, deliveries })
}
