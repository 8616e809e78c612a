//! Webhook intake under load: the real HTTP stack (`fulcrum::http::serve` on a free port,
//! release build) on a fresh database (the embedded cluster, or `DATABASE_URL`'s server),
//! one organization with a signature token, and signed `candidateStageChange` deliveries
//! as Lever sends them, each new (so each one is stored with its job and committed,
//! durably, before its 200).
//!
//! - 32 senders as fast as they can for 10 s: accepted deliveries per second, p50/p99;
//! - a steady 1,000 deliveries per second for 10 s: p50/p99, measured from when each
//!   delivery was due (so a server falling behind shows).
//!
//! `cargo bench --bench webhooks` (`BENCH_SECONDS` changes the 10 s).

#[allow(dead_code)]
#[path = "../tests/it/support/db.rs"]
mod db;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use fulcrum::{
    app::App,
    clock::Clock,
    config::Settings,
    crypto::Cipher,
    domain::email::EmailAddress,
    lever::{settings, webhook},
};
use serde_json::json;
use tokio_util::sync::CancellationToken;

const SIGNATURE_TOKEN: &str = "bench-stage-change-signature-token-0123456789abcdef";
const SENDERS: usize = 32;
const STEADY_RATE: u64 = 1_000;

fn main() {
    fulcrum::app::install_tls_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(run());
}

