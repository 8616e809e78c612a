//! `POST /webhooks/lever/{key}`: every row of the outcome table, and the delivery log.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{
    Options, TestApp,
    fake_lever::{delivery, sign},
    lever::{APP_TOKEN, STAGE_TOKEN},
    org::TestOrg,
    spawn_with,
};

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn stage_change(token: Option<&str>, at: i64) -> Value {
    delivery(
        "candidateStageChange",
        json!({"opportunityId": "opp-1", "toStageId": "st-screen", "fromStageId": "lead-new"}),
        token,
        at,
    )
}

async fn counts(app: &TestApp, org: &TestOrg) -> (i64, i64, i64) {
    sqlx::query_as(
        "SELECT count(*) FILTER (WHERE outcome = 'accepted'), count(*) FILTER (WHERE outcome = 'rejected'),
                (SELECT count(*) FROM jobs WHERE kind = 'handle_delivery' AND org_id = $1)
         FROM deliveries WHERE org_id = $1",
    )
    .bind(org.id)
    .fetch_one(&app.db)
    .await
    .unwrap()
}

async fn ready() -> (TestApp, TestOrg) {
    let app = spawn_with(Options { metrics: true, ..Options::default() }).await;
    let org = app.connected_org("Acme", "acct-1").await;
    (app, org)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_delivery_is_stored_with_its_job_before_the_200() {
    let (app, org) = ready().await;
    let response = app.deliver(&org, &stage_change(Some(STAGE_TOKEN), now_ms())).await;
    assert_eq!(response.status(), 200);
    // Committed before the answer: visible the moment the response arrives.
    assert_eq!(counts(&app, &org).await, (1, 0, 1));
    app.settle().await;
    let metrics = app.scrape_metrics().await;
    assert!(metrics.contains("fulcrum_webhooks_total{outcome=\"accepted\"} 1"), "{metrics}");
    assert!(metrics.contains("fulcrum_lever_calls_total{status=\"200\"}"), "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_delivery_changes_nothing() {
    let (app, org) = ready().await;
    let body = stage_change(Some(STAGE_TOKEN), now_ms());
    assert_eq!(app.deliver(&org, &body).await.status(), 200);
    assert_eq!(app.deliver(&org, &body).await.status(), 200);
    assert_eq!(app.deliver(&org, &body).await.status(), 200);
    assert_eq!(counts(&app, &org).await, (1, 0, 1));
    let repeats: i32 = sqlx::query_scalar("SELECT duplicates FROM deliveries").fetch_one(&app.db).await.unwrap();
    assert_eq!(repeats, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_arriving_together_are_each_stored_once_with_their_job() {
    let (app, org) = ready().await;
    let repeated = stage_change(Some(STAGE_TOKEN), now_ms());
    let distinct: Vec<Value> = (0..30).map(|_| stage_change(Some(STAGE_TOKEN), now_ms())).collect();
    let bodies = distinct.iter().chain(std::iter::repeat_n(&repeated, 10));
    let answers = futures_util::future::join_all(bodies.map(|body| app.deliver(&org, body))).await;
    assert!(answers.iter().all(|a| a.status() == 200));
    assert_eq!(counts(&app, &org).await, (31, 0, 31));
    let repeats: i32 = sqlx::query_scalar("SELECT duplicates FROM deliveries WHERE token = $1")
        .bind(repeated["token"].as_str().unwrap())
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(repeats, 9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_connection_marks_the_settings_verified() {
    let (app, org) = ready().await;
    let body = delivery("candidateStageChange", json!({}), Some(STAGE_TOKEN), now_ms());
    assert_eq!(app.deliver(&org, &body).await.status(), 200);
    assert_eq!(counts(&app, &org).await, (0, 0, 0));
    let (_, overview) = app.api(&org.api_key).get("/integrations/lever").await;
    assert!(overview["verified_at"].is_string(), "{overview}");
    let admin = app.signed_in(&org.admin_email).await;
    assert_ne!(admin.get("/app/settings/integrations/lever").await.text("#verified-at"), "never");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsigned_forged_and_unconfigured_deliveries_are_refused_and_logged() {
    let (app, org) = ready().await;
    let now = now_ms();
    let mut forged = stage_change(Some(STAGE_TOKEN), now);
    forged["signature"] = json!(sign("not-the-token", forged["token"].as_str().unwrap(), now));
    let mut tampered = stage_change(Some(STAGE_TOKEN), now);
    tampered["triggeredAt"] = json!(now + 1);
    let unsigned = stage_change(None, now);
    // Application Created is signed with its own token; the stage change token is not it.
    let wrong_event = delivery("applicationCreated", json!({"opportunityId": "opp-1"}), Some(STAGE_TOKEN), now);
    for body in [&forged, &tampered, &unsigned, &wrong_event] {
        let response = app.deliver(&org, body).await;
        assert_eq!(response.status(), 401, "{body}");
    }
    assert_eq!(counts(&app, &org).await, (0, 4, 0), "only rejected lines in the log");

    // With no token for an event at all:
    app.api(&org.api_key)
        .send(reqwest::Method::PUT, "/integrations/lever", json!({"signature_tokens": {"applicationCreated": null}}))
        .await;
    let body = delivery("applicationCreated", json!({"opportunityId": "opp-1"}), Some(APP_TOKEN), now);
    assert_eq!(app.deliver(&org, &body).await.status(), 401);
    let admin = app.signed_in(&org.admin_email).await;
    let log = admin.get("/app/deliveries").await;
    let reasons = log.texts("tr.rejected .outcome");
    assert_eq!(reasons.len(), 5);
    assert!(reasons.iter().any(|r| r.contains("not signed")));
    assert!(reasons.iter().any(|r| r.contains("does not match")));
    assert!(reasons.iter().any(|r| r.contains("no signature token is configured")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_and_future_deliveries_are_refused() {
    let (app, org) = ready().await;
    let day = 24 * 3600 * 1000;
    let stale = stage_change(Some(STAGE_TOKEN), now_ms() - 15 * day);
    let future = stage_change(Some(STAGE_TOKEN), now_ms() + 10 * 60 * 1000);
    assert_eq!(app.deliver(&org, &stale).await.status(), 401);
    assert_eq!(app.deliver(&org, &future).await.status(), 401);
    // A Rerun of a 13-day-old delivery is still accepted.
    let rerun = stage_change(Some(STAGE_TOKEN), now_ms() - 13 * day);
    assert_eq!(app.deliver(&org, &rerun).await.status(), 200);
    assert_eq!(counts(&app, &org).await, (1, 2, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_keys_malformed_and_oversized_bodies_change_nothing() {
    let (app, org) = ready().await;
    let http = app.http();
    let valid = stage_change(Some(STAGE_TOKEN), now_ms());
    let unknown = http.post(format!("{}/webhooks/lever/not-a-key", app.url)).json(&valid).send().await.unwrap();
    assert_eq!(unknown.status(), 404);
    let url = app.webhook_url(&org).await;
    let not_json = http.post(&url).header("content-type", "application/json").body("{nope").send().await.unwrap();
    assert_eq!(not_json.status(), 400);
    let wrong_shape = http.post(&url).json(&json!({"event": "candidateStageChange"})).send().await.unwrap();
    assert_eq!(wrong_shape.status(), 400);
    let no_opportunity = delivery("candidateStageChange", json!({"toStageId": "x"}), Some(STAGE_TOKEN), now_ms());
    assert_eq!(app.deliver(&org, &no_opportunity).await.status(), 400);
    let mut huge = stage_change(Some(STAGE_TOKEN), now_ms());
    huge["data"]["padding"] = json!("x".repeat(300 * 1024));
    let too_big = http.post(&url).json(&huge).send().await.unwrap();
    assert_eq!(too_big.status(), 413);
    assert_eq!(counts(&app, &org).await, (0, 0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_webhook_url_retires_the_old_one() {
    let (app, org) = ready().await;
    let old = app.webhook_url(&org).await;
    let admin = app.signed_in(&org.admin_email).await;
    let page = admin.post_form("/app/settings/integrations/lever/webhook-key", &[]).await;
    assert_eq!(page.status, 303);
    let new = app.webhook_url(&org).await;
    assert_ne!(old, new);
    let body = stage_change(Some(STAGE_TOKEN), now_ms());
    let http = app.http();
    assert_eq!(http.post(&old).json(&body).send().await.unwrap().status(), 404);
    assert_eq!(http.post(&new).json(&body).send().await.unwrap().status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_being_down_gives_503() {
    let (app, org) = ready().await;
    let url = app.webhook_url(&org).await;
    let body = stage_change(Some(STAGE_TOKEN), now_ms());
    app.db.close().await;
    // The org is cached from the URL lookup above? Not necessarily: either way no 2xx.
    let response = app.http().post(&url).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 503);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_refusing_connections_gives_503_and_readyz_says_so() {
    let (app, org) = ready().await;
    let url = app.webhook_url(&org).await;
    app.take_database_away().await;
    let response = app.http().post(&url).json(&stage_change(Some(STAGE_TOKEN), now_ms())).send().await.unwrap();
    assert_eq!(response.status(), 503, "Lever retries a 503");
    let readyz = app.http().get(format!("{}/readyz", app.url)).send().await.unwrap();
    assert_eq!(readyz.status(), 503);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_delivery_log_shows_what_each_delivery_led_to() {
    let (app, org) = ready().await;
    app.deliver(&org, &stage_change(Some(STAGE_TOKEN), now_ms())).await;
    app.deliver(&org, &delivery("candidateStageChange", json!({}), Some(STAGE_TOKEN), now_ms())).await;
    app.deliver(&org, &stage_change(None, now_ms())).await;
    let admin = app.signed_in(&org.admin_email).await;
    crate::support::eventually("the stage change is handled", Duration::from_secs(10), || async {
        !admin.get("/app/deliveries").await.text("tr.accepted .result").contains("in progress")
    })
    .await;
    let log = admin.get("/app/deliveries").await;
    assert_eq!(log.texts("tr.delivery").len(), 3);
    assert!(log.text("tr.accepted .result").contains("Not a trigger stage"), "{}", log.text("tr.accepted .result"));
    assert!(log.text("tr.test .result").contains("verified"));
    assert!(log.text("tr.rejected .outcome").contains("not signed"));
    // Another organization sees none of it.
    let globex = app.create_org("Globex").await;
    let other = app.signed_in(&globex.admin_email).await;
    assert!(other.get("/app/deliveries").await.exists("#empty"));
}
