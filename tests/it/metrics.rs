//! `/metrics` on the metrics listener: counters and histograms of this process after a
//! webhook, a job, a Lever call and an email; gauges read from the database; and nothing on
//! the public listener.

use std::time::Duration;

use crate::support::{
    Options, TestApp,
    lever::{ASSESS_STAGE, STAGE_TOKEN},
    org::TestOrg,
    spawn_with,
};

const ACCOUNT: &str = "acct-1";

async fn with_metrics(worker: bool) -> TestApp {
    spawn_with(Options { metrics: true, worker, ..Options::default() }).await
}

/// The value of the sample `series` (name and labels exactly as exposed), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

fn assert_sample(text: &str, series: &str, check: impl Fn(f64) -> bool) {
    match sample(text, series) {
        Some(value) => assert!(check(value), "{series} = {value} in:\n{text}"),
        None => panic!("{series} is missing from:\n{text}"),
    }
}

async fn invite_one(app: &TestApp, org: &TestOrg) {
    app.assessment_ready(org, ACCOUNT).await;
    app.add_candidate(ACCOUNT, "opp-1", "ada@candidates.test", Some("post-1"), &[]);
    assert_eq!(app.move_candidate(org, ACCOUNT, "opp-1", ASSESS_STAGE).await.status(), 200);
    app.smtp.wait_for(1, Duration::from_secs(15)).await;
    app.settle().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_its_jobs_lever_calls_and_email_show_as_histograms() {
    let app = with_metrics(true).await;
    let org = app.connected_org("Acme", ACCOUNT).await;
    invite_one(&app, &org).await;
    let text = app.scrape_metrics().await;

    assert!(text.contains("# TYPE fulcrum_webhook_ack_seconds histogram"), "{text}");
    assert_sample(&text, "fulcrum_webhooks_total{outcome=\"accepted\"}", |v| v == 1.0);
    assert_sample(&text, "fulcrum_webhook_ack_seconds_count{outcome=\"accepted\"}", |v| v == 1.0);
    assert_sample(&text, "fulcrum_webhook_ack_seconds_sum{outcome=\"accepted\"}", |v| v > 0.0 && v < 5.0);
    assert_sample(&text, "fulcrum_job_queue_wait_seconds_count{kind=\"handle_delivery\"}", |v| v >= 1.0);
    assert_sample(&text, "fulcrum_job_run_seconds_count{kind=\"handle_delivery\"}", |v| v >= 1.0);
    assert_sample(&text, "fulcrum_job_run_seconds_count{kind=\"send_email\"}", |v| v >= 1.0);
    assert_sample(&text, "fulcrum_jobs_finished_total{outcome=\"done\"}", |v| v >= 2.0);
    assert_sample(
        &text,
        "fulcrum_lever_call_seconds_count{endpoint=\"GET /opportunities/{id}\",status=\"200\"}",
        |v| v >= 1.0,
    );
    assert_sample(
        &text,
        "fulcrum_lever_call_seconds_count{endpoint=\"POST /opportunities/{id}/notes\",status=\"201\"}",
        |v| v >= 1.0,
    );
    assert_sample(&text, "fulcrum_lever_calls_total{status=\"200\"}", |v| v >= 3.0);
    assert_sample(&text, "fulcrum_email_send_seconds_count{outcome=\"sent\"}", |v| v == 1.0);
    assert_sample(&text, "fulcrum_emails_total{outcome=\"sent\"}", |v| v == 1.0);
    // The queue is idle: nothing due waits (reminders and expiry are queued for later).
    assert_sample(&text, "fulcrum_jobs{state=\"failed\"}", |v| v == 0.0);
    assert_sample(&text, "fulcrum_job_oldest_waiting_seconds{kind=\"handle_delivery\"}", |v| v == 0.0);
    assert_sample(&text, "fulcrum_lever_connections_needing_reconnect", |v| v == 0.0);
    // Labels carry patterns, never ids or secrets.
    let key: String = sqlx::query_scalar("SELECT webhook_key FROM organizations").fetch_one(&app.db).await.unwrap();
    for secret in ["opp-1", "post-1", key.as_str(), STAGE_TOKEN] {
        assert!(!text.contains(secret), "{secret} in:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gauges_read_the_database_so_every_process_agrees() {
    // No worker: the waiting job stays waiting.
    let app = with_metrics(false).await;
    let org = app.connected_org("Acme", ACCOUNT).await;
    sqlx::query("DELETE FROM jobs").execute(&app.db).await.unwrap();
    sqlx::query(
        "INSERT INTO jobs (kind, payload, max_attempts, run_at) VALUES
         ('noop', '{}', 1, $1 - interval '120 seconds'), ('noop', '{}', 1, $1 - interval '5 seconds'),
         ('noop', '{}', 1, $1 + interval '1 hour')",
    )
    .bind(app.clock().now())
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query("UPDATE lever_connections SET status = 'needs_reconnect' WHERE org_id = $1")
        .bind(org.id)
        .execute(&app.db)
        .await
        .unwrap();
    let text = app.scrape_metrics().await;
    assert!(text.contains("# TYPE fulcrum_job_oldest_waiting_seconds gauge"), "{text}");
    assert_sample(&text, "fulcrum_job_oldest_waiting_seconds{kind=\"noop\"}", |v| (120.0..300.0).contains(&v));
    // Every kind is there, waiting or not, so an alert never reads a missing series.
    assert_sample(&text, "fulcrum_job_oldest_waiting_seconds{kind=\"send_email\"}", |v| v == 0.0);
    assert_sample(&text, "fulcrum_jobs{state=\"queued\"}", |v| v == 3.0);
    assert_sample(&text, "fulcrum_lever_connections_needing_reconnect", |v| v == 1.0);
    // Another process's listener reads the same database, so it says the same.
    let other = app.second_process();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/metrics", listener.local_addr().unwrap());
    let stop = tokio_util::sync::CancellationToken::new();
    tokio::spawn(fulcrum::http::metrics::serve(other.metrics_endpoint(), listener, stop.clone()));
    let text = app.http().get(url).send().await.unwrap().text().await.unwrap();
    stop.cancel();
    assert_sample(&text, "fulcrum_jobs{state=\"queued\"}", |v| v == 3.0);
    assert_sample(&text, "fulcrum_lever_connections_needing_reconnect", |v| v == 1.0);
    app.expect_leftover_jobs();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_listener_does_not_serve_metrics() {
    let app = with_metrics(true).await;
    let public = app.http().get(format!("{}/metrics", app.url)).send().await.unwrap();
    assert_eq!(public.status(), 404);
    let body = public.text().await.unwrap();
    assert!(!body.contains("fulcrum_"), "{body}");
    // The metrics listener serves nothing else.
    let base = app.metrics_url.clone().unwrap();
    for path in ["/", "/healthz", "/api/v1/openapi.json", "/app"] {
        let answer = app.http().get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(answer.status(), 404, "{path}");
    }
}