async fn run() {
    let seconds: u64 = std::env::var("BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
    let duration = Duration::from_secs(seconds);
    let database = db::TestDatabase::create().await;
    let (url, shutdown, state) = start_service(&database.url).await;
    let endpoint = Arc::new(format!("{url}/webhooks/lever/{}", configure_org(&state).await));
    let client = reqwest::Client::builder().pool_max_idle_per_host(64).build().unwrap();
    println!("webhook intake benchmark: {} CPUs, synchronous_commit {}", cpus(), synchronous_commit(&state).await);

    // Warm up connections, caches and the database.
    closed_loop(&client, &endpoint, Duration::from_secs(1)).await;

    let (accepted, latencies) = closed_loop(&client, &endpoint, duration).await;
    let (p50, p99) = percentiles(latencies);
    println!(
        "{SENDERS} senders, {seconds} s: {:>6.0} accepted deliveries/s, p50 {p50:.2} ms, p99 {p99:.2} ms",
        accepted as f64 / duration.as_secs_f64()
    );

    let (accepted, latencies) = steady(&client, &endpoint, duration).await;
    let (p50, p99) = percentiles(latencies);
    println!("{STEADY_RATE}/s for {seconds} s: {accepted} accepted, p50 {p50:.2} ms, p99 {p99:.2} ms");

    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM deliveries WHERE outcome = 'accepted'")
        .fetch_one(&state.db)
        .await
        .unwrap();
    let jobs: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs").fetch_one(&state.db).await.unwrap();
    println!("stored: {stored} deliveries, {jobs} jobs");
    shutdown.cancel();
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

async fn synchronous_commit(state: &App) -> String {
    sqlx::query_scalar("SHOW synchronous_commit").fetch_one(&state.db).await.unwrap()
}

/// The service as `fulcrum serve` runs it, without workers: only intake is measured.
async fn start_service(database_url: &str) -> (String, CancellationToken, App) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let data_dir = std::env::temp_dir().join(format!("fulcrum-bench-{}", std::process::id()));
    let env = [
        ("DATABASE_URL", database_url.to_string()),
        ("FULCRUM_PUBLIC_URL", url.clone()),
        ("FULCRUM_SECRET_KEY", hex::encode([9u8; 32])),
        ("FULCRUM__DATABASE__DATA_DIR", data_dir.display().to_string()),
    ];
    let mut env: Vec<(String, String)> = env.map(|(k, v)| (k.to_string(), v)).to_vec();
    env.extend(std::env::vars().filter(|(k, _)| k.starts_with("FULCRUM__")));
    let settings = Settings::from_sources(None, env).unwrap();
    let db = fulcrum::db::pool(database_url, settings.database.max_connections, settings.database.acquire_timeout_ms)
        .unwrap();
    let cipher = Cipher::from_settings(&settings).unwrap();
    let state = App::new(settings, db, cipher, Clock::default()).unwrap();
    let shutdown = CancellationToken::new();
    tokio::spawn(fulcrum::http::serve(state.web(), listener, shutdown.clone()));
    (url, shutdown, state)
}

/// An organization with a Candidate Stage Change signature token; returns its webhook key.
async fn configure_org(state: &App) -> String {
    let hash = fulcrum::orgs::hash_password_blocking("bench password 1234");
    let email = EmailAddress::parse("admin@bench.test").unwrap();
    let mut tx = state.db.begin().await.unwrap();
    let org = fulcrum::orgs::create_org(&mut tx, "Bench", &email, &hash, fulcrum::orgs::Verification::Verified)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut change = settings::Change::default();
    change.token(fulcrum::lever::webhook::STAGE_CHANGE, Some(SIGNATURE_TOKEN.into()));
    settings::apply(&state.lever, org.org_id, &change).await.unwrap();
    sqlx::query_scalar("SELECT webhook_key FROM organizations WHERE id = $1")
        .bind(org.org_id)
        .fetch_one(&state.db)
        .await
        .unwrap()
}

/// A new signed delivery, as Lever sends it.
fn delivery() -> String {
    let token = fulcrum::crypto::random_token(36);
    let triggered_at = chrono::Utc::now().timestamp_millis();
    json!({
        "id": uuid::Uuid::new_v4(),
        "event": webhook::STAGE_CHANGE,
        "triggeredAt": triggered_at,
        "token": token,
        "signature": webhook::sign(SIGNATURE_TOKEN, &token, triggered_at),
        "data": {
            "opportunityId": format!("opp-{}", rand::random::<u32>()),
            "fromStageId": "lead-new",
            "toStageId": "st-assess",
        },
    })
    .to_string()
}

/// Deliveries are made ahead of time, so that the load script spends its share of the
/// two CPUs on sending rather than on signing.
fn deliveries(n: usize) -> Vec<String> {
    (0..n).map(|_| delivery()).collect()
}

async fn send(client: &reqwest::Client, endpoint: &str, body: String) -> bool {
    let response = client
        .post(endpoint)
        .header(reqwest::header::USER_AGENT, "Lever-Webhooks")
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await;
    matches!(response, Ok(r) if r.status() == 200)
}

/// `SENDERS` senders, each sending as soon as its last delivery was answered.
async fn closed_loop(client: &reqwest::Client, endpoint: &Arc<String>, duration: Duration) -> (u64, Vec<Duration>) {
    // Enough for 20,000 a second.
    let per_sender = (duration.as_secs() as usize * 20_000 / SENDERS).max(100);
    let mut bodies: Vec<Vec<String>> = (0..SENDERS).map(|_| deliveries(per_sender)).collect();
    let end = Instant::now() + duration;
    let senders: Vec<_> = (0..SENDERS)
        .map(|_| {
            let (client, endpoint, mut bodies) = (client.clone(), endpoint.clone(), bodies.pop().unwrap());
            tokio::spawn(async move {
                let (mut accepted, mut latencies) = (0, Vec::new());
                while let Some(body) = bodies.pop().filter(|_| Instant::now() < end) {
                    let sent = Instant::now();
                    if send(&client, &endpoint, body).await {
                        accepted += 1;
                        latencies.push(sent.elapsed());
                    }
                }
                (accepted, latencies)
            })
        })
        .collect();
    let (mut accepted, mut latencies) = (0, Vec::new());
    for sender in senders {
        let (a, l) = sender.await.unwrap();
        accepted += a;
        latencies.extend(l);
    }
    (accepted, latencies)
}

/// `STEADY_RATE` deliveries a second, each sent when due whether or not earlier ones were
/// answered; latency counts from when it was due.
async fn steady(client: &reqwest::Client, endpoint: &Arc<String>, duration: Duration) -> (u64, Vec<Duration>) {
    let every = Duration::from_secs(1) / STEADY_RATE as u32;
    let total = duration.as_secs() * STEADY_RATE;
    let bodies = deliveries(total as usize);
    let start = tokio::time::Instant::now();
    let mut sends = Vec::with_capacity(total as usize);
    for (n, body) in bodies.into_iter().enumerate() {
        let due = start + every * n as u32;
        tokio::time::sleep_until(due).await;
        let (client, endpoint) = (client.clone(), endpoint.clone());
        sends.push(tokio::spawn(async move { send(&client, &endpoint, body).await.then(|| due.elapsed()) }));
    }
    let (mut accepted, mut latencies) = (0, Vec::new());
    for sent in sends {
        if let Some(latency) = sent.await.unwrap() {
            accepted += 1;
            latencies.push(latency);
        }
    }
    (accepted, latencies)
}

fn percentiles(mut latencies: Vec<Duration>) -> (f64, f64) {
    latencies.sort();
    let at = |q: f64| {
        let i = ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[i].as_secs_f64() * 1000.0
    };
    if latencies.is_empty() { (f64::NAN, f64::NAN) } else { (at(0.50), at(0.99)) }
}
