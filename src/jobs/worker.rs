//! The worker: claims jobs in batches when woken (LISTEN/NOTIFY, with polling as a
//! fallback), runs each on its own task, and records outcomes. Completions are batched into
//! one statement, leases of running jobs are extended while they run, and dead workers'
//! jobs are reaped. On shutdown it stops claiming, lets running jobs finish for a grace
//! period, and gives back the ones that do not.
//!
//! A worker whose task is dropped without shutdown (as a crashed process) stops claiming
//! and stops extending its leases at once, so its jobs go to other workers when the leases
//! run out; anything it still reports afterwards names a lease it no longer holds and
//! changes nothing.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use futures_util::FutureExt;
use tokio::{
    sync::{Notify, Semaphore, mpsc},
    task::JoinHandle,
};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

mod background;
mod record;

use super::{JobContext, JobError, Registry, queue};
use crate::jobs::Env;

/// How long the claim loop waits for a batch of slots to free up before claiming for fewer.
const BATCH_WAIT: Duration = Duration::from_millis(2);

#[derive(Clone, Debug)]
pub struct WorkerOptions {
    pub concurrency: usize,
    /// At most this many jobs of one organization per claim (fairness).
    pub per_org_claim: i32,
    pub lease: Duration,
    pub poll_interval: Duration,
    /// How long running jobs get to finish after shutdown is asked for.
    pub shutdown_grace: Duration,
    /// How often leases are reaped, parked jobs of connected organizations resumed.
    pub maintenance_interval: Duration,
}

impl WorkerOptions {
    pub fn from_settings(settings: &crate::config::Settings) -> Self {
        let lease = Duration::from_secs(settings.jobs.lease_secs);
        Self {
            concurrency: settings.jobs.concurrency,
            per_org_claim: 4,
            lease,
            poll_interval: Duration::from_millis(settings.jobs.poll_interval_ms),
            shutdown_grace: Duration::from_secs(20),
            maintenance_interval: (lease / 6).clamp(Duration::from_millis(200), Duration::from_secs(5)),
        }
    }
}

pub struct Worker {
    env: Env,
    registry: Arc<Registry>,
    options: WorkerOptions,
    id: String,
}

enum Outcome {
    Done,
    Failed {
        error: String,
        permanent: bool,
        attempt: i32,
    },
    GiveBack {
        pause: bool,
        note: String,
        after: Duration,
    },
    /// Given back parked, and this job found Lever access revoked: the organization's other
    /// work is parked too and its admins are told.
    Revoked {
        org_id: Option<Uuid>,
        note: String,
    },
}

struct Finished {
    id: i64,
    lease: Uuid,
    outcome: Outcome,
}

/// Jobs this worker is running: lease → task, for lease extension and shutdown.
type InFlight = Arc<Mutex<HashMap<Uuid, (i64, tokio::task::AbortHandle)>>>;

impl Worker {
    pub fn new(env: Env, registry: Registry) -> Self {
        let options = WorkerOptions::from_settings(&env.settings);
        Self::with_options(env, registry, options)
    }

    pub fn with_options(env: Env, registry: Registry, options: WorkerOptions) -> Self {
        // Host and process id say where a job runs (`jobs.locked_by`); the suffix tells apart
        // workers of one process.
        let id = format!("{}-{}-{}", hostname(), std::process::id(), &Uuid::new_v4().simple().to_string()[..6]);
        Self { env, registry: Arc::new(registry), options, id }
    }

    /// This worker's name in `jobs.locked_by`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Runs until `shutdown` fires and running jobs are finished or given back.
    pub fn spawn(self, shutdown: CancellationToken) -> JoinHandle<()> {
        tokio::spawn(self.run(shutdown))
    }

