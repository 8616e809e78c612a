//! Writing down how claimed jobs ended: successes batched into one statement per wake-up,
//! everything else one by one.

use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::{Finished, Outcome};
use crate::{
    backoff::backoff,
    jobs::{Env, queue},
};

/// Records outcomes; successes are batched into one statement per wake-up.
pub(super) async fn record(env: Env, db: PgPool, mut done: mpsc::UnboundedReceiver<Finished>) {
    let retain = env.settings.jobs.retention_days > 0;
    let mut batch = Vec::with_capacity(512);
    while done.recv_many(&mut batch, 1024).await > 0 {
        let (mut ids, mut leases) = (Vec::with_capacity(batch.len()), Vec::with_capacity(batch.len()));
        for finished in batch.drain(..) {
            match finished.outcome {
                Outcome::Done => {
                    ids.push(finished.id);
                    leases.push(finished.lease);
                }
                other => record_other(&env, &db, finished.id, finished.lease, other).await,
            }
        }
        if !ids.is_empty() {
            let now = env.clock.now();
            let mut delay = Duration::from_millis(50);
            loop {
                match queue::complete(&db, &ids, &leases, now, retain).await {
                    Ok(completed) => {
                        env.metrics.job_finished_n("done", completed.done);
                        env.metrics.job_finished_n("rerun", completed.requeued);
                        let ignored = completed.ignored(ids.len());
                        if ignored > 0 {
                            // Their leases ran out while they ran; another worker has them.
                            tracing::warn!(count = ignored, "finished jobs whose lease was lost; ignored");
                            env.metrics.job_finished_n("lease_lost", ignored);
                        }
                        break;
                    }
                    Err(e) => {
                        // The work is done; only the record is missing. Keep trying while the
                        // leases last, after which the jobs run again (and find their work done).
                        tracing::warn!(error = %e, count = ids.len(), "recording finished jobs failed; retrying");
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(Duration::from_secs(2));
                        if delay >= Duration::from_secs(2) && db.is_closed() {
                            break;
                        }
                    }
                }
            }
        }
    }
}

async fn record_other(env: &Env, db: &PgPool, id: i64, lease: Uuid, outcome: Outcome) {
    let now = env.clock.now();
    let result = match outcome {
        Outcome::Done => unreachable!("batched by the caller"),
        Outcome::Failed { error, permanent, attempt } => {
            let retry_at = now
                + chrono::Duration::from_std(backoff(attempt, Duration::from_secs(2), Duration::from_secs(600)))
                    .unwrap_or_default();
            let error: String = error.chars().take(4000).collect();
            match queue::fail_attempt(db, id, lease, &error, permanent, retry_at).await {
                Ok(Some(s)) if s == "failed" => {
                    env.metrics.job_finished("failed");
                    Ok(())
                }
                Ok(_) => {
                    env.metrics.job_finished("retry");
                    Ok(())
                }
                Err(e) => Err(e),
            }
        }
        Outcome::Revoked { org_id, note } => {
            env.metrics.job_finished("paused");
            match queue::give_back(db, id, lease, true, &note, now).await {
                Ok(()) => match org_id {
                    Some(org_id) => revoked(env, org_id).await,
                    None => Ok(()),
                },
                Err(e) => Err(e),
            }
        }
        Outcome::GiveBack { pause, note, after } => {
            env.metrics.job_finished(if pause { "paused" } else { "deferred" });
            let at = now + chrono::Duration::from_std(after).unwrap_or_default();
            queue::give_back(db, id, lease, pause, &note, at).await
        }
    };
    if let Err(e) = result {
        tracing::warn!(error = %e, job = id, "recording a job outcome failed; its lease will expire and it will run again");
    }
}

/// Lever access of `org_id` was just found revoked: its queued work waits for a reconnect,
/// and its admins are emailed (once: the connection flips to `needs_reconnect` once).
async fn revoked(env: &Env, org_id: Uuid) -> sqlx::Result<()> {
    let mut tx = env.db.begin().await?;
    queue::park_org(&mut tx, org_id).await?;
    let email = crate::jobs::kinds::email::SendEmail::ReconnectNeeded { org_id };
    crate::jobs::enqueue(&mut tx, &email, env.clock.now()).await?;
    tx.commit().await
}
