//! Many tenants on one database, one of them noisy: a "big" organization moves a backlog of
//! candidates into a trigger stage at once; while it drains, each of the other
//! organizations moves one candidate every few seconds. Reports the small tenants'
//! webhook → invite email and webhook → invited tag in Lever (p50/p99), the big tenant's
//! Lever requests per second (mean, busiest second), its drain time, 429s, invites per
//! second, CPU time and database connections.
//!
//! `cargo bench --bench tenants` — sizes from the environment: `TENANTS_ORGS` (200),
//! `TENANTS_BIG` (2000 candidates), `TENANTS_EVERY_SECS` (5: each small tenant's pace).
//! The app (HTTP and a worker) and a second worker on its own pool, as a second process
//! would run, share one PostgreSQL (DATABASE_URL's server, else the embedded cluster), the
//! fake Lever (10/s, burst 20 per account) and the SMTP sink.

#[allow(unused_imports)]
#[path = "../tests/it/support/mod.rs"]
mod support;

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use support::{eventually, lever::ASSESS_STAGE, workflow::POSTING};

const INVITED: &str = "Fulcrum: Candidate Invited";

fn size(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(run());
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64()
}

fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

async fn run() {
    let (orgs, big, every) = (size("TENANTS_ORGS", 200), size("TENANTS_BIG", 2000), size("TENANTS_EVERY_SECS", 5));
    let mut app = support::spawn_app().await;
    let second = app.second_process();
    app.start_worker_with(second, fulcrum::jobs::registry(), support::app::worker_options(Duration::from_secs(30)));

    let mut tenants = Vec::new();
    for o in 0..orgs {
        let account = format!("acct-{o}");
        let org = app.connected_org(&format!("Tenant {o}"), &account).await;
        app.assessment_ready_coded(&org, &account, &format!("FC-3{o:04}")).await;
        tenants.push((org, account));
    }
    let (big_org, big_account) = &tenants[0];
    let backlog: Vec<String> = (0..big)
        .map(|i| app.add_candidate(big_account, &format!("big-{i}"), &format!("big{i}@c.test"), Some(POSTING), &[]))
        .collect();
    app.settle().await;
    let calls_before = app.lever.calls_for(big_account).len();
    let cpu_before = cpu_seconds();

    // The noisy neighbour moves its whole pipeline at once.
    let started = Instant::now();
    for opp in &backlog {
        assert_eq!(app.move_candidate(big_org, big_account, opp, ASSESS_STAGE).await.status(), 200);
    }
    // Meanwhile each small tenant moves one candidate every `every` seconds, spread out.
    let small = &tenants[1..];
    let mut sent: HashMap<(usize, String), Instant> = HashMap::new();
    let mut emailed: HashMap<(usize, String), Duration> = HashMap::new();
    let mut tagged: HashMap<(usize, String), Duration> = HashMap::new();
    let spacing = Duration::from_secs(every as u64) / small.len().max(1) as u32;
    let mut round = 0;
    let mut next = Instant::now();
    let mut drained: Option<Duration> = None;
    let mut connections = 0i64;
    loop {
        let big_done =
            drained.is_some() || backlog.iter().all(|o| app.lever.tags(big_account, o).contains(&INVITED.into()));
        if big_done && drained.is_none() {
            drained = Some(started.elapsed());
        }
        if big_done && sent.len() == emailed.len() && sent.len() == tagged.len() {
            break;
        }
        if !big_done && Instant::now() >= next {
            let t = (round % small.len().max(1), round / small.len().max(1));
            let (org, account) = &small[t.0];
            let opp = app.add_candidate(
                account,
                &format!("small-{}", t.1),
                &format!("s{}-{}@c.test", t.0, t.1),
                Some(POSTING),
                &[],
            );
            let at = Instant::now();
            assert_eq!(app.move_candidate(org, account, &opp, ASSESS_STAGE).await.status(), 200);
            sent.insert((t.0, opp), at);
            round += 1;
            next += spacing;
        }
        let mails = app.smtp.messages();
        for ((t, opp), at) in &sent {
            let key = (*t, opp.clone());
            if !emailed.contains_key(&key)
                && mails.iter().any(|m| m.to.iter().any(|to| to.starts_with(&format!("s{t}-{}@", &opp[6..]))))
            {
                emailed.insert(key.clone(), at.elapsed());
            }
            if !tagged.contains_key(&key) && app.lever.tags(&small[*t].1, opp).contains(&INVITED.into()) {
                tagged.insert(key, at.elapsed());
            }
        }
        let now: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
            .fetch_one(&app.db)
            .await
            .unwrap();
        connections = connections.max(now);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eventually("the queue to settle", Duration::from_secs(120), || app.jobs_settled()).await;
    let elapsed = started.elapsed();
    let cpu = cpu_seconds() - cpu_before;

    let big_calls: Vec<_> = app.lever.calls_for(big_account)[calls_before..].to_vec();
    let first = big_calls.iter().map(|c| c.at).min().unwrap();
    let last = big_calls.iter().map(|c| c.at).max().unwrap();
    let rate = (big_calls.len() - 1) as f64 / (last - first).as_secs_f64();
    let too_many = app.lever.calls().iter().filter(|c| c.status == 429).count();
    let busiest = app.lever.max_requests_in_window(big_account, Duration::from_secs(1));
    let mails = app.smtp.messages();
    let mut per_recipient: HashMap<&str, usize> = HashMap::new();
    for m in &mails {
        for to in &m.to {
            *per_recipient.entry(to.as_str()).or_default() += 1;
        }
    }
    let repeated = per_recipient.values().filter(|n| **n > 1).count();
    let mut to_email: Vec<Duration> = emailed.values().copied().collect();
    let mut to_tag: Vec<Duration> = tagged.values().copied().collect();
    to_email.sort();
    to_tag.sort();

    println!(
        "tenants: {orgs} organizations; the big one moves {big} candidates at once; the other {} move one each every {every} s",
        orgs - 1
    );
    println!(
        "small tenants ({} invitations): webhook → invite email p50 {:.2} s, p99 {:.2} s; webhook → invited tag p50 {:.2} s, p99 {:.2} s",
        sent.len(),
        percentile(&to_email, 0.5),
        percentile(&to_email, 0.99),
        percentile(&to_tag, 0.5),
        percentile(&to_tag, 0.99)
    );
    println!(
        "big tenant: {} Lever requests, {rate:.2}/s mean, busiest second {busiest}; drained in {:.1} s",
        big_calls.len(),
        drained.unwrap_or_default().as_secs_f64()
    );
    println!(
        "429s: {too_many}; invites: {} in {:.1} s = {:.1}/s; recipients emailed more than once: {repeated}",
        mails.len(),
        elapsed.as_secs_f64(),
        mails.len() as f64 / elapsed.as_secs_f64()
    );
    println!(
        "CPU (this process: app, both workers, fake Lever, SMTP sink): {cpu:.1} s over {:.1} s = {:.2} cores; database connections at most {connections}",
        elapsed.as_secs_f64(),
        cpu / elapsed.as_secs_f64()
    );
}
