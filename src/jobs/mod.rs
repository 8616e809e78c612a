//! The durable job queue. A job is a serde struct with a kind name and a `run`; it is
//! enqueued inside the caller's transaction, so the work exists exactly when the change that
//! causes it does. Workers claim jobs with `FOR UPDATE SKIP LOCKED` under a lease, retry
//! with backoff when an error can pass, fail at once when it cannot, and park ("pause") an
//! organization's jobs while its Lever connection needs reconnecting.
//!
//! Jobs are idempotent by rule: a job may run more than once (a worker can die after the
//! work but before recording it), so each kind checks what is already done.

mod env;
pub mod kinds;
pub mod maintenance;
mod queue;
mod worker;

use std::{collections::HashMap, future::Future, pin::Pin, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use serde::{Serialize, de::DeserializeOwned};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::lever::LeverError;

pub use env::{Env, Handles};
pub use queue::{
    FailedJob, backlog, due_for_org, failed_jobs, latest_of_kinds, oldest_waiting, park_org, resume_org, retry_failed,
    scrub_errors,
};
pub use worker::{Worker, WorkerOptions};

crate::domain::text_enum! {
    /// Where a job is; stored as text in `jobs.state`.
    pub enum JobState {
        Queued = "queued",
        Running = "running",
        Paused = "paused",
        Done = "done",
        Failed = "failed",
    }
}

/// Postgres channel workers LISTEN on; enqueue NOTIFYs it (delivered at commit).
pub const CHANNEL: &str = "fulcrum_jobs";

/// One kind of work.
pub trait Job: Serialize + DeserializeOwned + Send + 'static {
    /// Stored in `jobs.kind`; never change it once jobs of this kind exist.
    const KIND: &'static str;
    /// Attempts before the job is marked failed (errors that cannot pass fail at once).
    const MAX_ATTEMPTS: i32 = 10;
    /// A run taking longer than this is treated as a failed attempt.
    const TIMEOUT: Duration = Duration::from_secs(300);

    /// The organization whose Lever account this job uses: its jobs pause together and
    /// share workers fairly with other organizations.
    fn org_id(&self) -> Option<Uuid> {
        None
    }

    /// Jobs with the same key are the same logical work: while one is queued or running,
    /// enqueuing another only asks it to run once more.
    fn unique_key(&self) -> Option<String> {
        None
    }

    fn run(self, ctx: JobContext) -> impl Future<Output = Result<(), JobError>> + Send;
}

/// What a running job gets besides its own payload.
#[derive(Clone)]
pub struct JobContext {
    pub env: Env,
    pub job_id: i64,
    /// 1 on the first run.
    pub attempt: i32,
}

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Might pass on a later attempt (5xx, timeouts, connection errors): retried with
    /// backoff until the kind's attempt limit.
    #[error(transparent)]
    Retry(anyhow::Error),
    /// Will not pass by retrying (a 4xx, bad data): failed now, visible in the app.
    #[error(transparent)]
    Fail(anyhow::Error),
    /// The organization's Lever connection needs reconnecting: parked without spending
    /// the attempt, resumed by reconnecting.
    #[error("paused: {0}")]
    Pause(String),
    /// Like `Pause`, and this job is the one that found Lever access revoked: the worker
    /// also parks the organization's other work and tells its admins, once.
    #[error("paused, Lever access revoked: {0}")]
    Revoked(String),
    /// Not now, and not the job's fault (e.g. Lever's rate limit): run again after the
    /// delay without spending the attempt.
    #[error("deferred for {0:?}: {1}")]
    Defer(Duration, String),
}

impl JobError {
    /// The error that ends the job as failed, when this outcome does on attempt `attempt`
    /// of `max_attempts`: a `Fail`, or a `Retry` with no attempt left. `None` when the job
    /// runs again.
    pub fn gives_up(&self, attempt: i32, max_attempts: i32) -> Option<&anyhow::Error> {
        match self {
            Self::Fail(e) => Some(e),
            Self::Retry(e) if attempt >= max_attempts => Some(e),
            _ => None,
        }
    }
}

impl From<anyhow::Error> for JobError {
    fn from(error: anyhow::Error) -> Self {
        Self::Retry(error)
    }
}

/// What a Lever failure means for a job: the Lever client reports, the queue decides.
impl From<LeverError> for JobError {
    fn from(error: LeverError) -> Self {
        match error {
            LeverError::NeedsReconnect(why) => JobError::Pause(why),
            LeverError::Revoked(why) => JobError::Revoked(why),
            LeverError::RateLimited(after) => JobError::Defer(after, "Lever rate limit".into()),
            e if e.is_retryable() => JobError::Retry(e.into()),
            e => JobError::Fail(e.into()),
        }
    }
}

impl From<sqlx::Error> for JobError {
    fn from(error: sqlx::Error) -> Self {
        Self::Retry(error.into())
    }
}

type BoxFuture = Pin<Box<dyn Future<Output = Result<(), JobError>> + Send>>;
type Runner = Arc<dyn Fn(JobContext, serde_json::Value) -> BoxFuture + Send + Sync>;

/// The job kinds a worker can run.
#[derive(Clone, Default)]
pub struct Registry {
    runners: HashMap<&'static str, (Runner, Duration)>,
}

