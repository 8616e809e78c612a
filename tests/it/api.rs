//! The REST API as a contract: every route is in `openapi.json` and every documented route
//! exists; every error under `/api/v1` is JSON in one shape, whatever its status; lists are
//! paged with a cursor. (Every answer `ApiClient` receives, here and in every other test, is
//! also checked against its schema in `openapi.json`: see `support::openapi`.)

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{Options, TestApp, openapi, org::TestOrg, spawn_app, spawn_with};

/// (method, path) pairs, paths relative to `/api/v1`.
type Routes = BTreeSet<(String, String)>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_is_in_the_openapi_document_and_back() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let api = app.api(&org.api_key);
    // What the router has: each path's methods, as its 405 lists them.
    let probe = Method::from_bytes(b"PROBE").unwrap();
    let mut routed = Routes::new();
    for path in fulcrum::http::api::ROUTES {
        let concrete = path.replace("{id}", &Uuid::new_v4().to_string());
        let response = api.request(probe.clone(), &concrete).send().await.unwrap();
        assert_eq!(response.status(), 405, "{path}");
        let allow = response.headers()["allow"].to_str().unwrap().to_string();
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "method_not_allowed", "{path}: {body}");
        for method in allow.split(',').map(str::trim).filter(|m| *m != "HEAD") {
            routed.insert((method.to_string(), path.to_string()));
        }
    }
    // What the document describes.
    let served: Value =
        app.http().get(format!("{}/api/v1/openapi.json", app.url)).send().await.unwrap().json().await.unwrap();
    assert_eq!(served, *openapi::DOCUMENT, "the served document is the one the tests check against");
    let mut documented = Routes::new();
    for (path, item) in served["paths"].as_object().unwrap() {
        for method in openapi::documented_methods(item) {
            documented.insert((method, path.clone()));
        }
    }
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let missing: Vec<_> = documented.difference(&routed).collect();
    assert!(undocumented.is_empty(), "routes missing from openapi.json: {undocumented:?}");
    assert!(missing.is_empty(), "documented but not routed: {missing:?}");
    assert!(routed.len() >= 12, "{routed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_is_json_whatever_its_status() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let api = app.api(&org.api_key);
    let code = |body: &Value| body["error"]["code"].as_str().unwrap_or_default().to_string();

    // An unknown route, and a known one with a method it does not take (405 with Allow).
    let (status, body) = api.get("/no-such-thing").await;
    assert_eq!((status, code(&body)), (404, "not_found".into()));
    let (status, body) = api.send(Method::DELETE, "/invitations", json!({})).await;
    assert_eq!((status, code(&body)), (405, "method_not_allowed".into()));
    let (status, _) = api.send(Method::PUT, "/assessments", json!({})).await;
    assert_eq!(status, 405);

    // A body over 256 KiB.
    let huge = json!({"name": "x".repeat(300 * 1024), "pass_mark": 1, "time_limit_minutes": 1});
    let (status, body) = api.post("/assessments", huge).await;
    assert_eq!((status, code(&body)), (413, "payload_too_large".into()));

    // A body that is not sent as JSON is 415, not 400, with or without a Content-Type.
    for content_type in [Some("text/plain"), Some("application/x-www-form-urlencoded"), None] {
        let mut request = api.request(Method::POST, "/assessments").body("{\"name\": \"X\"}");
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let (status, body) = api.exchange(request, Method::POST, "/assessments").await;
        assert_eq!((status, code(&body)), (415, "unsupported_media_type".into()), "{content_type:?}");
        assert!(body["error"]["message"].as_str().unwrap().contains("application/json"));
    }

    // A query string that does not fit.
    let (status, body) = api.get("/invitations?status=invited&status=started").await;
    assert_eq!((status, code(&body)), (400, "bad_request".into()), "{body}");

    // Nothing of the above changed anything.
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM assessments").fetch_one(&app.db).await.unwrap();
    assert_eq!(stored, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_outlasts_the_time_out_is_a_json_503() {
    let extra_env = vec![("FULCRUM__SERVER__REQUEST_TIMEOUT_SECS".to_string(), "1".to_string())];
    let app = spawn_with(Options { extra_env, ..Options::default() }).await;
    let org = app.create_org("Acme").await;
    let api = app.api(&org.api_key);
    let (status, created) =
        api.post("/assessments", json!({"name": "Backend", "pass_mark": 50, "time_limit_minutes": 30})).await;
    assert_eq!(status, 201, "{created}");
    let path = format!("/assessments/{}", created["id"].as_str().unwrap());
    // Another transaction holds the assessment: the update waits for it past the time-out.
    let mut holder = app.db.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM assessments WHERE org_id = $1 FOR UPDATE")
        .bind(org.id)
        .execute(&mut *holder)
        .await
        .unwrap();
    let (status, body) = api.send(Method::PATCH, &path, json!({"pass_mark": 90})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (503, Some("unavailable")), "{body}");
    holder.rollback().await.unwrap();
    let (_, after) = api.get(&path).await;
    assert_eq!(after["pass_mark"], 50, "the timed-out change was not made");
}

async fn page_through(api: &crate::support::org::ApiClient, list: &str, limit: usize) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..50 {
        let separator = if list.contains('?') { '&' } else { '?' };
        let mut path = format!("{list}{separator}limit={limit}");
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let (status, body) = api.get(&path).await;
        assert_eq!(status, 200, "{path}: {body}");
        let page = body["data"].as_array().unwrap();
        assert!(page.len() <= limit, "{path}: {} items", page.len());
        items.extend(page.iter().cloned());
        match body["next_cursor"].as_str() {
            Some(next) => {
                assert_eq!(page.len(), limit, "a page before the last is full");
                cursor = Some(next.to_string());
            }
            None => return items,
        }
    }
    panic!("{list} never ended");
}

async fn invitations(app: &TestApp, org: &TestOrg, code: &str, count: usize) -> Vec<Uuid> {
    let assessment = app.create_assessment(org, "Backend Engineer", code, 60).await;
    let mut ids = Vec::new();
    for n in 0..count {
        // Several share a creation time: the order still holds, by id.
        let id: Uuid = sqlx::query_scalar(
            "INSERT INTO invitations (org_id, assessment_id, opportunity_id, candidate_email, token_hash, token_sealed,
                                      deadline, status, created_at)
             VALUES ($1, $2, $3, $4, $5, 'x', now() + interval '7 days', $6,
                     timestamptz '2026-11-01 10:00:00+00' + make_interval(mins => $7))
             RETURNING id",
        )
        .bind(org.id)
        .bind(assessment)
        .bind(format!("opp-{n}"))
        .bind(format!("c{n}@candidates.test"))
        .bind(format!("hash-{}", Uuid::new_v4()))
        .bind(if n % 2 == 0 { "invited" } else { "expired" })
        .bind((n / 3) as i32)
        .fetch_one(&app.db)
        .await
        .unwrap();
        ids.push(id);
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_come_a_page_at_a_time_with_a_cursor() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let other = app.create_org("Globex").await;
    let api = app.api(&org.api_key);

    let names = ["Delta", "alpha", "Charlie", "echo", "Bravo"];
    for name in names {
        let (status, _) =
            api.post("/assessments", json!({"name": name, "pass_mark": 50, "time_limit_minutes": 30})).await;
        assert_eq!(status, 201);
    }
    let listed: Vec<String> =
        page_through(&api, "/assessments", 2).await.iter().map(|a| a["name"].as_str().unwrap().to_string()).collect();
    assert_eq!(listed, ["alpha", "Bravo", "Charlie", "Delta", "echo"]);
    let (_, all) = api.get("/assessments").await;
    assert_eq!((all["data"].as_array().unwrap().len(), &all["next_cursor"]), (5, &Value::Null));

    let ids = invitations(&app, &org, "FC-10001", 7).await;
    invitations(&app, &other, "FC-10002", 2).await;
    let listed: Vec<Uuid> = page_through(&api, "/invitations", 3)
        .await
        .iter()
        .map(|i| i["id"].as_str().unwrap().parse().unwrap())
        .collect();
    let mut expected = ids.clone();
    expected.sort_by_key(|id| std::cmp::Reverse((ids.iter().position(|i| i == id).unwrap() / 3, *id)));
    assert_eq!(listed, expected, "newest first, then by id; each once; no other organization's");
    // Filters and pages together.
    let invited = page_through(&api, "/invitations?status=invited", 2).await;
    assert_eq!(invited.len(), 4);
    assert!(invited.iter().all(|i| i["status"] == "invited"));
    // A page that ends exactly at the end says so.
    let (_, first) = api.get("/invitations?limit=7").await;
    assert_eq!((first["data"].as_array().unwrap().len(), &first["next_cursor"]), (7, &Value::Null));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_limits_and_cursors_are_refused_with_the_field() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let api = app.api(&org.api_key);
    for query in ["limit=0", "limit=201", "limit=ten", "limit=-5"] {
        for list in ["/assessments", "/invitations"] {
            let (status, body) = api.get(&format!("{list}?{query}")).await;
            assert_eq!((status, body["error"]["field"].as_str()), (422, Some("limit")), "{list}?{query}: {body}");
        }
    }
    for list in ["/assessments", "/invitations"] {
        let (status, body) = api.get(&format!("{list}?cursor=not-a-cursor")).await;
        assert_eq!((status, body["error"]["field"].as_str()), (422, Some("cursor")), "{list}: {body}");
    }
    // A cursor of one list is not a place in another.
    for name in ["A", "B"] {
        api.post("/assessments", json!({"name": name, "pass_mark": 50, "time_limit_minutes": 30})).await;
    }
    let (_, page) = api.get("/assessments?limit=1").await;
    let cursor = page["next_cursor"].as_str().unwrap();
    let (status, body) = api.get(&format!("/invitations?cursor={cursor}")).await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("cursor")), "{body}");
}

