//! The queue itself: a dead worker's job finishes once elsewhere, retries back off and keep
//! the last error, permanent failures wait for Retry on `/app/jobs`, unique keys coalesce,
//! scheduled jobs wait for their time, shutdown finishes or gives back what runs.

use std::time::Duration;

use fulcrum::jobs::{self, Worker};
use tokio_util::sync::CancellationToken;

use super::kinds::{Ending, Step, options, probe, registry};
use crate::support::{Options, TestApp, eventually, spawn_with};

async fn app() -> TestApp {
    spawn_with(Options { worker: false, ..Options::default() }).await
}

const WAIT: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_workers_job_finishes_once_elsewhere_and_its_late_completion_is_ignored() {
    let mut app = app().await;
    let probe = probe(&app.state.settings);
    let first_process = app.second_process();
    let (first, first_id) = app.start_worker_with(first_process.clone(), registry(), options());
    let id = app.enqueue(&Step { hold: true, ..Step::named("victim") }).await;
    eventually("the first worker runs the job", WAIT, || async { probe.runs("victim").len() == 1 }).await;
    assert_eq!(probe.runs("victim")[0].worker, first_id);

    app.kill_worker(first);
    let (_, second_id) = app.start_worker_with(app.state.clone(), registry(), options());
    eventually("another worker takes the job once its lease runs out", WAIT, || async {
        probe.runs("victim").len() == 2
    })
    .await;
    let rerun = &probe.runs("victim")[1];
    assert_eq!((rerun.worker.as_str(), rerun.attempt), (second_id.as_str(), 2));
    assert!(rerun.last_error.as_deref().unwrap_or("").contains("lease expired"), "{rerun:?}");

    // The dead worker's run comes back to life and reports: it no longer holds the lease.
    probe.release("victim", 1);
    eventually("the stale completion is turned away", WAIT, || async {
        first_process.metrics.get("fulcrum_jobs_finished_total", "lease_lost") == 1
    })
    .await;
    assert_eq!(app.job(id).await, ("running".into(), 2, Some(second_id.clone())));

    probe.release("victim", 2);
    eventually("the job finishes", WAIT, || async { app.job_state(id).await == "done" }).await;
    assert_eq!(app.job(id).await.1, 2);
    assert_eq!(probe.runs("victim").len(), 2);
    assert_eq!(first_process.metrics.get("fulcrum_jobs_finished_total", "done"), 0);
    assert_eq!(app.state.metrics.get("fulcrum_jobs_finished_total", "done"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retryable_errors_back_off_keep_the_last_error_and_give_up_at_the_limit() {
    let mut app = app().await;
    // The job is meant to run out of attempts and stay failed.
    app.expect_failed_jobs();
    let probe = probe(&app.state.settings);
    app.start_worker_with(app.state.clone(), registry(), options());
    // Succeeds on attempt 4, but the kind allows 3.
    let id = app.enqueue(&Step { hold: true, ending: Ending::SucceedOnAttempt(4), ..Step::named("flaky") }).await;
    for attempt in 1..=3 {
        eventually("the next attempt starts", WAIT, || async { probe.runs("flaky").len() == attempt }).await;
        let runs = probe.runs("flaky");
        let run = &runs[attempt - 1];
        assert_eq!(run.attempt, attempt as i32);
        if attempt > 1 {
            let previous = runs[attempt - 2].ended.unwrap();
            // Full jitter below 2 s · 2^(attempt-2) (plus the moment it took to record the
            // failure), and never straight away.
            let ceiling = chrono::Duration::seconds(2 << (attempt - 2)) + chrono::Duration::milliseconds(500);
            assert!(run.run_at > previous && run.run_at <= previous + ceiling, "{run:?} after {previous}");
            assert_eq!(run.last_error.as_deref(), Some(format!("attempt {} failed", attempt - 1).as_str()));
        }
        probe.release("flaky", attempt);
        if attempt < 3 {
            eventually("the failure is recorded", WAIT, || async {
                probe.runs("flaky").len() > attempt || app.job_state(id).await == "queued"
            })
            .await;
            // Skip the wait rather than sit it out.
            app.clock().advance(chrono::Duration::minutes(10));
            app.wake_workers().await;
        }
    }
    eventually("the job fails for good", WAIT, || async { app.job_state(id).await == "failed" }).await;
    let (attempts, last_error): (i32, String) = sqlx::query_as("SELECT attempts, last_error FROM jobs WHERE id = $1")
        .bind(id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!((attempts, last_error.as_str()), (3, "attempt 3 failed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_error_fails_at_once_and_retry_on_the_jobs_page_runs_it_again() {
    let mut app = app().await;
    let probe = probe(&app.state.settings);
    let org = app.create_org("Acme").await;
    app.start_worker_with(app.state.clone(), registry(), options());
    let id = app.enqueue(&Step { org_id: Some(org.id), ending: Ending::FailFirstRun, ..Step::named("doomed") }).await;
    eventually("the job fails", WAIT, || async { app.job_state(id).await == "failed" }).await;
    assert_eq!(app.job(id).await.1, 1, "no retries for an error that cannot pass");

    let admin = app.signed_in(&org.admin_email).await;
    let page = admin.get("/app/jobs").await;
    let row = format!("#failed-jobs tr[data-job-id='{id}']");
    assert!(page.text(&row).contains("the payload makes no sense"), "{}", page.text(&row));
    assert_eq!(page.attr(&format!("{row} form"), "action"), Some(format!("/app/jobs/{id}/retry")));

    let retried = admin.post_form(&format!("/app/jobs/{id}/retry"), &[]).await;
    assert_eq!(retried.status, 303);
    eventually("the retried job succeeds", WAIT, || async { app.job_state(id).await == "done" }).await;
    assert_eq!(probe.runs("doomed").len(), 2);
    assert!(admin.get("/app/jobs").await.exists("#no-failures"));
    // Another organization cannot retry it.
    let other = app.create_org("Globex").await;
    let stranger = app.signed_in(&other.admin_email).await;
    assert_eq!(stranger.post_form(&format!("/app/jobs/{id}/retry"), &[]).await.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_duplicate_coalesces_and_a_running_one_asks_for_one_rerun() {
    let mut app = app().await;
    let probe = probe(&app.state.settings);
    let keyed = |name: &str, hold| Step { key: Some(format!("key:{name}")), hold, ..Step::named(name) };

    // Queued for later: a duplicate for now is the same job, moved earlier.
    let mut conn = app.db.acquire().await.unwrap();
    let later = app.clock().now() + chrono::Duration::hours(1);
    let first = jobs::enqueue_at(&mut conn, &keyed("queued", false), later).await.unwrap();
    let second = jobs::enqueue(&mut conn, &keyed("queued", false), app.clock().now()).await.unwrap();
    drop(conn);
    assert_eq!(first, second);

    app.start_worker_with(app.state.clone(), registry(), options());
    eventually("the coalesced job runs now", WAIT, || async { app.job_state(first).await == "done" }).await;
    assert_eq!(probe.runs("queued").len(), 1);

    // Running: duplicates ask for exactly one more run, after this one.
    let id = app.enqueue(&keyed("running", true)).await;
    eventually("it runs", WAIT, || async { probe.runs("running").len() == 1 }).await;
    assert_eq!(app.enqueue(&keyed("running", true)).await, id);
    assert_eq!(app.enqueue(&keyed("running", true)).await, id);
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE unique_key = 'key:running'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(count, 1);
    probe.release("running", 1);
    eventually("the rerun starts", WAIT, || async { probe.runs("running").len() == 2 }).await;
    assert_eq!(probe.runs("running")[1].attempt, 1, "a rerun is new work, with fresh attempts");
    probe.release("running", 2);
    eventually("the job is done", WAIT, || async { app.job_state(id).await == "done" }).await;
    assert_eq!(probe.runs("running").len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_job_waits_for_its_time() {
    let mut app = app().await;
    let probe = probe(&app.state.settings);
    app.start_worker_with(app.state.clone(), registry(), options());
    let mut conn = app.db.acquire().await.unwrap();
    let at = app.clock().now() + chrono::Duration::hours(2);
    let later = jobs::enqueue_at(&mut conn, &Step::named("later"), at).await.unwrap();
    drop(conn);
    let now = app.enqueue(&Step::named("now")).await;
    eventually("the job due now runs", WAIT, || async { app.job_state(now).await == "done" }).await;
    assert!(probe.runs("later").is_empty());
    assert_eq!(app.job_state(later).await, "queued");

    app.clock().advance(chrono::Duration::hours(2));
    app.wake_workers().await;
    eventually("the scheduled job runs at its time", WAIT, || async { app.job_state(later).await == "done" }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_running_jobs_finish_within_the_grace_and_gives_back_the_rest() {
    let app = app().await;
    let probe = probe(&app.state.settings);
    let options = fulcrum::jobs::WorkerOptions { shutdown_grace: Duration::from_secs(1), ..options() };
    let stop = CancellationToken::new();
    let worker = Worker::with_options(app.state.jobs(), registry(), options).spawn(stop.clone());
    let quick = app.enqueue(&Step { hold: true, ..Step::named("quick") }).await;
    let stuck = app.enqueue(&Step { hold: true, ..Step::named("stuck") }).await;
    eventually("both run", WAIT, || async { probe.runs("quick").len() == 1 && probe.runs("stuck").len() == 1 }).await;

    stop.cancel();
    probe.release("quick", 1);
    tokio::time::timeout(WAIT, worker).await.expect("the worker stops after its grace").unwrap();

    assert_eq!(app.job_state(quick).await, "done");
    let (state, attempts, lease, error): (String, i32, Option<uuid::Uuid>, Option<String>) =
        sqlx::query_as("SELECT state, attempts, lease, last_error FROM jobs WHERE id = $1")
            .bind(stuck)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!((state.as_str(), attempts, lease), ("queued", 0, None), "given back, its attempt not spent");
    assert_eq!(error.as_deref(), Some("worker shut down"));
}
