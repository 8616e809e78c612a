//! Input that PostgreSQL or the product cannot take is a clear 4xx, never a 5xx; production
//! answers carry HSTS; passwords that are too common are refused; settings from the
//! environment keep their type.

use fulcrum::orgs::Role;
use serde_json::{Value, json};

use crate::support::{Options, browser::Browser, spawn_app, spawn_with};

const NUL: &str = "a\0b";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nul_character_in_any_field_or_parameter_is_a_clear_400() {
    let app = spawn_app().await;
    let org = app.connected_org("Acme", "acct-1").await;
    let assessment = app.create_assessment(&org, "Backend Engineer", "FC-10001", 60).await;
    let member = app.add_member(&org, Role::Member).await;
    let member_id: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM users WHERE email = $1").bind(&member).fetch_one(&app.db).await.unwrap();
    let admin = app.signed_in(&org.admin_email).await;
    let stranger = app.browser();

    // Every form of the app, with every field it has.
    let forms: Vec<(&Browser, String, Vec<&str>)> = vec![
        (&stranger, "/login".into(), vec!["email", "password", "next"]),
        (&stranger, "/signup".into(), vec!["organization", "email", "password"]),
        (&admin, "/app/assessments/new".into(), ASSESSMENT_FIELDS.to_vec()),
        (&admin, format!("/app/assessments/{assessment}"), ASSESSMENT_FIELDS.to_vec()),
        (&admin, "/app/settings/team".into(), vec!["email", "name", "role", "password"]),
        (&admin, format!("/app/settings/team/{member_id}/role"), vec!["role"]),
        (&admin, "/app/settings/api-keys".into(), vec!["name"]),
        (
            &admin,
            "/app/settings/integrations/lever".into(),
            vec!["application_created_token", "stage_change_token", "clear_tokens", "trigger_stage"],
        ),
        (&admin, "/app/settings/email".into(), vec!["subject", "body", "logo_url", "accent_color", "reset"]),
        (&admin, "/app/settings/email/preview".into(), vec!["subject", "body", "logo_url", "accent_color"]),
        (&stranger, "/a/not-a-token/submit".into(), vec!["q1"]),
    ];
    let mut checked = 0;
    for (browser, path, fields) in &forms {
        for field in fields {
            let mut values: Vec<(&str, &str)> = fields.iter().map(|f| (*f, "fine")).collect();
            values.retain(|(f, _)| f != field);
            values.push((*field, NUL));
            let page = browser.post_form(path, &values).await;
            assert_eq!(page.status, 400, "{path} {field}: {}", page.body);
            assert!(page.text(".error-message").contains("NUL character"), "{path} {field}");
            checked += 1;
        }
    }
    // Every query parameter and path segment a page reads.
    let pages = [
        "/login?next=%00",
        "/app?status=a%00b",
        "/app?assessment=%00",
        "/app?from=%00&until=2026-01-01",
        "/app?until=%00",
        "/app/settings/team?done=%00",
        "/app/settings/integrations/lever?saved=%00",
        "/integrations/lever/callback?code=%00&state=x",
        "/integrations/lever/callback?state=%00",
        "/integrations/lever/callback?error=%00&error_description=%00",
        "/a/%00",
        "/app/invitations/%00",
    ];
    for path in pages {
        let page = admin.get(path).await;
        assert_eq!(page.status, 400, "{path}: {}", page.body);
        checked += 1;
    }
    let paged = admin.get(&format!("/app/assessments/{assessment}?saved=%00")).await;
    assert_eq!(paged.status, 400);

    // The REST API: query parameters and every text in its JSON bodies.
    let api = app.api(&org.api_key);
    for path in ["/invitations?opportunity_id=%00", "/invitations?status=a%00b", "/invitations/%00"] {
        let (status, body) = api.get(path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(body["error"]["code"], "bad_request", "{path}");
        assert!(body["error"]["message"].as_str().unwrap().contains("NUL character"));
        checked += 1;
    }
    let question = json!({"prompt": "2 + 2?", "choices": ["3", "4"], "answer": 1});
    let assessment_body = json!({"name": "Nul", "instructions": "Go", "questions": [question]});
    let mut bodies: Vec<(reqwest::Method, String, Value)> = Vec::new();
    for pointer in ["/name", "/instructions", "/questions/0/prompt", "/questions/0/choices/0"] {
        let mut body = assessment_body.clone();
        *body.pointer_mut(pointer).unwrap() = json!(NUL);
        bodies.push((reqwest::Method::POST, "/assessments".into(), body.clone()));
        bodies.push((reqwest::Method::PATCH, format!("/assessments/{assessment}"), body));
    }
    let id = uuid::Uuid::new_v4();
    bodies.extend([
        (reqwest::Method::PUT, "/integrations/lever".into(), json!({"signature_tokens": {"applicationCreated": NUL}})),
        (reqwest::Method::PUT, "/integrations/lever".into(), json!({"signature_tokens": {(NUL): "x"}})),
        (reqwest::Method::PUT, "/integrations/lever".into(), json!({"trigger_stage_ids": [NUL]})),
        (reqwest::Method::POST, format!("/invitations/{id}/result"), json!({"score": 1, "failure_reason": NUL})),
        (reqwest::Method::POST, format!("/invitations/{id}/result"), json!({"score": 1, "report_url": NUL})),
    ]);
    for (method, path, body) in bodies {
        let (status, answer) = api.send(method.clone(), &path, body.clone()).await;
        assert_eq!(status, 400, "{method} {path} {body}: {answer}");
        assert!(answer["error"]["message"].as_str().unwrap().contains("NUL character"), "{answer}");
        checked += 1;
    }

    // Lever's side: an unsigned delivery (whose token would be logged as rejected) and the key.
    let url = app.webhook_url(&org).await;
    let http = app.http();
    for body in [
        json!({"event": "candidateStageChange", "token": NUL, "triggeredAt": 1, "data": {}}),
        json!({"event": NUL, "token": "t", "triggeredAt": 1, "data": {}}),
        json!({"event": "candidateStageChange", "token": "t", "triggeredAt": 1, "data": {"opportunityId": NUL}}),
    ] {
        let response = http.post(&url).json(&body).send().await.unwrap();
        assert_eq!(response.status(), 400, "{body}");
        // The same sent as text/plain is read as JSON all the same, and refused the same.
        let plain = http.post(&url).header("content-type", "text/plain").body(body.to_string()).send().await.unwrap();
        assert_eq!(plain.status(), 400, "{body}");
        checked += 1;
    }
    let bad_key = http.post(format!("{}/webhooks/lever/%00", app.url)).json(&json!({})).send().await.unwrap();
    assert_eq!(bad_key.status(), 400);

    assert!(checked > 60, "{checked} cases");
    let deliveries: i64 = sqlx::query_scalar("SELECT count(*) FROM deliveries").fetch_one(&app.db).await.unwrap();
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(&app.db).await.unwrap();
    let assessments: i64 = sqlx::query_scalar("SELECT count(*) FROM assessments").fetch_one(&app.db).await.unwrap();
    assert_eq!((deliveries, users, assessments), (0, 2, 1), "nothing was stored");
    // Text that merely looks like an escape is ordinary text.
    let (status, body) = api
        .post("/assessments", json!({"name": "Literal \\u0000 text", "pass_mark": 50, "time_limit_minutes": 30}))
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["name"], "Literal \\u0000 text");
}

