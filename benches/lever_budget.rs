//! How well Fulcrum spends one Lever account's request budget with a backlog: requests per
//! second actually sent against Lever's 10/s allowance (the fake Lever enforces the
//! documented 10/s, burst 20, answering 429), and Lever calls per invitation and per result.
//!
//! `cargo bench --bench lever_budget` (uses DATABASE_URL's server, else the embedded cluster);
//! `BUDGET_DEBUG=1` also prints pauses between calls and jobs that were retried.

#[allow(unused_imports)]
#[path = "../tests/it/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::{eventually, fake_lever::RecordedCall, lever::ASSESS_STAGE, workflow::POSTING};

const ACCOUNT: &str = "acct-bench";
const CANDIDATES: usize = 60;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(run());
}

struct Phase {
    calls: Vec<RecordedCall>,
}

impl Phase {
    fn report(&self, name: &str, per: usize) {
        let calls = &self.calls;
        let too_many = calls.iter().filter(|c| c.status == 429).count();
        let first = calls.iter().map(|c| c.at).min().unwrap();
        let last = calls.iter().map(|c| c.at).max().unwrap();
        let span = (last - first).as_secs_f64();
        let rate = if span > 0.0 { (calls.len() - 1) as f64 / span } else { 0.0 };
        let mut at: Vec<Instant> = calls.iter().map(|c| c.at).collect();
        at.sort();
        let gaps: Vec<u128> = at.windows(2).map(|w| (w[1] - w[0]).as_millis()).filter(|g| *g > 150).collect();
        if std::env::var("BUDGET_DEBUG").is_ok() {
            println!("gaps over 150 ms: {gaps:?}");
        }
        println!(
            "{name:<12} {:>4} Lever calls in {span:>5.1} s = {rate:>5.2} requests/s (429s: {too_many}); {:.2} calls per {}",
            calls.len(),
            calls.len() as f64 / CANDIDATES as f64,
            if per == 0 { "invitation" } else { "result" },
        );
    }
}

async fn run() {
    let app = support::spawn_app().await;
    let org = app.connected_org("Bench", ACCOUNT).await;
    app.assessment_ready(&org, ACCOUNT).await;
    let opportunities: Vec<String> = (0..CANDIDATES)
        .map(|i| app.add_candidate(ACCOUNT, &format!("opp-{i}"), &format!("c{i}@candidates.test"), Some(POSTING), &[]))
        .collect();
    app.settle().await;
    let before = app.lever.calls_for(ACCOUNT).len();

    // A recruiter moves the whole pipeline at once: a backlog of invitations.
    let started = Instant::now();
    for opp in &opportunities {
        assert_eq!(app.move_candidate(&org, ACCOUNT, opp, ASSESS_STAGE).await.status(), 200);
    }
    eventually("every invitation in Lever", Duration::from_secs(120), || async {
        opportunities.iter().all(|o| !app.lever.notes(ACCOUNT, o).is_empty())
    })
    .await;
    app.settle().await;
    let invite_time = started.elapsed();
    let all = app.lever.calls_for(ACCOUNT);
    let invites = Phase { calls: all[before..].to_vec() };

    // Every candidate's result arrives at once.
    let api = app.api(&org.api_key);
    let (_, list) = api.get("/invitations").await;
    let ids: Vec<String> =
        list["data"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_string()).collect();
    let before = all.len();
    let started = Instant::now();
    for id in &ids {
        let (status, _) = api.post(&format!("/invitations/{id}/result"), json!({"score": 80})).await;
        assert_eq!(status, 200);
    }
    eventually("every result in Lever", Duration::from_secs(120), || async {
        opportunities.iter().all(|o| !app.lever.feedback(ACCOUNT, o).is_empty())
    })
    .await;
    app.settle().await;
    let result_time = started.elapsed();
    let results = Phase { calls: app.lever.calls_for(ACCOUNT)[before..].to_vec() };
    if std::env::var("BUDGET_DEBUG").is_ok() {
        let retried: Vec<(String, i32, Option<String>)> =
            sqlx::query_as("SELECT kind, attempts, last_error FROM jobs WHERE attempts > 1 OR last_error IS NOT NULL")
                .fetch_all(&app.db)
                .await
                .unwrap();
        println!("retried: {retried:#?}");
    }

    println!("Lever budget, one account with a backlog of {CANDIDATES} candidates (fake Lever: 10/s, burst 20)");
    invites.report("invitations", 0);
    results.report("results", 1);
    println!(
        "wall time: invitations {:.1} s, results {:.1} s; busiest one-second window: {} requests",
        invite_time.as_secs_f64(),
        result_time.as_secs_f64(),
        app.lever.max_requests_in_window(ACCOUNT, Duration::from_secs(1))
    );
}