    async fn run(self, shutdown: CancellationToken) {
        let wake = Arc::new(Notify::new());
        let stop_helpers = CancellationToken::new();
        // Also fires when this future is dropped unfinished: a worker that is gone must stop
        // extending its leases, or its jobs would never reach another worker.
        let _stop_helpers_on_drop = stop_helpers.clone().drop_guard();
        let in_flight: InFlight = Arc::default();
        let (done_tx, done_rx) = mpsc::unbounded_channel();

        let listener = tokio::spawn(background::listen(self.env.clone(), wake.clone(), stop_helpers.clone()));
        let db = queue::pool(&self.env.db);
        let recorder = tokio::spawn(record::record(self.env.clone(), db.clone(), done_rx));
        let keeper = tokio::spawn(background::keep_leases(
            self.env.clone(),
            db.clone(),
            in_flight.clone(),
            self.options.clone(),
            stop_helpers.clone(),
        ));
        let maintenance = tokio::spawn(background::maintain(
            self.env.clone(),
            db.clone(),
            self.options.clone(),
            wake.clone(),
            stop_helpers.clone(),
        ));

        let kinds = self.registry.kinds();
        let concurrency = self.options.concurrency;
        let slots = Arc::new(Semaphore::new(concurrency));
        // A claim costs a round trip and a commit however few jobs it takes: when most slots
        // are busy, wait a moment for a worthwhile batch of them to free up.
        let batch = (concurrency / 4).max(1);
        tracing::info!(worker = %self.id, concurrency, "worker started");
        while !shutdown.is_cancelled() {
            let free = slots.available_permits();
            if free == 0 {
                tokio::select! {
                    permit = slots.acquire() => drop(permit),
                    _ = shutdown.cancelled() => break,
                }
            }
            if slots.available_permits() < batch {
                tokio::select! {
                    permits = slots.acquire_many(batch as u32) => drop(permits),
                    _ = tokio::time::sleep(BATCH_WAIT) => {}
                    _ = shutdown.cancelled() => break,
                }
            }
            let free = slots.available_permits();
            let now = self.env.clock.now();
            let lease_secs = self.options.lease.as_secs_f64();
            let per_org = self.options.per_org_claim;
            let claimed = queue::claim(&db, &self.id, &kinds, now, free as i32, per_org, lease_secs).await;
            let claimed = match claimed {
                Ok(jobs) => jobs,
                Err(e) => {
                    tracing::warn!(error = %e, "claiming jobs failed; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(self.options.poll_interval) => {}
                        _ = shutdown.cancelled() => {}
                    }
                    continue;
                }
            };
            let got = claimed.len();
            for job in claimed {
                let permit = slots.clone().try_acquire_owned().expect("claimed no more than the free slots");
                self.start(job, permit, &in_flight, &done_tx);
            }
            if got == 0 {
                // Nothing due that this worker may take: wait for a NOTIFY, the poll
                // interval, or shutdown. (A short claim is not a reason to wait: the
                // per-organization cap may have left due jobs behind.)
                tokio::select! {
                    _ = wake.notified() => {}
                    _ = tokio::time::sleep(self.options.poll_interval) => {}
                    _ = shutdown.cancelled() => {}
                }
            }
        }

        // Shutdown: running jobs get a grace period, then are given back unfinished.
        let all = self.options.concurrency as u32;
        if tokio::time::timeout(self.options.shutdown_grace, slots.acquire_many(all)).await.is_err() {
            let leftovers: Vec<(Uuid, (i64, tokio::task::AbortHandle))> =
                in_flight.lock().expect("in-flight lock poisoned").drain().collect();
            tracing::warn!(count = leftovers.len(), "giving back jobs still running at shutdown");
            for (lease, (id, task)) in leftovers {
                task.abort();
                let now = self.env.clock.now();
                if let Err(e) = queue::give_back(&db, id, lease, false, "worker shut down", now).await {
                    tracing::warn!(error = %e, job = id, "giving back a job");
                }
            }
        }
        drop(done_tx);
        let _ = recorder.await;
        stop_helpers.cancel();
        let _ = tokio::join!(listener, keeper, maintenance);
        tracing::info!(worker = %self.id, "worker stopped");
    }

    fn start(
        &self,
        job: queue::Claimed,
        permit: tokio::sync::OwnedSemaphorePermit,
        in_flight: &InFlight,
        done: &mpsc::UnboundedSender<Finished>,
    ) {
        let waited = (self.env.clock.now() - job.run_at).to_std().unwrap_or_default();
        self.env.metrics.job_claimed(&job.kind, waited);
        let ctx = JobContext { env: self.env.clone(), job_id: job.id, attempt: job.attempts };
        let registry = self.registry.clone();
        let in_flight_for_task = in_flight.clone();
        let done = done.clone();
        let (id, lease, kind, attempt, org_id) = (job.id, job.lease, job.kind.clone(), job.attempts, job.org_id);
        // Registered before the task can finish and unregister itself.
        let mut guard = in_flight.lock().expect("in-flight lock poisoned");
        let metrics = self.env.metrics.clone();
        let task = tokio::spawn(async move {
            let started = std::time::Instant::now();
            let outcome = run_one(&registry, &kind, ctx, job.payload).await;
            metrics.job_ran(&kind, started.elapsed());
            in_flight_for_task.lock().expect("in-flight lock poisoned").remove(&lease);
            let outcome = match outcome {
                Ok(()) => Outcome::Done,
                Err(JobError::Retry(e)) => Outcome::Failed { error: format!("{e:#}"), permanent: false, attempt },
                Err(JobError::Fail(e)) => Outcome::Failed { error: format!("{e:#}"), permanent: true, attempt },
                Err(JobError::Pause(why)) => Outcome::GiveBack { pause: true, note: why, after: Duration::ZERO },
                Err(JobError::Revoked(why)) => Outcome::Revoked { org_id, note: why },
                Err(JobError::Defer(after, why)) => Outcome::GiveBack { pause: false, note: why, after },
            };
            if let Outcome::Failed { error, permanent, .. } = &outcome {
                tracing::warn!(job = id, kind = %kind, attempt, permanent, error = %error, "job failed");
            }
            let _ = done.send(Finished { id, lease, outcome });
            drop(permit);
        });
        guard.insert(lease, (id, task.abort_handle()));
    }
}

/// Runs one job with its kind's timeout, turning a panic into a retryable failure.
async fn run_one(registry: &Registry, kind: &str, ctx: JobContext, payload: serde_json::Value) -> Result<(), JobError> {
    let Some((runner, timeout)) = registry.get(kind) else {
        return Err(JobError::Fail(anyhow::anyhow!("no worker knows job kind {kind:?}")));
    };
    let run = std::panic::AssertUnwindSafe(runner(ctx, payload)).catch_unwind();
    match tokio::time::timeout(*timeout, run).await {
        Ok(Ok(result)) => result,
        Ok(Err(_)) => Err(JobError::Retry(anyhow::anyhow!("the job panicked"))),
        Err(_) => Err(JobError::Retry(anyhow::anyhow!("the job took longer than {timeout:?}"))),
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "worker".into())
}