const ASSESSMENT_FIELDS: [&str; 7] =
    ["name", "pass_mark", "time_limit_minutes", "expires_after_days", "active", "instructions", "questions"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_answers_tell_browsers_to_stay_on_https() {
    let production =
        spawn_with(Options { extra_env: vec![("FULCRUM_ENV".into(), "production".into())], ..Options::default() })
            .await;
    for path in ["/healthz", "/login", "/no/such/page", "/api/v1/organization"] {
        let response = production.http().get(format!("{}{path}", production.url)).send().await.unwrap();
        let hsts = response.headers().get("strict-transport-security").map(|v| v.to_str().unwrap().to_string());
        assert_eq!(hsts.as_deref(), Some("max-age=31536000; includeSubDomains"), "{path}");
    }
    let development = spawn_app().await;
    let response = development.http().get(format!("{}/login", development.url)).send().await.unwrap();
    assert!(response.headers().get("strict-transport-security").is_none(), "plain http in development");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn common_passwords_are_refused_wherever_one_is_chosen() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let stranger = app.browser();
    for password in ["password12", "Password12", "QWERTYUIOP"] {
        let page = stranger
            .post_form("/signup", &[("organization", "Acme"), ("email", "ada@acme.test"), ("password", password)])
            .await;
        assert_eq!(page.status, 422, "{password}");
        assert!(page.text("p.error").contains("most common"), "{}", page.text("p.error"));
    }
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(&app.db).await.unwrap();
    assert_eq!(users, 1, "only the organization made for the test");
    // Teammates and resets choose passwords through the same check (tests/it/accounts.rs).
    let _ = org;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_numeric_client_id_from_the_environment_stays_text() {
    let app = spawn_with(Options {
        extra_env: vec![("FULCRUM__LEVER__CLIENT_ID".into(), "12345".into())],
        ..Options::default()
    })
    .await;
    let org = app.create_org("Acme").await;
    let admin = app.signed_in(&org.admin_email).await;
    let connect = admin.get("/integrations/lever/connect").await;
    assert_eq!(connect.status, 303, "{}", connect.body);
    let authorize = url::Url::parse(&connect.location.unwrap()).unwrap();
    let client_id = authorize.query_pairs().find(|(k, _)| k == "client_id").map(|(_, v)| v.into_owned());
    assert_eq!(client_id.as_deref(), Some("12345"));
}
