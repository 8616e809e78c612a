//! The metrics listener: a second listener, bound to `FULCRUM_METRICS_BIND` by `serve` and
//! `worker` alike, that serves only `GET /metrics`. The public listener never answers it:
//! the numbers describe every organization's traffic, and scrapes would otherwise be open
//! to anyone who can reach the app.

use std::sync::Arc;

use axum::{
    Router,
    extract::State,
    http::header,
    response::{IntoResponse, Response},
    routing::get,
};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::{
    clock::Clock,
    jobs,
    lever::connection,
    metrics::{DatabaseGauges, Metrics},
};

/// What a scrape reads: this process's metrics, and the database for the gauges.
#[derive(Clone)]
pub struct MetricsState {
    metrics: Arc<Metrics>,
    db: PgPool,
    clock: Clock,
    /// Every job kind, so each has an oldest-waiting gauge even when nothing waits.
    kinds: Arc<Vec<String>>,
}

impl MetricsState {
    pub fn new(metrics: Arc<Metrics>, db: PgPool, clock: Clock) -> Self {
        Self { metrics, db, clock, kinds: Arc::new(jobs::registry().kinds()) }
    }
}

pub fn router(state: MetricsState) -> Router {
    Router::new().route("/metrics", get(metrics)).with_state(state)
}

/// Serves `/metrics` on `listener` until `shutdown` fires.
pub async fn serve(
    state: MetricsState,
    listener: tokio::net::TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown.cancelled_owned()).await?;
    Ok(())
}

async fn metrics(State(state): State<MetricsState>) -> Response {
    let gauges = match read_gauges(&state).await {
        Ok(gauges) => Some(gauges),
        Err(e) => {
            tracing::warn!(error = %e, "reading the database for /metrics");
            None
        }
    };
    let body = state.metrics.render(gauges.as_ref());
    ([(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], body).into_response()
}

async fn read_gauges(state: &MetricsState) -> sqlx::Result<DatabaseGauges> {
    let now = state.clock.now();
    // One count per unfinished state, each answered from its partial index; finished jobs
    // (kept for days) are counted by fulcrum_jobs_finished_total instead of a table scan.
    let backlog = jobs::backlog(&state.db, None).await?;
    let waiting = jobs::oldest_waiting(&state.db, now).await?;
    let oldest_waiting = state
        .kinds
        .iter()
        .map(|kind| {
            let due = waiting.iter().find(|(k, _)| k == kind).map(|(_, due)| *due);
            (kind.clone(), due.and_then(|due| (now - due).to_std().ok()).unwrap_or_default())
        })
        .collect();
    Ok(DatabaseGauges {
        jobs_by_state: backlog.into_iter().map(|(state, count)| (state.to_string(), count)).collect(),
        oldest_waiting,
        connections_needing_reconnect: connection::needing_reconnect(&state.db).await?,
    })
}