#[test]
fn the_schema_check_notices_a_drifted_answer() {
    // The checker itself: an answer missing a documented field, or carrying an undocumented
    // one, or with an undocumented status, does not pass.
    let headers = reqwest::header::HeaderMap::new();
    let assessment = json!({
        "id": Uuid::new_v4(), "name": "A", "code": "FC-00001", "pass_mark": 1, "time_limit_minutes": 1,
        "expires_after_days": 7, "active": true, "instructions": "", "questions": [],
        "tags": {"name": "Fulcrum A", "code": "FC-00001"},
        "created_at": "2026-12-01T10:00:00Z", "updated_at": "2026-12-01T10:00:00Z"
    });
    let path = format!("/assessments/{}", Uuid::new_v4());
    openapi::check(&Method::GET, &path, 200, &headers, &assessment);
    let mut extra = assessment.clone();
    extra["secret"] = json!("x");
    let mut missing = assessment.clone();
    missing.as_object_mut().unwrap().remove("code");
    let drifted = [
        (Method::GET, path.clone(), 200, extra),
        (Method::GET, path.clone(), 200, missing),
        (Method::GET, path.clone(), 418, json!({"error": {"code": "teapot", "message": "x"}})),
        (Method::GET, "/assessments".into(), 200, json!({"data": [assessment]})),
        (Method::GET, "/nowhere".into(), 200, json!({})),
    ];
    for (method, path, status, body) in drifted {
        let caught = std::panic::catch_unwind(|| openapi::check(&method, &path, status, &headers, &body));
        assert!(caught.is_err(), "{method} {path} {status} {body} passed");
    }
}
