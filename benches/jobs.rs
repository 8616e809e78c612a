//! The job queue under load, on real `fulcrum worker` processes (the release binary) and a
//! fresh database: the embedded cluster, or `DATABASE_URL`'s server when set.
//!
//! - throughput: no-op jobs per second through the whole claim → run → complete cycle,
//!   with one and with two worker processes, keeping finished jobs (the default 7-day
//!   retention) and deleting them on completion (`jobs.retention_days = 0`);
//! - latency: enqueue → start at light load (`jobs.started_at - jobs.created_at`);
//! - recovery: how long a job held by a worker killed with SIGKILL waits before another
//!   worker starts it, with the default 30-second lease.
//!
//! `cargo bench --bench jobs` (set `BENCH_JOBS` to change the 100,000 jobs per drain, and
//! `BENCH_ONLY` to `throughput`, `latency` or `recovery` to run one part).

#[allow(dead_code)]
#[path = "../tests/it/support/db.rs"]
mod db;

use std::{
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use fulcrum::jobs::{self, kinds::noop::Noop};
use sqlx::{Connection, PgConnection};

fn main() {
    fulcrum::app::install_tls_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(run());
}

async fn run() {
    let jobs: i64 = std::env::var("BENCH_JOBS").ok().and_then(|n| n.parse().ok()).unwrap_or(100_000);
    let scratch = tempfile::tempdir().expect("scratch directory");
    println!("job queue benchmark: {jobs} no-op jobs per drain, {} CPUs", cpus());

    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let runs = |part: &str| only.is_empty() || only == part;
    for retention_days in ["7", "0"].into_iter().filter(|_| runs("throughput")) {
        for processes in [1, 2] {
            let rate = drain(scratch.path(), jobs, processes, retention_days).await;
            println!(
                "throughput  retention_days={retention_days} processes={processes}: {rate:>8.0} jobs/s \
                 ({jobs} jobs)"
            );
        }
    }
    for retention_days in ["7", "0"].into_iter().filter(|_| runs("latency")) {
        let (p50, p99, n) = latency(scratch.path(), retention_days).await;
        println!(
            "latency     retention_days={retention_days} processes=1: enqueue→start p50 {p50:.2} ms, \
             p99 {p99:.2} ms ({n} jobs, one per transaction, ~200/s)"
        );
    }
    if !runs("recovery") {
        return;
    }
    let (restart, lease_left) = dead_worker(scratch.path()).await;
    println!(
        "recovery    SIGKILL of the worker holding a job → another worker starts it: {:.1} s \
         (lease had {:.1} s left; default 30 s lease)",
        restart.as_secs_f64(),
        lease_left
    );
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// A `fulcrum worker` process on the bench database.
struct WorkerProcess {
    child: Child,
}

impl WorkerProcess {
    fn start(url: &str, dir: &Path, env: &[(&str, &str)]) -> Self {
        let log = std::fs::File::create(dir.join(format!("worker-{}.log", rand::random::<u32>()))).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_fulcrum"))
            .arg("worker")
            .env("DATABASE_URL", url)
            .env("FULCRUM__DATABASE__DATA_DIR", dir)
            .env("FULCRUM_SECRET_KEY", hex::encode([7u8; 32]))
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("starting fulcrum worker");
        Self { child }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM: the graceful shutdown an orchestrator asks for.
    fn stop(mut self) {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).expect("a child pid");
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        let _ = self.child.wait();
    }

    /// SIGKILL: a crash, with no chance to give anything back.
    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn connect(url: &str) -> PgConnection {
    PgConnection::connect(url).await.expect("connecting to the bench database")
}

/// Waits until `workers` worker processes LISTEN on the database.
async fn wait_for_listeners(conn: &mut PgConnection, workers: i64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let listening: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'",
        )
        .fetch_one(&mut *conn)
        .await
        .unwrap();
        if listening >= workers {
            return;
        }
        assert!(Instant::now() < deadline, "workers did not start listening (see their logs)");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Queues `n` no-op jobs in one transaction and wakes the workers once.
async fn enqueue_bulk(conn: &mut PgConnection, n: i64) {
    let mut tx = conn.begin().await.unwrap();
    sqlx::query(
        "INSERT INTO jobs (kind, payload, max_attempts, run_at)
         SELECT 'noop', '{}', 3, now() FROM generate_series(1, $1)",
    )
    .bind(n)
    .execute(&mut *tx)
    .await
    .unwrap();
    sqlx::query("SELECT pg_notify($1, '')").bind(jobs::CHANNEL).execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
}

async fn wait_drained(conn: &mut PgConnection, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let pending: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM jobs WHERE state IN ('queued', 'running'))")
                .fetch_one(&mut *conn)
                .await
                .unwrap();
        if !pending {
            return;
        }
        assert!(Instant::now() < deadline, "the queue did not drain within {timeout:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Jobs per second for `processes` workers draining `n` queued jobs.
async fn drain(dir: &Path, n: i64, processes: usize, retention_days: &str) -> f64 {
    let database = db::TestDatabase::create().await;
    let mut conn = connect(&database.url).await;
    let env = [("FULCRUM__JOBS__RETENTION_DAYS", retention_days)];
    let workers: Vec<_> = (0..processes).map(|_| WorkerProcess::start(&database.url, dir, &env)).collect();
    wait_for_listeners(&mut conn, processes as i64).await;
    // Warm up connections and caches.
    enqueue_bulk(&mut conn, 2_000).await;
    wait_drained(&mut conn, Duration::from_secs(60)).await;

    enqueue_bulk(&mut conn, n).await;
    let started = Instant::now();
    wait_drained(&mut conn, Duration::from_secs(600)).await;
    let elapsed = started.elapsed();
    let failed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM jobs WHERE state = 'failed'").fetch_one(&mut conn).await.unwrap();
    assert_eq!(failed, 0, "no-op jobs failed");
    workers.into_iter().for_each(WorkerProcess::stop);
    n as f64 / elapsed.as_secs_f64()
}

/// Enqueue → start at light load: one job per transaction, about 200 a second.
async fn latency(dir: &Path, retention_days: &str) -> (f64, f64, i64) {
    let database = db::TestDatabase::create().await;
    let mut conn = connect(&database.url).await;
    let worker = WorkerProcess::start(&database.url, dir, &[("FULCRUM__JOBS__RETENTION_DAYS", retention_days)]);
    wait_for_listeners(&mut conn, 1).await;
    // With no retention the rows are gone when done; keep the start times aside.
    sqlx::raw_sql(
        "CREATE TABLE bench_starts AS SELECT id, created_at, started_at FROM jobs WITH NO DATA;
         CREATE FUNCTION bench_keep() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN INSERT INTO bench_starts VALUES (NEW.id, NEW.created_at, NEW.started_at); RETURN NEW; END $$;
         CREATE TRIGGER bench_keep AFTER UPDATE OF started_at ON jobs FOR EACH ROW EXECUTE FUNCTION bench_keep();",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let mut tick = tokio::time::interval(Duration::from_millis(5));
    for _ in 0..2_000 {
        tick.tick().await;
        jobs::enqueue(&mut conn, &Noop::default(), chrono::Utc::now()).await.unwrap();
    }
    wait_drained(&mut conn, Duration::from_secs(60)).await;
    let (p50, p99, n): (f64, f64, i64) = sqlx::query_as(
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms), percentile_cont(0.99) WITHIN GROUP (ORDER BY ms),
                count(*)
         FROM (SELECT extract(epoch FROM started_at - created_at)::float8 * 1000 AS ms FROM bench_starts) s",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    worker.stop();
    (p50, p99, n)
}

/// A worker holding a long job is killed; how long until another worker starts it.
async fn dead_worker(dir: &Path) -> (Duration, f64) {
    let database = db::TestDatabase::create().await;
    let mut conn = connect(&database.url).await;
    let first = WorkerProcess::start(&database.url, dir, &[]);
    wait_for_listeners(&mut conn, 1).await;
    let id = jobs::enqueue(&mut conn, &Noop { ms: 120_000 }, chrono::Utc::now()).await.unwrap();
    let holder = wait_running(&mut conn, id, None).await;
    assert!(holder.contains(&format!("-{}-", first.pid())), "{holder} runs it");
    let second = WorkerProcess::start(&database.url, dir, &[]);
    wait_for_listeners(&mut conn, 2).await;

    let lease_left: f64 =
        sqlx::query_scalar("SELECT extract(epoch FROM lease_until - now())::float8 FROM jobs WHERE id = $1")
            .bind(id)
            .fetch_one(&mut conn)
            .await
            .unwrap();
    let killed = Instant::now();
    first.kill();
    wait_running(&mut conn, id, Some(&holder)).await;
    let restart = killed.elapsed();
    // It holds the two-minute job: no point waiting for a graceful stop.
    second.kill();
    (restart, lease_left)
}

/// Waits until job `id` runs on a worker other than `not`; returns that worker's id.
async fn wait_running(conn: &mut PgConnection, id: i64, not: Option<&str>) -> String {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let holder: Option<String> =
            sqlx::query_scalar("SELECT locked_by FROM jobs WHERE id = $1 AND state = 'running'")
                .bind(id)
                .fetch_optional(&mut *conn)
                .await
                .unwrap()
                .flatten();
        if let Some(holder) = holder.filter(|h| Some(h.as_str()) != not) {
            return holder;
        }
        assert!(Instant::now() < deadline, "job {id} was not started in time");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
