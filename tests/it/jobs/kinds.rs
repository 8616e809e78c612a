//! Job kinds that exist only in tests, and the probe they report to. Tests of one binary
//! run concurrently, so each test's probe is found by its database.

use std::{
    collections::HashMap,
    sync::{Arc, LazyLock, Mutex},
    time::Duration,
};

use chrono::{DateTime, Utc};
use fulcrum::{
    jobs::{Job, JobContext, JobError, Registry, WorkerOptions},
    lever::{
        Api,
        writes::{self, Payload, Write},
    },
};
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;
use uuid::Uuid;

use crate::support::{TestApp, app::worker_options};

/// One run of a test job, as the job saw it when it started.
#[derive(Clone, Debug)]
pub struct Run {
    pub attempt: i32,
    /// `jobs.locked_by`: which worker runs it.
    pub worker: String,
    /// The job row's `run_at` and `last_error` at the start of the run: what the previous
    /// attempt left.
    pub run_at: DateTime<Utc>,
    pub last_error: Option<String>,
    /// Business time when the run ended (None while it runs).
    pub ended: Option<DateTime<Utc>>,
}

/// What the test jobs of one test did, by job name; and gates that hold runs until the
/// test lets them finish.
#[derive(Default)]
pub struct Probe {
    runs: Mutex<HashMap<String, Vec<Run>>>,
    gates: Mutex<HashMap<(String, usize), Arc<Semaphore>>>,
}

static PROBES: LazyLock<Mutex<HashMap<String, Arc<Probe>>>> = LazyLock::new(Default::default);

pub fn probe(settings: &fulcrum::config::Settings) -> Arc<Probe> {
    let key = settings.database.url.expose().to_string();
    PROBES.lock().unwrap().entry(key).or_default().clone()
}

impl Probe {
    pub fn runs(&self, name: &str) -> Vec<Run> {
        self.runs.lock().unwrap().get(name).cloned().unwrap_or_default()
    }

    /// Lets run number `run` (1-based) of job `name` finish.
    pub fn release(&self, name: &str, run: usize) {
        self.gate(name, run).add_permits(1);
    }

    fn gate(&self, name: &str, run: usize) -> Arc<Semaphore> {
        let mut gates = self.gates.lock().unwrap();
        gates.entry((name.to_string(), run)).or_insert_with(|| Arc::new(Semaphore::new(0))).clone()
    }

    fn start(&self, name: &str, run: Run) -> usize {
        let mut runs = self.runs.lock().unwrap();
        let runs = runs.entry(name.to_string()).or_default();
        runs.push(run);
        runs.len()
    }

    fn end(&self, name: &str, run: usize, at: DateTime<Utc>) {
        self.runs.lock().unwrap().get_mut(name).unwrap()[run - 1].ended = Some(at);
    }
}

/// How a [`Step`] ends.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub enum Ending {
    #[default]
    Success,
    /// A retryable error on every attempt before this one.
    SucceedOnAttempt(i32),
    /// A permanent error on its first run only.
    FailFirstRun,
}

/// A job that records its runs, optionally waits to be released, and ends as told.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Step {
    pub name: String,
    pub org_id: Option<Uuid>,
    pub key: Option<String>,
    /// Each run waits for [`Probe::release`].
    pub hold: bool,
    pub ending: Ending,
}

impl Step {
    pub fn named(name: &str) -> Self {
        Self { name: name.into(), ..Self::default() }
    }
}

impl Job for Step {
    const KIND: &'static str = "test_step";
    const MAX_ATTEMPTS: i32 = 3;

    fn org_id(&self) -> Option<Uuid> {
        self.org_id
    }

    fn unique_key(&self) -> Option<String> {
        self.key.clone()
    }

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        let probe = probe(&ctx.env.settings);
        let (worker, run_at, last_error): (String, DateTime<Utc>, Option<String>) =
            sqlx::query_as("SELECT locked_by, run_at, last_error FROM jobs WHERE id = $1")
                .bind(ctx.job_id)
                .fetch_one(&ctx.env.db)
                .await?;
        let run = probe.start(&self.name, Run { attempt: ctx.attempt, worker, run_at, last_error, ended: None });
        if self.hold {
            probe.gate(&self.name, run).acquire().await.unwrap().forget();
        }
        let outcome = match self.ending {
            Ending::Success => Ok(()),
            Ending::SucceedOnAttempt(n) if ctx.attempt < n => {
                Err(JobError::Retry(anyhow::anyhow!("attempt {} failed", ctx.attempt)))
            }
            Ending::SucceedOnAttempt(_) => Ok(()),
            Ending::FailFirstRun if run == 1 => Err(JobError::Fail(anyhow::anyhow!("the payload makes no sense"))),
            Ending::FailFirstRun => Ok(()),
        };
        probe.end(&self.name, run, ctx.env.clock.now());
        outcome
    }
}

/// Writes one note to Lever exactly once, the way Fulcrum's own kinds do.
#[derive(Debug, Serialize, Deserialize)]
pub struct WriteNote {
    pub org_id: Uuid,
    pub opportunity_id: String,
    pub marker: String,
}

impl Job for WriteNote {
    const KIND: &'static str = "test_write_note";
    const MAX_ATTEMPTS: i32 = 25;

    fn org_id(&self) -> Option<Uuid> {
        Some(self.org_id)
    }

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        let env = &ctx.env;
        let mut api = Api::for_org(&env.lever, self.org_id).await?;
        let key = format!("test-note:{}", self.marker);
        let write =
            Write { key: &key, org_id: self.org_id, opportunity_id: &self.opportunity_id, marker: &self.marker };
        let text = format!("A test note.\n{}", self.marker);
        writes::once(&env.lever, &mut api, &write, Payload::Note { text: &text, score: None }).await?;
        Ok(())
    }
}

/// Reads the account's stages: one Lever request, under the account's budget.
#[derive(Debug, Serialize, Deserialize)]
pub struct ReadStages {
    pub org_id: Uuid,
}

impl Job for ReadStages {
    const KIND: &'static str = "test_read_stages";

    fn org_id(&self) -> Option<Uuid> {
        Some(self.org_id)
    }

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        Api::for_org(&ctx.env.lever, self.org_id).await?.stages().await?;
        Ok(())
    }
}

pub fn registry() -> Registry {
    Registry::default().register::<Step>().register::<WriteNote>().register::<ReadStages>()
}

/// Test workers: a short lease so dead workers' jobs come back within the test.
pub fn options() -> WorkerOptions {
    worker_options(Duration::from_secs(2))
}

impl TestApp {
    pub async fn enqueue<J: Job>(&self, job: &J) -> i64 {
        let mut conn = self.db.acquire().await.unwrap();
        fulcrum::jobs::enqueue(&mut conn, job, self.clock().now()).await.unwrap()
    }

    /// `(state, attempts, locked_by)` of job `id`.
    pub async fn job(&self, id: i64) -> (String, i32, Option<String>) {
        sqlx::query_as("SELECT state, attempts, locked_by FROM jobs WHERE id = $1")
            .bind(id)
            .fetch_one(&self.db)
            .await
            .unwrap()
    }

    pub async fn job_state(&self, id: i64) -> String {
        self.job(id).await.0
    }

    /// Whether every job of `ids` is in `state`.
    pub async fn jobs_all(&self, ids: &[i64], state: &str) -> bool {
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE id = ANY($1) AND state = $2")
            .bind(ids)
            .bind(state)
            .fetch_one(&self.db)
            .await
            .unwrap();
        count == ids.len() as i64
    }
}
