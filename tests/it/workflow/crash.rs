//! Crashes: PostgreSQL stopped with `pg_ctl stop -m immediate` (on a cluster this test owns,
//! never the shared server) while deliveries arrive and jobs run, and a worker dying
//! between handing an email to the mail server and hearing back.

use std::{sync::Arc, time::Duration};

use fulcrum::db::EmbeddedPostgres;

use super::ACCOUNT;
use crate::support::{
    Options, TestApp, eventually,
    fake_lever::post_delivery,
    lever::{ASSESS_STAGE, RECRUITER, SCREEN_STAGE, STAGE_TOKEN},
    org::TestOrg,
    spawn_with,
    workflow::POSTING,
};

const INVITED: &str = "Fulcrum: Candidate Invited";
const ORGS: usize = 4;
const PER_ORG: usize = 20;
/// Acknowledged deliveries after which the database crashes: early, mid-stream, late.
const CRASH_AFTER: [usize; 3] = [12, 40, 66];

struct Candidate {
    org: usize,
    opportunity: String,
    email: String,
}

async fn ready(app: &TestApp) -> u16 {
    match app.http().get(format!("{}/readyz", app.url)).send().await {
        Ok(response) => response.status().as_u16(),
        Err(_) => 0,
    }
}

/// Delivers candidate `c`'s stage change, as Lever does: `Some(status)`, `None` when the
/// connection failed.
async fn deliver(app: &TestApp, orgs: &[(TestOrg, String, String)], c: &Candidate) -> Option<u16> {
    let (_, account, url) = &orgs[c.org];
    let body = app.lever.stage_change_delivery(account, &c.opportunity, SCREEN_STAGE, ASSESS_STAGE, Some(STAGE_TOKEN));
    post_delivery(&app.http(), url, &body).await.ok().map(|r| r.status().as_u16())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_crash_under_load_loses_nothing_acknowledged_and_repeats_no_effect() {
    let root = tempfile::tempdir().unwrap();
    let path = root.path().to_path_buf();
    let cluster = tokio::task::spawn_blocking(move || EmbeddedPostgres::start(&path)).await.unwrap().unwrap();
    let cluster = Arc::new(cluster);
    cluster.stop_at_exit().unwrap();
    fulcrum::db::embedded::wait_until_ready(&cluster.maintenance_url()).await.unwrap();
    let options = Options { database_server: Some(cluster.maintenance_url()), ..Options::default() };
    let app = spawn_with(options).await;

    let mut orgs = Vec::new();
    let mut candidates = Vec::new();
    for o in 0..ORGS {
        let account = format!("acct-crash-{o}");
        let org = app.connected_org(&format!("Tenant {o}"), &account).await;
        app.assessment_ready_coded(&org, &account, &format!("FC-2{o:04}")).await;
        for i in 0..PER_ORG {
            let email = format!("c{o}-{i}@candidates.test");
            let opportunity = app.add_candidate(&account, &format!("opp-{o}-{i}"), &email, Some(POSTING), &[]);
            app.lever.move_to_stage(&account, &opportunity, ASSESS_STAGE, RECRUITER);
            candidates.push(Candidate { org: o, opportunity, email });
        }
        let url = app.webhook_url(&org).await;
        orgs.push((org, account, url));
    }
    // Tenants interleaved, as deliveries from many accounts arrive.
    candidates.sort_by_key(|c| (c.opportunity.rsplit('-').next().unwrap().parse::<usize>().unwrap(), c.org));

    let mut acknowledged = vec![false; candidates.len()];
    let mut next = 0;
    for (round, crash_after) in CRASH_AFTER.into_iter().enumerate() {
        while next < crash_after {
            acknowledged[next] = deliver(&app, &orgs, &candidates[next]).await == Some(200);
            assert!(acknowledged[next], "delivery {next} before the crash was not accepted");
            next += 1;
        }
        // Jobs of the last deliveries are running now.
        let c = cluster.clone();
        tokio::task::spawn_blocking(move || c.crash()).await.unwrap().unwrap();
        // During the outage: a delivery is refused with 503 (Lever retries it later) and
        // the readiness check says the database is away.
        let (during, readiness) = tokio::join!(deliver(&app, &orgs, &candidates[next]), ready(&app));
        assert_eq!(during, Some(503), "a delivery during outage {round}");
        assert_eq!(readiness, 503, "/readyz during outage {round}");
        let c = cluster.clone();
        tokio::task::spawn_blocking(move || c.restart()).await.unwrap().unwrap();
        // The same processes recover by themselves.
        eventually("/readyz after the restart", Duration::from_secs(30), || async { ready(&app).await == 200 }).await;
    }
    // The rest of the stream, and Lever's retries of whatever was refused.
    for (i, c) in candidates.iter().enumerate().skip(CRASH_AFTER[0]) {
        if acknowledged[i] {
            continue;
        }
        eventually("a delivery to be accepted", Duration::from_secs(20), || async {
            deliver(&app, &orgs, c).await == Some(200)
        })
        .await;
    }

    // Every candidate invited, each effect exactly once.
    let all = candidates.len();
    eventually("every candidate invited in Lever and by email", Duration::from_secs(300), || async {
        let tagged =
            candidates.iter().filter(|c| app.lever.tags(&orgs[c.org].1, &c.opportunity).contains(&INVITED.into()));
        tagged.count() == all && app.smtp.messages().len() >= all
    })
    .await;
    app.settle().await;
    let mails = app.smtp.messages();
    for c in &candidates {
        let to_them = mails.iter().filter(|m| m.to.contains(&c.email)).count();
        assert_eq!(to_them, 1, "invite emails to {}", c.email);
        let notes = app.lever.notes(&orgs[c.org].1, &c.opportunity);
        assert_eq!(notes.len(), 1, "notes on {}: {notes:?}", c.opportunity);
    }
    assert_eq!(mails.len(), all, "no other mail");
    let unknown: i64 =
        sqlx::query_scalar("SELECT count(*) FROM emails WHERE status <> 'sent'").fetch_one(&app.db).await.unwrap();
    assert_eq!(unknown, 0, "every send's outcome was recorded");

    drop(app);
    // The cluster and its data are thrown away: stopped at once, as in the crashes above
    // (a clean shutdown's checkpoint can outlast pg_ctl's wait on a busy machine).
    let cluster = Arc::into_inner(cluster).expect("no other user of the cluster");
    tokio::task::spawn_blocking(move || cluster.crash()).await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_whose_sender_died_mid_send_is_shown_and_not_sent_again_until_retried() {
    let lease = Duration::from_secs(2);
    let mut app = spawn_with(Options { lease, ..Options::default() }).await;
    let org = app.connected_org("Acme", ACCOUNT).await;
    app.assessment_ready(&org, ACCOUNT).await;
    app.smtp.hold_answers();
    app.add_candidate(ACCOUNT, "opp-1", "ada@candidates.test", Some(POSTING), &[]);
    assert_eq!(app.move_candidate(&org, ACCOUNT, "opp-1", ASSESS_STAGE).await.status(), 200);
    // The mail server has the message; the process sending it stops before the answer
    // (its shutdown grace runs out and the send is abandoned, as in a crash).
    app.smtp.wait_for(1, Duration::from_secs(15)).await;
    app.stop_workers().await;
    app.smtp.release_answers();
    // Long after: whoever picks the job up cannot tell whether the message went.
    app.clock().advance(chrono::Duration::seconds(120));
    app.start_worker(lease);

    let failed = || async {
        sqlx::query_as::<_, (i64, String)>(
            "SELECT id, last_error FROM jobs WHERE kind = 'send_email' AND state = 'failed'",
        )
        .fetch_optional(&app.db)
        .await
        .unwrap()
    };
    eventually("the email job fails, saying why", Duration::from_secs(20), || async { failed().await.is_some() }).await;
    let (id, error) = failed().await.unwrap();
    assert!(error.contains("may not have been sent"), "{error}");
    assert_eq!(app.smtp.messages().len(), 1, "not sent again on its own");

    let admin = app.signed_in(&org.admin_email).await;
    let page = admin.get("/app/jobs").await;
    let row = format!("#failed-jobs tr[data-job-id='{id}']");
    assert!(page.text(&row).contains("may not have been sent"), "{}", page.text(&row));
    assert!(page.text(&row).contains("Retry sends it again"), "{}", page.text(&row));

    // The admin decides: send it again.
    assert_eq!(admin.post_form(&format!("/app/jobs/{id}/retry"), &[]).await.status, 303);
    app.smtp.wait_for(2, Duration::from_secs(15)).await;
    eventually("the candidate is tagged invited", Duration::from_secs(15), || async {
        app.lever.tags(ACCOUNT, "opp-1").contains(&INVITED.to_string())
    })
    .await;
    app.settle().await;
    assert_eq!(app.smtp.messages().len(), 2);
}
