//! Jobs that talk to Lever: notes land exactly once under 503s, 429s, and timeouts or 503s
//! after the write applied, with one worker process or two, and no account ever sees more than
//! 20 requests in a second; a pause Lever asks for holds for every waiting request;
//! revoked access pauses an organization's jobs until it reconnects; a busy organization
//! does not hold up another's work.

use std::time::Duration;

use serde_json::Value;

use super::kinds::{ReadStages, WriteNote, options, registry};
use crate::support::{Options, TestApp, eventually, spawn_with};

const ACCOUNTS: usize = 5;
const NOTES: usize = 200;
const OPPORTUNITIES_PER_ACCOUNT: usize = 4;

async fn app(extra_env: &[(&str, &str)]) -> TestApp {
    let extra_env = extra_env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    spawn_with(Options { worker: false, extra_env, ..Options::default() }).await
}

async fn notes_land_exactly_once(processes: usize) {
    // Lever answers slowly (after applying the write) for longer than Fulcrum waits.
    let mut app = app(&[("FULCRUM__LEVER__REQUEST_TIMEOUT_MS", "300")]).await;
    let mut targets = Vec::new();
    for a in 0..ACCOUNTS {
        let account = format!("acct-{a}");
        let org = app.connected_org(&format!("Org {a}"), &account).await;
        for o in 0..OPPORTUNITIES_PER_ACCOUNT {
            let opportunity = app.add_candidate(&account, &format!("opp-{a}-{o}"), "ada@example.test", None, &[]);
            targets.push((org.id, account.clone(), opportunity));
        }
    }
    app.lever.set_seed(20);
    app.lever.set_error_rate(503, 0.3);
    app.lever.set_slow_then_applied(0.05, Duration::from_millis(800));
    app.lever.set_applied_then_error(503, 0.05);

    let jobs: Vec<(String, String, String)> = (0..NOTES)
        .map(|n| {
            let (_, account, opportunity) = &targets[n % targets.len()];
            (account.clone(), opportunity.clone(), format!("[test note {n}]"))
        })
        .collect();
    let mut tx = app.db.begin().await.unwrap();
    for (n, (_, opportunity, marker)) in jobs.iter().enumerate() {
        let org_id = targets[n % targets.len()].0;
        let job = WriteNote { org_id, opportunity_id: opportunity.clone(), marker: marker.clone() };
        fulcrum::jobs::enqueue(&mut tx, &job, app.clock().now()).await.unwrap();
    }
    tx.commit().await.unwrap();
    for p in 0..processes {
        let state = if p == 0 { app.state.clone() } else { app.second_process() };
        app.start_worker_with(state, registry(), options());
    }

    eventually("every note job finishes", Duration::from_secs(90), || async {
        let done: i64 =
            sqlx::query_scalar("SELECT count(*) FROM jobs WHERE kind = 'test_write_note' AND state = 'done'")
                .fetch_one(&app.db)
                .await
                .unwrap();
        done == NOTES as i64
    })
    .await;

    for (account, opportunity, marker) in &jobs {
        let notes = app.lever.notes(account, opportunity);
        let copies = notes.iter().filter(|n| n["text"].as_str().is_some_and(|v| v.contains(marker))).count();
        assert_eq!(copies, 1, "{marker} on {opportunity} landed {copies} times");
    }
    let mut read_backs = 0;
    for a in 0..ACCOUNTS {
        let account = format!("acct-{a}");
        let most = app.lever.max_requests_in_window(&account, Duration::from_secs(1));
        assert!(most <= 20, "{account} saw {most} requests in one second");
        let calls = app.lever.calls_for(&account);
        assert!(calls.iter().any(|c| c.status == 503), "{account}: the faults were injected");
        read_backs += calls.iter().filter(|c| c.method == "GET" && c.path.ends_with("/notes")).count();
    }
    // Timeouts after the write applied happened, and were resolved by reading back.
    assert!(read_backs > 0, "no write was ever uncertain");
    let stray: Vec<Value> = sqlx::query_scalar("SELECT to_jsonb(w) FROM lever_writes w WHERE state <> 'done'")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert!(stray.is_empty(), "{stray:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notes_land_exactly_once_under_faults_within_the_rate_limit() {
    notes_land_exactly_once(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notes_land_exactly_once_with_two_worker_processes() {
    notes_land_exactly_once(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pause_lever_asks_for_holds_for_requests_already_waiting_for_their_slot() {
    let mut app = app(&[]).await;
    let org = app.connected_org("Acme", "acct-1").await;
    app.lever.set_retry_after(Some(2));
    app.lever.fail_next("acct-1", 1, 429);
    let mut tx = app.db.begin().await.unwrap();
    let mut ids = Vec::new();
    for _ in 0..12 {
        ids.push(fulcrum::jobs::enqueue(&mut tx, &ReadStages { org_id: org.id }, app.clock().now()).await.unwrap());
    }
    tx.commit().await.unwrap();
    app.start_worker_with(app.state.clone(), registry(), options());
    eventually("the jobs finish", Duration::from_secs(20), || app.jobs_all(&ids, "done")).await;

    let calls = app.lever.calls_for("acct-1");
    let refused = calls.iter().find(|c| c.status == 429).expect("Lever refused one request").at;
    // Requests already on the wire when the 429 came cannot be called back; nothing else
    // may go before Retry-After says.
    let early = calls.iter().filter(|c| c.at > refused + Duration::from_millis(100));
    let early = early.filter(|c| c.at < refused + Duration::from_secs(2)).count();
    assert_eq!(early, 0, "requests during the pause Lever asked for");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_access_pauses_an_organizations_jobs_until_it_reconnects() {
    let mut app = app(&[]).await;
    let org = app.create_org("Acme").await;
    let admin = app.connect_lever(&org, "acct-1").await;
    app.start_worker_with(app.state.clone(), registry(), options());
    let first = app.enqueue(&ReadStages { org_id: org.id }).await;
    eventually("a job runs while connected", Duration::from_secs(10), || async {
        app.job_state(first).await == "done"
    })
    .await;

    app.lever.revoke("acct-1");
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(app.enqueue(&ReadStages { org_id: org.id }).await);
    }
    eventually("the jobs pause", Duration::from_secs(10), || app.jobs_all(&ids, "paused")).await;
    for id in &ids {
        assert_eq!(app.job(*id).await.1, 0, "pausing spends no attempt");
    }
    let (_, overview) = app.api(&org.api_key).get("/integrations/lever").await;
    assert_eq!(overview["needs_reconnect"], true);

    let page = app.approve_in_lever(&admin, "acct-1").await;
    assert_eq!(page.status, 200, "{}", page.body);
    eventually("the jobs resume and finish", Duration::from_secs(10), || app.jobs_all(&ids, "done")).await;
    for id in &ids {
        assert_eq!(app.job(*id).await.1, 1, "one attempt each: the paused ones were not counted");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_organization_does_not_hold_up_another() {
    let mut app = app(&[]).await;
    // The backlog is meant to outlast the test (30 s of the account's budget).
    app.expect_leftover_jobs();
    let busy = app.connected_org("Busy", "acct-busy").await;
    let quiet = app.connected_org("Quiet", "acct-quiet").await;
    let mut tx = app.db.begin().await.unwrap();
    for _ in 0..300 {
        fulcrum::jobs::enqueue(&mut tx, &ReadStages { org_id: busy.id }, app.clock().now()).await.unwrap();
    }
    tx.commit().await.unwrap();
    app.start_worker_with(app.state.clone(), registry(), options());
    let done_for = |org: uuid::Uuid| {
        let db = app.db.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM jobs WHERE org_id = $1 AND state = 'done'")
                .bind(org)
                .fetch_one(&db)
                .await
                .unwrap()
        }
    };
    // Under way, with the busy organization's budget booked ahead.
    eventually("the backlog is being worked", Duration::from_secs(10), || async { done_for(busy.id).await >= 20 })
        .await;

    let id = app.enqueue(&ReadStages { org_id: quiet.id }).await;
    eventually("the quiet organization's job is done", Duration::from_secs(10), || async {
        app.job_state(id).await == "done"
    })
    .await;
    let waited: f64 =
        sqlx::query_scalar("SELECT extract(epoch FROM started_at - created_at)::float8 FROM jobs WHERE id = $1")
            .bind(id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(waited < 2.0, "the quiet organization's job waited {waited:.1} s");
    assert!(done_for(busy.id).await < 200, "the backlog was still there");

    // The backlog asks for far more than the budget: the budget holds, and Lever's own
    // limit is never hit.
    let calls = app.lever.calls_for("acct-busy");
    let most = app.lever.max_requests_in_window("acct-busy", Duration::from_secs(1));
    assert!(most <= 20, "{most} requests in one second");
    // On average ten a second, after the burst (five) that a quiet spell allows.
    let span = calls.last().unwrap().at.duration_since(calls[0].at).as_secs_f64();
    assert!(calls.len() as f64 <= 5.0 + 10.0 * span + 1.0, "{} requests in {span:.1} s", calls.len());
    assert!(calls.iter().all(|c| c.status != 429), "Lever answered 429");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_organization_holds_at_most_a_few_workers_across_processes() {
    let mut app = app(&[]).await;
    // The backlog is meant to outlast the test.
    app.expect_leftover_jobs();
    let busy = app.connected_org("Busy", "acct-busy").await;
    let mut tx = app.db.begin().await.unwrap();
    for _ in 0..300 {
        fulcrum::jobs::enqueue(&mut tx, &ReadStages { org_id: busy.id }, app.clock().now()).await.unwrap();
    }
    tx.commit().await.unwrap();
    // Two processes, 16 slots each: the backlog could fill all 32.
    let second = app.second_process();
    app.start_worker_with(app.state.clone(), registry(), options());
    app.start_worker_with(second, registry(), options());
    let running = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM jobs WHERE org_id = $1 AND state = 'running'")
            .bind(busy.id)
            .fetch_one(&app.db)
            .await
            .unwrap()
    };
    let done = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM jobs WHERE org_id = $1 AND state = 'done'")
            .bind(busy.id)
            .fetch_one(&app.db)
            .await
            .unwrap()
    };
    let mut most = 0;
    while done().await < 30 {
        most = most.max(running().await);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(most >= 1, "the backlog was worked");
    // Four per organization; two claims running at the same moment cannot see each
    // other's, so the bound is four per process.
    assert!(most <= 8, "{most} of the busy organization's jobs held workers at once");
}
