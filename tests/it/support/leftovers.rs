//! Tests notice the work they leave behind. When a `TestApp` goes away, a failed job, a
//! paused one, or one that was due and never ran fails the test, unless the test said it
//! expects them: crates.io's test app does the same on drop, and it catches the job that
//! failed quietly behind a test whose own assertions all held.
//!
//! A test may end while its workers still drain work it did not wait for, so due work gets
//! a bounded grace to finish before anything is judged. That wait blocks the test's thread
//! in `Drop`; the app's tasks keep running on the runtime's other threads, which is why the
//! tests run on a multi-thread runtime.

use std::{
    fmt,
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};

use chrono::{DateTime, Utc};
use fulcrum::clock::Clock;
use sqlx::{Connection, PgConnection};

/// How long the app's workers get to finish due work after the test's last line.
const GRACE: Duration = Duration::from_secs(20);

/// What a test said it leaves behind on purpose.
#[derive(Default)]
pub struct Expected {
    failed: AtomicBool,
    leftover: AtomicBool,
    unreadable: AtomicBool,
}

impl Expected {
    /// Failed jobs are part of what the test does (fault injection, permanent errors).
    pub fn failed(&self) {
        self.failed.store(true, Ordering::Relaxed);
    }

    /// Paused or unprocessed work is part of what the test does (workers stopped or killed,
    /// an organization waiting for a reconnect).
    pub fn leftover(&self) {
        self.leftover.store(true, Ordering::Relaxed);
    }

    /// The queue cannot be read at the end (the test took the database away).
    pub fn unreadable(&self) {
        self.unreadable.store(true, Ordering::Relaxed);
    }
}

/// A job the test left behind.
#[derive(Debug, sqlx::FromRow)]
pub struct Leftover {
    pub id: i64,
    pub kind: String,
    pub state: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub run_at: DateTime<Utc>,
}

impl fmt::Display for Leftover {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state.as_str() {
            "queued" => format!("queued, due since {}", self.run_at),
            state => state.to_string(),
        };
        let error = self.last_error.as_deref().unwrap_or("none");
        write!(f, "job {} {}: {state}, {} attempts, last error: {error}", self.id, self.kind, self.attempts)
    }
}

/// What judging the queue needs, taken out of the app so it can move to a thread of its own.
pub struct Check {
    pub database_url: String,
    /// Due is by the app's clock, which tests move forward.
    pub clock: Clock,
    /// The kinds the app's live workers run: due work of other kinds had nobody to run it.
    pub live_kinds: Vec<String>,
}

impl Check {
    /// The jobs the test left behind and did not expect, after the grace. Runs on a thread
    /// with a runtime of its own: `Drop` cannot await, and the test's runtime is the one
    /// busy dropping.
    pub fn run(self, expected: &Expected) -> Vec<Leftover> {
        let failed = expected.failed.load(Ordering::Relaxed);
        let leftover = expected.leftover.load(Ordering::Relaxed);
        if expected.unreadable.load(Ordering::Relaxed) || (failed && leftover) {
            return Vec::new();
        }
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(self.judge(failed, leftover))
        })
        .join()
        .unwrap_or_else(|_| panic!("checking the jobs the test left behind failed (see the panic above)"))
    }

    async fn judge(self, failed_expected: bool, leftover_expected: bool) -> Vec<Leftover> {
        let mut conn =
            PgConnection::connect(&self.database_url).await.expect("connecting to check the jobs the test left");
        let deadline = tokio::time::Instant::now() + GRACE;
        loop {
            let now = self.clock.now();
            let leftovers = self.leftovers(&mut conn, now).await;
            let draining =
                !leftover_expected && leftovers.iter().any(|job| matches!(job.state.as_str(), "queued" | "running"));
            if !draining || tokio::time::Instant::now() > deadline {
                conn.close().await.ok();
                return leftovers
                    .into_iter()
                    .filter(|job| match job.state.as_str() {
                        "failed" => !failed_expected,
                        _ => !leftover_expected,
                    })
                    .collect();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Failed and paused jobs, and due work some live worker would have run.
    async fn leftovers(&self, conn: &mut PgConnection, now: DateTime<Utc>) -> Vec<Leftover> {
        sqlx::query_as(
            "SELECT id, kind, state, attempts, last_error, run_at FROM jobs
             WHERE state IN ('failed', 'paused')
                OR (state IN ('queued', 'running') AND run_at <= $1 AND kind = ANY($2))
             ORDER BY id",
        )
        .bind(now)
        .bind(&self.live_kinds)
        .fetch_all(conn)
        .await
        .expect("reading the jobs the test left")
    }
}