impl Registry {
    pub fn register<J: Job>(mut self) -> Self {
        let runner: Runner = Arc::new(|ctx, payload| {
            Box::pin(async move {
                let job: J = serde_json::from_value(payload)
                    .map_err(|e| JobError::Fail(anyhow::anyhow!("unreadable {} payload: {e}", J::KIND)))?;
                job.run(ctx).await
            })
        });
        self.runners.insert(J::KIND, (runner, J::TIMEOUT));
        self
    }

    fn get(&self, kind: &str) -> Option<&(Runner, Duration)> {
        self.runners.get(kind)
    }

    /// The kinds registered: a worker claims only these.
    pub fn kinds(&self) -> Vec<String> {
        let mut kinds: Vec<String> = self.runners.keys().map(|k| k.to_string()).collect();
        kinds.sort();
        kinds
    }
}

/// Every job kind Fulcrum runs.
pub fn registry() -> Registry {
    use kinds::*;
    Registry::default()
        .register::<delivery::HandleDelivery>()
        .register::<sync::SyncOpportunity>()
        .register::<email::SendEmail>()
        .register::<close::CloseInvitation>()
        .register::<lever_setup::RefreshStages>()
        .register::<lever_setup::CreateWebhooks>()
        .register::<lever_setup::Disconnect>()
        .register::<lever_setup::EnsureFeedbackTemplate>()
        .register::<error_note::ErrorNote>()
        .register::<action_note::ActionNote>()
        .register::<report_file::AttachReport>()
        .register::<keepalive::KeepAlive>()
        .register::<sweep::SweepLever>()
        .register::<sweep::WaitingCandidates>()
        .register::<noop::Noop>()
}

/// Queues `job` to run now, in the caller's transaction. Returns the job id, or the id of
/// the queued job with the same unique key.
pub async fn enqueue<J: Job>(conn: &mut PgConnection, job: &J, now: DateTime<Utc>) -> sqlx::Result<i64> {
    enqueue_at(conn, job, now).await
}

/// Queues many jobs of one kind in one statement, in the caller's transaction, without
/// waking the workers: for paths that commit jobs at a high rate, which call
/// [`Wakeup::wake`] after their commit.
pub async fn enqueue_batch<J: Job>(conn: &mut PgConnection, jobs: &[J], run_at: DateTime<Utc>) -> sqlx::Result<()> {
    if jobs.is_empty() {
        return Ok(());
    }
    let mut payloads = Vec::with_capacity(jobs.len());
    let mut org_ids = Vec::with_capacity(jobs.len());
    let mut keys = Vec::with_capacity(jobs.len());
    for job in jobs {
        payloads.push(serde_json::to_value(job).map_err(|e| sqlx::Error::Encode(Box::new(e)))?);
        org_ids.push(job.org_id());
        keys.push(job.unique_key());
    }
    queue::insert_batch(conn, J::KIND, &payloads, &org_ids, &keys, J::MAX_ATTEMPTS, run_at).await
}

/// Queues `job` to run at `run_at` (business time: the app's clock).
pub async fn enqueue_at<J: Job>(conn: &mut PgConnection, job: &J, run_at: DateTime<Utc>) -> sqlx::Result<i64> {
    let payload = serde_json::to_value(job).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    queue::insert(conn, J::KIND, payload, job.org_id(), job.unique_key(), J::MAX_ATTEMPTS, run_at).await
}

/// Wakes the workers of every process for jobs committed outside [`enqueue`] (which
/// notifies from inside the caller's transaction). PostgreSQL serialises every commit that
/// carries a NOTIFY, flush included, behind one database-wide lock, so a path that commits
/// jobs at a high rate must not notify in each commit: it calls [`Wakeup::wake`] after
/// committing, and wake-ups asked for while a NOTIFY is on its way become one more.
#[derive(Clone)]
pub struct Wakeup(Arc<WakeupInner>);

struct WakeupInner {
    db: sqlx::PgPool,
    asked: Arc<tokio::sync::Notify>,
    sender: std::sync::Once,
}

impl Wakeup {
    pub fn new(db: sqlx::PgPool) -> Self {
        Self(Arc::new(WakeupInner { db, asked: Arc::default(), sender: std::sync::Once::new() }))
    }

    /// Asks for the workers to be woken; returns at once. Call after the commit.
    pub fn wake(&self) {
        let inner = &self.0;
        inner.sender.call_once(|| {
            let (db, asked) = (inner.db.clone(), inner.asked.clone());
            tokio::spawn(async move {
                loop {
                    asked.notified().await;
                    // Lost wake-ups cost latency, not work: workers also poll.
                    if let Err(e) = queue::notify(&db).await {
                        tracing::debug!(error = %e, "waking the workers failed");
                    }
                }
            });
        });
        inner.asked.notify_one();
    }
}

/// Waits until job `id` is done or failed (its state), or `timeout` passes (`None`). For
/// pages that start work in the queue and want to show its result.
pub async fn wait_for(db: &sqlx::PgPool, id: i64, timeout: Duration) -> sqlx::Result<Option<JobState>> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match queue::state(db, id).await? {
            // Pruned at once (no retention): it finished.
            None => return Ok(Some(JobState::Done)),
            Some(state @ (JobState::Done | JobState::Failed)) => return Ok(Some(state)),
            _ if tokio::time::Instant::now() >= deadline => return Ok(None),
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}
