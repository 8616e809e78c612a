//! Work survives what goes wrong around it: revoked Lever access waits for a reconnect,
//! short-lived tokens are refreshed, and a failing mail server is retried or explained.

use std::time::Duration;

use super::{ACCOUNT, WAIT, invite, notes, setup, tags_become};
use crate::support::{eventually, lever::ASSESS_STAGE, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_account_waits_for_reconnect_and_loses_nothing() {
    let (app, org) = setup().await;
    // The stage list read at connect time finishes first: only the deliveries should wait.
    app.settle().await;
    app.lever.revoke(ACCOUNT);
    app.add_candidate(ACCOUNT, "opp-14", "g@candidates.test", Some("post-1"), &[]);
    app.add_candidate(ACCOUNT, "opp-15", "h@candidates.test", Some("post-1"), &[]);
    app.move_candidate(&org, ACCOUNT, "opp-14", ASSESS_STAGE).await;
    app.move_candidate(&org, ACCOUNT, "opp-15", ASSESS_STAGE).await;
    let admin = app.signed_in(&org.admin_email).await;
    eventually("the connection needs reconnecting", WAIT, || async {
        admin.get("/app/settings/integrations/lever").await.text("#connection-status") == "needs reconnect"
    })
    .await;
    eventually("both deliveries parked", WAIT, || async {
        let paused: i64 =
            sqlx::query_scalar("SELECT count(*) FROM jobs WHERE state = 'paused' AND kind = 'handle_delivery'")
                .fetch_one(&app.db)
                .await
                .unwrap();
        paused == 2
    })
    .await;
    let mails = app.smtp.wait_for(1, WAIT).await;
    assert_eq!(mails[0].to, vec![org.admin_email.clone()]);
    assert!(mails[0].subject.contains("reconnect Lever"));
    assert!(admin.get("/app").await.exists(".banner"));
    let settings = admin.get("/app/settings/integrations/lever").await;
    assert!(settings.text("#waiting").starts_with("2 pieces of work"), "{}", settings.text("#waiting"));
    let failed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM jobs WHERE state = 'failed'").fetch_one(&app.db).await.unwrap();
    assert_eq!(failed, 0, "paused, not failed");

    let page = app.approve_in_lever(&admin, ACCOUNT).await;
    assert_eq!(page.status, 200, "{}", page.body);
    tags_become(&app, "opp-14", &["Fulcrum: Candidate Invited"]).await;
    tags_become(&app, "opp-15", &["Fulcrum: Candidate Invited"]).await;
    app.settle().await;
    let reconnect_mails = app.smtp.messages().iter().filter(|m| m.subject.contains("reconnect")).count();
    assert_eq!(reconnect_mails, 1, "admins are emailed once");
    assert!(!admin.get("/app").await.exists(".banner"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_lived_tokens_keep_work_flowing_through_refreshes() {
    let app = spawn_app().await;
    app.lever.set_access_token_ttl(Duration::from_secs(1));
    let org = app.connected_org("Acme", ACCOUNT).await;
    app.assessment_ready(&org, ACCOUNT).await;
    for i in 0..4 {
        let opp = format!("opp-t{i}");
        invite(&app, &org, &opp).await;
        // Let the access token age past its life between candidates.
        let before = app.lever.refresh_count(ACCOUNT);
        eventually("a refresh", Duration::from_secs(5), || async {
            fulcrum::lever::connection::access_token(&app.state.lever, org.id, None).await.is_ok()
                && app.lever.refresh_count(ACCOUNT) > before
        })
        .await;
    }
    app.settle().await;
    assert_eq!(app.lever.invalid_grant_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_failures_are_retried_and_a_refused_address_is_explained_in_lever() {
    let (app, org) = setup().await;
    // A passing failure: the invite goes out on a later attempt, once.
    app.smtp.reject_next(1);
    app.add_candidate(ACCOUNT, "opp-m1", "m1@candidates.test", Some("post-1"), &[]);
    app.move_candidate(&org, ACCOUNT, "opp-m1", ASSESS_STAGE).await;
    tags_become(&app, "opp-m1", &["Fulcrum: Candidate Invited"]).await;
    app.settle().await;
    assert_eq!(app.smtp.messages().len(), 1);
    let attempts: Vec<String> =
        sqlx::query_scalar("SELECT status FROM emails ORDER BY created_at").fetch_all(&app.db).await.unwrap();
    assert_eq!(attempts, vec!["failed", "sent"]);

    // A mailbox the server refuses for good: no invitation, and Lever says why.
    app.smtp.refuse_recipient("m2@candidates.test");
    app.add_candidate(ACCOUNT, "opp-m2", "m2@candidates.test", Some("post-1"), &[]);
    app.move_candidate(&org, ACCOUNT, "opp-m2", ASSESS_STAGE).await;
    eventually("the error note", WAIT, || async { !notes(&app, "opp-m2").is_empty() }).await;
    app.settle().await;
    assert!(app.lever.tags(ACCOUNT, "opp-m2").contains(&"Fulcrum: Error".to_string()));
    assert!(notes(&app, "opp-m2")[0].contains("was refused"), "{:?}", notes(&app, "opp-m2"));
    let status: String = sqlx::query_scalar("SELECT status FROM invitations WHERE opportunity_id = 'opp-m2'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(status, "cancelled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invite_email_that_never_goes_out_is_explained_and_can_be_retried() {
    let (app, org) = setup().await;
    app.smtp.reject_next(<fulcrum::jobs::kinds::email::SendEmail as fulcrum::jobs::Job>::MAX_ATTEMPTS as usize);
    app.add_candidate(ACCOUNT, "opp-m3", "m3@candidates.test", Some("post-1"), &[]);
    app.move_candidate(&org, ACCOUNT, "opp-m3", ASSESS_STAGE).await;
    // Each retry waits out its backoff on the tests' clock. Eight attempts, each a real SMTP
    // exchange and a trip through the queue, take over 15 s on a busy two-core machine.
    eventually("the email job gives up", 3 * WAIT, || async {
        app.clock().advance(chrono::Duration::minutes(15));
        app.wake_workers().await;
        let state: Option<String> = sqlx::query_scalar("SELECT state FROM jobs WHERE kind = 'send_email'")
            .fetch_optional(&app.db)
            .await
            .unwrap();
        state.as_deref() == Some("failed")
    })
    .await;
    tags_become(&app, "opp-m3", &["Fulcrum: Error"]).await;
    eventually("the error note", WAIT, || async { !notes(&app, "opp-m3").is_empty() }).await;
    assert!(notes(&app, "opp-m3")[0].contains("could not be sent"), "{:?}", notes(&app, "opp-m3"));
    assert!(app.smtp.messages().is_empty());

    let admin = app.signed_in(&org.admin_email).await;
    let dashboard = admin.get("/app").await;
    assert!(dashboard.text("#invitations tbody tr").contains("not sent yet"));
    let jobs = admin.get("/app/jobs").await;
    assert!(jobs.text("#failed-jobs").contains("Send an email"), "the admin sees it: {}", jobs.text("main"));
    let retry = jobs.attr("#failed-jobs form", "action").expect("a Retry button");
    assert_eq!(admin.post_form(&retry, &[]).await.status, 303);
    // The mail server takes it now: the candidate is invited after all, and the Error goes.
    app.smtp.wait_for(1, WAIT).await;
    tags_become(&app, "opp-m3", &["Fulcrum: Candidate Invited"]).await;
    app.settle().await;
}
