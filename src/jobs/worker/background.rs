//! The worker's helpers beside the claim loop: LISTEN for wake-ups, keep leases of running
//! jobs alive, and periodic upkeep (reaping dead workers' jobs, resuming reconnected
//! organizations, pruning).

use std::{sync::Arc, time::Duration};

use sqlx::PgPool;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{InFlight, WorkerOptions};
use crate::jobs::{Env, queue};

/// LISTEN for enqueues. On a lost connection it reconnects; polling covers the gap.
pub(super) async fn listen(env: Env, wake: Arc<Notify>, stop: CancellationToken) {
    loop {
        let mut listener = match sqlx::postgres::PgListener::connect_with(&env.db).await {
            Ok(l) => l,
            Err(e) => {
                tracing::debug!(error = %e, "LISTEN connection failed");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    _ = stop.cancelled() => return,
                }
            }
        };
        if listener.listen(crate::jobs::CHANNEL).await.is_err() {
            continue;
        }
        loop {
            tokio::select! {
                message = listener.recv() => match message {
                    Ok(_) => wake.notify_one(),
                    Err(_) => break,
                },
                _ = stop.cancelled() => return,
            }
        }
    }
}

/// Extends the leases of running jobs well before they run out. A job whose lease turns
/// out to be lost (this worker stalled past it and the job was handed on) is stopped here,
/// so it does not run in two places for longer than the stall.
pub(super) async fn keep_leases(
    env: Env,
    db: PgPool,
    in_flight: InFlight,
    options: WorkerOptions,
    stop: CancellationToken,
) {
    let every = options.lease / 3;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.cancelled() => return,
        }
        let leases: Vec<Uuid> = in_flight.lock().expect("in-flight lock poisoned").keys().copied().collect();
        if leases.is_empty() {
            continue;
        }
        let held = match queue::extend_leases(&db, &leases, options.lease.as_secs_f64()).await {
            Ok(held) => held,
            Err(e) => {
                tracing::warn!(error = %e, "extending job leases failed");
                continue;
            }
        };
        if held.len() == leases.len() {
            continue;
        }
        let held: std::collections::HashSet<Uuid> = held.into_iter().collect();
        let mut running = in_flight.lock().expect("in-flight lock poisoned");
        // Jobs that finished meanwhile have left `in_flight` already.
        for lease in leases.iter().filter(|l| !held.contains(l)) {
            if let Some((id, task)) = running.remove(lease) {
                tracing::warn!(job = id, "lost the lease of a running job; stopping it");
                task.abort();
                env.metrics.job_finished("lease_lost");
            }
        }
    }
}

/// Reaps dead workers' jobs, resumes parked jobs of reconnected organizations, queues the
/// Lever sweeps that are due, prunes old jobs and deliveries.
pub(super) async fn maintain(env: Env, db: PgPool, options: WorkerOptions, wake: Arc<Notify>, stop: CancellationToken) {
    let mut last_prune: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(options.maintenance_interval) => {}
            _ = stop.cancelled() => return,
        }
        let now = env.clock.now();
        match queue::reap_expired(&db, now).await {
            Ok(n) if n > 0 => {
                tracing::warn!(count = n, "handed back jobs of a worker that stopped responding");
                wake.notify_one();
            }
            Ok(_) => {}
            Err(e) => tracing::debug!(error = %e, "reaping expired leases failed"),
        }
        if let Ok(n) = queue::resume_connected(&db, now).await
            && n > 0
        {
            wake.notify_one();
        }
        match crate::jobs::kinds::sweep::schedule_due(&env, now).await {
            Ok(n) if n > 0 => wake.notify_one(),
            Ok(_) => {}
            Err(e) => tracing::debug!(error = %e, "scheduling Lever sweeps failed"),
        }
        if last_prune.is_none_or(|t| t.elapsed() > Duration::from_secs(3600)) {
            last_prune = Some(tokio::time::Instant::now());
            if let Err(e) = crate::jobs::maintenance::prune(&env).await {
                tracing::warn!(error = %format!("{e:#}"), "pruning old rows failed");
            }
            if let Err(e) = crate::jobs::maintenance::lever_upkeep(&env).await {
                tracing::warn!(error = %format!("{e:#}"), "Lever connection upkeep failed");
            }
        }
    }
}
