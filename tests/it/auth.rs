//! Sign-up, sign-in, sessions, CSRF, roles, API keys and organization isolation (more on
//! accounts in `accounts`).

use fulcrum::orgs::Role;

use crate::support::{accounts::link_in, org::PASSWORD, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signup_creates_an_organization_whose_admin_confirms_the_address_and_is_signed_in() {
    let app = spawn_app().await;
    let browser = app.browser();
    assert_eq!(browser.get("/signup").await.status, 200);
    let page = browser
        .post_form("/signup", &[("organization", "Acme"), ("email", "ada@acme.test"), ("password", PASSWORD)])
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let link = link_in(&app.mail_to("ada@acme.test", 0).await, "/signup/verify/");
    let confirmed = browser.get(&link).await;
    assert_eq!(confirmed.status, 303, "{}", confirmed.body);
    assert_eq!(confirmed.location.as_deref(), Some("/app"));
    let session = confirmed.headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Lax"), "{session}");
    let dashboard = browser.get("/app").await;
    assert_eq!(dashboard.status, 200);
    assert!(dashboard.text("header .who").contains("ada@acme.test"));
    let (role, org): (String, String) = sqlx::query_as(
        "SELECT u.role, o.name FROM users u JOIN organizations o ON o.id = u.org_id WHERE u.email = 'ada@acme.test'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!((role.as_str(), org.as_str()), ("admin", "Acme"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_signups_explain_themselves_and_change_nothing() {
    let app = spawn_app().await;
    app.create_org("Existing").await;
    let browser = app.browser();
    for (fields, status, says) in [
        ([("organization", "Acme"), ("email", "ada@acme.test"), ("password", "short")], 422, "at least 10"),
        ([("organization", "Acme"), ("email", "not-an-email"), ("password", PASSWORD)], 422, "email address"),
        ([("organization", "   "), ("email", "ada@acme.test"), ("password", PASSWORD)], 422, "needs a name"),
    ] {
        let page = browser.post_form("/signup", &fields).await;
        assert_eq!(page.status, status, "{fields:?}: {}", page.body);
        assert!(page.text("p.error").contains(says), "{fields:?}: {}", page.text("p.error"));
    }
    let orgs: i64 = sqlx::query_scalar("SELECT count(*) FROM organizations").fetch_one(&app.db).await.unwrap();
    assert_eq!(orgs, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_refused_without_a_session() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let browser = app.browser();
    let page = browser.sign_in(&org.admin_email, "not the password").await;
    assert_eq!(page.status, 401);
    assert!(page.text("p.error").contains("do not match"));
    assert!(browser.cookie("fulcrum_session").is_none());
    let app_page = browser.get("/app").await;
    assert_eq!((app_page.status, app_page.location.as_deref()), (303, Some("/login")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_without_the_csrf_token_are_refused() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let browser = app.browser();
    browser.csrf().await;
    let page = browser.post_raw_form("/login", &[("email", &org.admin_email), ("password", PASSWORD)]).await;
    assert_eq!(page.status, 403);
    let wrong = browser
        .post_raw_form("/login", &[("email", &org.admin_email), ("password", PASSWORD), ("csrf_token", "forged")])
        .await;
    assert_eq!(wrong.status, 403);
    assert!(browser.cookie("fulcrum_session").is_none());
    // A cross-site form post arrives without the cookie at all.
    let stranger = app
        .http()
        .post(format!("{}/login", app.url))
        .form(&[("email", "x"), ("csrf_token", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(stranger.status(), 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_ends_the_session() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let browser = app.signed_in(&org.admin_email).await;
    let stolen = browser.cookie("fulcrum_session").unwrap();
    let page = browser.post_form("/logout", &[]).await;
    assert_eq!((page.status, page.location.as_deref()), (303, Some("/login")));
    assert_eq!(browser.get("/app").await.status, 303);
    // The old cookie is dead on the server too, not just cleared in this browser.
    let replay = app
        .http()
        .get(format!("{}/app", app.url))
        .header("cookie", format!("fulcrum_session={stolen}"))
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failed_sign_ins_are_slowed_down() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let browser = app.browser();
    for _ in 0..5 {
        assert_eq!(browser.sign_in(&org.admin_email, "wrong password").await.status, 401);
    }
    let blocked = browser.sign_in(&org.admin_email, PASSWORD).await;
    assert_eq!(blocked.status, 429, "even the right password waits out the window");
    assert!(blocked.text("p.error").contains("Too many"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_get_403_on_admin_pages() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let member = app.add_member(&org, Role::Member).await;
    let browser = app.signed_in(&member).await;
    assert_eq!(browser.get("/app").await.status, 200);
    let admin_pages = [
        "/app/assessments",
        "/app/assessments/new",
        "/app/settings/integrations/lever",
        "/app/settings/email",
        "/app/settings/team",
        "/app/settings/api-keys",
        "/app/jobs",
        "/integrations/lever/connect",
    ];
    for path in admin_pages {
        let page = browser.get(path).await;
        assert_eq!(page.status, 403, "{path}");
        assert!(page.text("main").contains("Only an organization admin"), "{path}: {}", page.body);
    }
    // Reading why a candidate was or was not invited is a recruiter's business too.
    let log = browser.get("/app/deliveries").await;
    assert_eq!(log.status, 200);
    assert!(log.texts("nav a").iter().all(|t| t != "Team" && t != "Lever"), "members see only their pages");
    let page = browser.post_form("/app/settings/api-keys", &[("name", "sneaky")]).await;
    assert_eq!(page.status, 403);
    let keys: i64 =
        sqlx::query_scalar("SELECT count(*) FROM api_keys WHERE name = 'sneaky'").fetch_one(&app.db).await.unwrap();
    assert_eq!(keys, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_change_roles_but_not_their_own() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let member = app.add_member(&org, Role::Member).await;
    let admin = app.signed_in(&org.admin_email).await;
    let bob = app.signed_in(&member).await;
    let id: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM users WHERE email = $1").bind(&member).fetch_one(&app.db).await.unwrap();

    let promoted = admin.post_form(&format!("/app/settings/team/{id}/role"), &[("role", "admin")]).await;
    assert_eq!((promoted.status, promoted.location.as_deref()), (303, Some("/app/settings/team?done=role")));
    assert_eq!(bob.get("/app/settings/team").await.status, 200, "the new admin reaches the admin pages at once");

    let me: uuid::Uuid = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(&org.admin_email)
        .fetch_one(&app.db)
        .await
        .unwrap();
    let demote_self = admin.post_form(&format!("/app/settings/team/{me}/role"), &[("role", "member")]).await;
    assert_eq!(demote_self.status, 422);
    assert_eq!(admin.get("/app/settings/team").await.status, 200, "still an admin");

    let other = app.create_org("Globex").await;
    let stranger = app.signed_in(&other.admin_email).await;
    let across = stranger.post_form(&format!("/app/settings/team/{id}/role"), &[("role", "member")]).await;
    assert_eq!(across.status, 404, "another organization's people are out of reach");
    let bogus = admin.post_form(&format!("/app/settings/team/{id}/role"), &[("role", "owner")]).await;
    assert_eq!(bogus.status, 422);
    let role: String =
        sqlx::query_scalar("SELECT role FROM users WHERE id = $1").bind(id).fetch_one(&app.db).await.unwrap();
    assert_eq!(role, "admin");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_returns_to_the_page_asked_for() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let browser = app.browser();
    let asked = browser.get("/app/deliveries?x=1").await;
    assert_eq!(asked.status, 303);
    let login = asked.location.unwrap();
    assert_eq!(login, "/login?next=%2Fapp%2Fdeliveries%3Fx%3D1");
    let form = browser.get(&login).await;
    assert_eq!(form.attr("input[name=next]", "value").as_deref(), Some("/app/deliveries?x=1"));
    let signed_in = browser
        .post_form("/login", &[("email", &org.admin_email), ("password", PASSWORD), ("next", "/app/deliveries?x=1")])
        .await;
    assert_eq!(signed_in.location.as_deref(), Some("/app/deliveries?x=1"));

    let elsewhere = app.browser();
    elsewhere.get("/login").await;
    let sent_off = elsewhere
        .post_form("/login", &[("email", &org.admin_email), ("password", PASSWORD), ("next", "//evil.test/")])
        .await;
    assert_eq!(sent_off.location.as_deref(), Some("/app"), "never to another site");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_are_shown_once_stored_hashed_and_revocable() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let browser = app.signed_in(&org.admin_email).await;
    let page = browser.post_form("/app/settings/api-keys", &[("name", "Grader")]).await;
    assert_eq!(page.status, 200);
    let key = page.attr("#new-key", "value").expect("the new key is shown");
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM api_keys WHERE key_hash = $1 OR prefix = $1")
        .bind(&key)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(stored, 0, "the key itself is never stored");
    let api = app.api(&key);
    assert_eq!(api.get("/organization").await.0, 200);
    assert!(!browser.get("/app/settings/api-keys").await.body.contains(&key), "shown only once");
    let again = browser.post_form("/app/settings/api-keys", &[("name", "grader ")]).await;
    assert_eq!(again.status, 409, "the same form sent twice (a reload) makes no second key");
    assert!(again.text("p.error").contains("already exists"));
    assert!(!again.exists("#new-key"));

    let id: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM api_keys WHERE name = 'Grader'").fetch_one(&app.db).await.unwrap();
    let revoked = browser.post_form(&format!("/app/settings/api-keys/{id}/revoke"), &[]).await;
    assert_eq!(revoked.status, 303);
    let (status, body) = api.get("/organization").await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "unauthorized");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_or_wrong_api_keys_get_401_json() {
    let app = spawn_app().await;
    let http = app.http();
    for auth in [None, Some("Bearer nope"), Some("Basic abc"), Some("Bearer ")] {
        let mut request = http.get(format!("{}/api/v1/organization", app.url));
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "{auth:?}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unauthorized", "{auth:?}");
        assert!(body["error"]["message"].as_str().unwrap().len() > 10);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_organization_cannot_touch_anothers_people_or_keys() {
    let app = spawn_app().await;
    let acme = app.create_org("Acme").await;
    let globex = app.create_org("Globex").await;
    let acme_member = app.add_member(&acme, Role::Member).await;
    let intruder = app.signed_in(&globex.admin_email).await;

    let team = intruder.get("/app/settings/team").await;
    assert!(!team.body.contains(&acme.admin_email) && !team.body.contains(&acme_member));

    let acme_user: uuid::Uuid = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(&acme_member)
        .fetch_one(&app.db)
        .await
        .unwrap();
    let removal = intruder.post_form(&format!("/app/settings/team/{acme_user}/remove"), &[]).await;
    assert_eq!(removal.status, 404);
    let acme_key: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM api_keys WHERE org_id = $1").bind(acme.id).fetch_one(&app.db).await.unwrap();
    let revoke = intruder.post_form(&format!("/app/settings/api-keys/{acme_key}/revoke"), &[]).await;
    assert_eq!(revoke.status, 404);
    let still: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE id = $1")
        .bind(acme_user)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(still, 1);
    let (_, body) = app.api(&globex.api_key).get("/organization").await;
    assert_eq!(body["name"], "Globex");
}
