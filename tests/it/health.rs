//! Operations endpoints and what every response carries.

use crate::support::spawn_app;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_readiness_answer() {
    let app = spawn_app().await;
    let http = app.http();
    let healthz = http.get(format!("{}/healthz", app.url)).send().await.unwrap();
    assert_eq!(healthz.status(), 200);
    let readyz = http.get(format!("{}/readyz", app.url)).send().await.unwrap();
    assert_eq!(readyz.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_fails_when_the_database_is_gone() {
    let app = spawn_app().await;
    app.db.close().await;
    let readyz = app.http().get(format!("{}/readyz", app.url)).send().await.unwrap();
    assert_eq!(readyz.status(), 503);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pruning_keeps_tables_to_the_retention_windows() {
    let app = spawn_app().await;
    // An old failed job is part of the fixture: pruning must keep it.
    app.expect_failed_jobs();
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
    fulcrum::jobs::maintenance::prune(&app.state.jobs()).await.unwrap();
    let tokens: Vec<String> = sqlx::query_scalar("SELECT token FROM deliveries").fetch_all(&app.db).await.unwrap();
    assert_eq!(tokens, vec!["new"]);
    let jobs: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs").fetch_one(&app.db).await.unwrap();
    assert_eq!(jobs, 2, "recent done jobs and failed ones stay");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_ids_get_404s_not_parser_errors() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let admin = app.signed_in(&org.admin_email).await;
    for path in ["/app/invitations/not-a-uuid", "/app/assessments/123"] {
        let page = admin.get(path).await;
        assert_eq!(page.status, 404, "{path}");
        assert_eq!(page.text("h1"), "Not Found");
    }
    let removal = admin.post_form("/app/settings/team/not-a-uuid/remove", &[]).await;
    assert_eq!(removal.status, 404);
    let retry = admin.post_form("/app/jobs/abc/retry", &[]).await;
    assert_eq!(retry.status, 404);
    let api = app.api(&org.api_key);
    for path in ["/invitations/xyz", "/assessments/xyz"] {
        let (status, body) = api.get(path).await;
        assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")), "{path}");
    }
    let (status, body) = api.post("/invitations/xyz/result", serde_json::json!({"score": 1})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_describes_every_api_route() {
    let app = spawn_app().await;
    let response = app.http().get(format!("{}/api/v1/openapi.json", app.url)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let doc: serde_json::Value = response.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/assessments",
        "/assessments/{id}",
        "/invitations",
        "/invitations/{id}",
        "/invitations/{id}/start",
        "/invitations/{id}/result",
        "/integrations/lever",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_are_not_cached_but_static_files_are() {
    let app = spawn_app().await;
    let page = app.browser().get("/login").await;
    assert_eq!(page.headers["cache-control"], "no-store");
    let css = app.browser().get("/static/app.css").await;
    assert!(css.headers["cache-control"].to_str().unwrap().contains("max-age"));
}
