//! Operations endpoints and what every response carries.

use crate::support::spawn_app;

#[tokio::test]
async fn health_readiness_and_metrics_answer() {
    let app = spawn_app().await;
    let http = app.http();
    let healthz = http.get(format!("{}/healthz", app.url)).send().await.unwrap();
    assert_eq!(healthz.status(), 200);
    let readyz = http.get(format!("{}/readyz", app.url)).send().await.unwrap();
    assert_eq!(readyz.status(), 200);
    let metrics = http.get(format!("{}/metrics", app.url)).send().await.unwrap();
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.unwrap();
    assert!(text.contains("# TYPE fulcrum_jobs gauge"), "{text}");
    assert!(text.contains("fulcrum_jobs{state=\"queued\"}"), "{text}");
    assert!(text.contains("# TYPE fulcrum_webhooks_total counter"), "{text}");
}

#[tokio::test]
async fn readiness_fails_when_the_database_is_gone() {
    let app = spawn_app().await;
    app.db.close().await;
    let readyz = app.http().get(format!("{}/readyz", app.url)).send().await.unwrap();
    assert_eq!(readyz.status(), 503);
}

#[tokio::test]
async fn pages_carry_security_headers_and_a_request_id() {
    let app = spawn_app().await;
    let page = app.browser().get("/login").await;
    assert_eq!(page.status, 200);
    let header = |name: &str| page.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    assert!(header("content-security-policy").contains("frame-ancestors 'none'"));
    assert_eq!(header("x-frame-options"), "DENY");
    assert_eq!(header("referrer-policy"), "same-origin");
    assert!(!header("x-request-id").is_empty());
}

#[tokio::test]
async fn unknown_routes_get_clear_404s_as_html_or_json() {
    let app = spawn_app().await;
    let page = app.browser().get("/no/such/page").await;
    assert_eq!(page.status, 404);
    assert_eq!(page.text("h1"), "Not Found");
    let api = app.http().get(format!("{}/api/v1/no-such-thing", app.url)).send().await.unwrap();
    assert_eq!(api.status(), 404);
    let body: serde_json::Value = api.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
}

#[tokio::test]
async fn oversized_and_malformed_forms_are_refused_cleanly() {
    let app = spawn_app().await;
    let browser = app.browser();
    let token = browser.csrf().await;
    let huge = "x".repeat(300 * 1024);
    let page = browser.post_raw_form("/login", &[("email", &huge), ("password", "x"), ("csrf_token", &token)]).await;
    assert_eq!(page.status, 413, "{}", page.body);
    let garbage = browser
        .client
        .post(format!("{}/login", app.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("%%%%=&&&==")
        .send()
        .await
        .unwrap();
    assert!(garbage.status().is_client_error(), "{}", garbage.status());
    let body = garbage.text().await.unwrap();
    assert!(!body.contains("panicked") && !body.contains("src/"), "{body}");
}

#[tokio::test]
async fn pruning_keeps_tables_to_the_retention_windows() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    sqlx::query(
        "INSERT INTO deliveries (org_id, token, outcome, received_at) VALUES
         ($1, 'old', 'accepted', now() - interval '15 days'), ($1, 'new', 'accepted', now() - interval '13 days')",
    )
    .bind(org.id)
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO jobs (kind, payload, state, max_attempts, run_at, finished_at) VALUES
         ('noop', '{}', 'done', 1, now(), now() - interval '8 days'),
         ('noop', '{}', 'done', 1, now(), now() - interval '6 days'),
         ('noop', '{}', 'failed', 1, now(), now() - interval '30 days')",
    )
    .execute(&app.db)
    .await
    .unwrap();
    fulcrum::jobs::maintenance::prune(&app.state).await.unwrap();
    let tokens: Vec<String> = sqlx::query_scalar("SELECT token FROM deliveries").fetch_all(&app.db).await.unwrap();
    assert_eq!(tokens, vec!["new"]);
    let jobs: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs").fetch_one(&app.db).await.unwrap();
    assert_eq!(jobs, 2, "recent done jobs and failed ones stay");
}
