//! Connecting Lever: the OAuth round trip, tokens at rest, the refresh lifecycle, revocation
//! and reconnection, the settings page and `/api/v1/integrations/lever`.

use std::time::Duration;

use fulcrum::{lever::connection::Refresh, orgs::Role};
use serde_json::json;

use crate::support::{
    Options, eventually,
    lever::{ADMIN_USER, ASSESS_STAGE},
    spawn_app, spawn_with,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_sends_every_parameter_and_stores_tokens_encrypted() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let admin = app.connect_lever(&org, "acct-1").await;

    let authorize = &app.lever.authorize_requests()[0];
    assert_eq!(authorize["client_id"], crate::support::fake_lever::CLIENT_ID);
    assert_eq!(authorize["redirect_uri"], format!("{}/integrations/lever/callback", app.url));
    assert_eq!(authorize["response_type"], "code");
    assert_eq!(authorize["audience"], "https://api.lever.co/v1/");
    assert_eq!(authorize["prompt"], "consent");
    assert!(authorize["state"].len() >= 32);
    let scopes: Vec<&str> = authorize["scope"].split(' ').collect();
    for scope in fulcrum::lever::SCOPES {
        assert!(scopes.contains(scope), "missing scope {scope}");
    }
    assert_eq!(scopes.len(), fulcrum::lever::SCOPES.len());

    let (account, access, refresh, user): (String, String, String, Option<String>) = sqlx::query_as(
        "SELECT account_id, access_token, refresh_token, lever_user_id FROM lever_connections WHERE org_id = $1",
    )
    .bind(org.id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!((account.as_str(), user.as_deref()), ("acct-1", Some(ADMIN_USER)));
    for sealed in [&access, &refresh] {
        assert!(sealed.starts_with("v1."), "{sealed}");
        assert!(!sealed.contains("eyJ"), "no JWT in clear");
    }
    // The tokens work: Fulcrum reads the stage list with them.
    eventually("stages are read from Lever", Duration::from_secs(10), || async {
        admin
            .get("/app/settings/integrations/lever")
            .await
            .texts("#settings label")
            .iter()
            .any(|t| t.contains("Fulcrum Assessment"))
    })
    .await;
    let page = admin.get("/app/settings/integrations/lever").await;
    assert_eq!(page.text("#connection-status"), "connected");
    assert!(page.text("#connection").contains("acct-1"));
    assert!(!page.body.contains(&refresh) && !page.body.contains(&access));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declining_in_lever_explains_and_connects_nothing() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    app.seed_account("acct-1");
    let admin = app.signed_in(&org.admin_email).await;
    app.lever.deny_next_authorization();
    let page = app.approve_in_lever(&admin, "acct-1").await;
    assert_eq!(page.status, 400);
    assert!(page.text("#result").contains("declined"), "{}", page.text("#result"));
    let connections: i64 =
        sqlx::query_scalar("SELECT count(*) FROM lever_connections").fetch_one(&app.db).await.unwrap();
    assert_eq!(connections, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_state_is_single_use_session_bound_and_short_lived() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    app.seed_account("acct-1");
    let admin = app.signed_in(&org.admin_email).await;
    let connect = admin.get("/integrations/lever/connect").await;
    let lever = app.http().get(connect.location.unwrap()).send().await.unwrap();
    let callback = lever.headers()["location"].to_str().unwrap().to_string();

    // Another signed-in admin of the same org cannot use it: it is bound to the session.
    let other = app.signed_in(&org.admin_email).await;
    let stolen = other.get(&callback).await;
    assert_eq!(stolen.status, 400);
    assert!(stolen.text("#result").contains("not match"));

    // The attempt spent nothing: its owner finishes, once.
    let owner = admin.get(&callback).await;
    assert_eq!(owner.status, 200, "{}", owner.body);
    let replay = admin.get(&callback).await;
    assert_eq!(replay.status, 400);
    assert!(replay.text("#result").contains("already used"));
    // The connection's own follow-up work (stages, waiting candidates) finishes before it
    // is taken away again, as it would in the minutes before someone reconnects.
    app.settle().await;
    sqlx::query("DELETE FROM lever_connections").execute(&app.db).await.unwrap();

    // An expired one is refused with its own explanation.
    let connect = admin.get("/integrations/lever/connect").await;
    let lever = app.http().get(connect.location.unwrap()).send().await.unwrap();
    let callback = lever.headers()["location"].to_str().unwrap().to_string();
    sqlx::query("UPDATE oauth_states SET expires_at = now() - interval '1 minute'").execute(&app.db).await.unwrap();
    let late = admin.get(&callback).await;
    assert_eq!(late.status, 400);
    assert!(late.text("#result").contains("ten minutes"));
    let forged = admin.get("/integrations/lever/callback?code=abc&state=made-up").await;
    assert_eq!(forged.status, 400);
    let connections: i64 =
        sqlx::query_scalar("SELECT count(*) FROM lever_connections").fetch_one(&app.db).await.unwrap();
    assert_eq!(connections, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lever_account_belongs_to_one_organization() {
    let app = spawn_app().await;
    let acme = app.create_org("Acme").await;
    app.connect_lever(&acme, "acct-1").await;
    let globex = app.create_org("Globex").await;
    let admin = app.signed_in(&globex.admin_email).await;
    let page = app.approve_in_lever(&admin, "acct-1").await;
    assert_eq!(page.status, 409);
    assert!(page.text("#result").contains("another Fulcrum organization"));
    let holder: uuid::Uuid = sqlx::query_scalar("SELECT org_id FROM lever_connections WHERE account_id = 'acct-1'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(holder, acme.id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_oauth_app_connect_says_it_is_not_configured() {
    let app = spawn_with(Options { lever_configured: false, ..Options::default() }).await;
    let org = app.create_org("Acme").await;
    let admin = app.signed_in(&org.admin_email).await;
    let page = admin.get("/integrations/lever/connect").await;
    assert_eq!(page.status, 503);
    assert!(page.text("#result").contains("LEVER_CLIENT_ID"));
    assert!(admin.get("/app/settings/integrations/lever").await.body.contains("no Lever OAuth app configured"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_admins_connect_or_see_the_settings() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let member = app.signed_in(&app.add_member(&org, Role::Member).await).await;
    assert_eq!(member.get("/integrations/lever/connect").await.status, 403);
    assert_eq!(member.get("/app/settings/integrations/lever").await.status, 403);
    assert_eq!(member.post_form("/integrations/lever/disconnect", &[]).await.status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_api_keeps_tokens_write_only() {
    let app = spawn_app().await;
    let org = app.connected_org("Acme", "acct-1").await;
    let api = app.api(&org.api_key);
    let (status, body) = api.get("/integrations/lever").await;
    assert_eq!(status, 200);
    assert_eq!(body["connected"], true);
    assert_eq!(body["needs_reconnect"], false);
    assert_eq!(body["account_id"], "acct-1");
    assert!(body["webhook_url"].as_str().unwrap().starts_with(&format!("{}/webhooks/lever/", app.url)));
    assert_eq!(body["signature_tokens"]["candidateStageChange"], true);
    assert!(!body.to_string().contains(crate::support::lever::STAGE_TOKEN));
    let sealed: String = sqlx::query_scalar("SELECT stage_change_token FROM lever_settings WHERE org_id = $1")
        .bind(org.id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(!sealed.contains(crate::support::lever::STAGE_TOKEN));

    let (status, body) =
        api.send(reqwest::Method::PUT, "/integrations/lever", json!({"trigger_stage_ids": [ASSESS_STAGE]})).await;
    assert_eq!((status, body["trigger_stage_ids"].clone()), (200, json!([ASSESS_STAGE])));
    let (status, body) = api
        .send(
            reqwest::Method::PUT,
            "/integrations/lever",
            json!({"signature_tokens": {"candidateStageChange": "has space"}}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["field"], "signature_tokens.candidateStageChange");
    let (status, _) = api.send(reqwest::Method::PUT, "/integrations/lever", json!({"bogus": 1})).await;
    assert_eq!(status, 400);
    let (status, _) =
        api.send(reqwest::Method::PUT, "/integrations/lever", json!({"trigger_stage_ids": ["../x"]})).await;
    assert_eq!(status, 422);

    // Once the account's stages are known, a stage it does not have is refused: it would
    // trigger nothing, silently.
    eventually("the stage list is read", Duration::from_secs(10), || async {
        api.get("/integrations/lever").await.1["stages"].as_array().is_some_and(|s| !s.is_empty())
    })
    .await;
    let (status, body) =
        api.send(reqwest::Method::PUT, "/integrations/lever", json!({"trigger_stage_ids": ["no-such-stage"]})).await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("trigger_stage_ids")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("no stage no-such-stage"), "{body}");
    assert_eq!(api.get("/integrations/lever").await.1["trigger_stage_ids"], json!([ASSESS_STAGE]), "unchanged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_settings_page_saves_tokens_and_trigger_stages() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let admin = app.connect_lever(&org, "acct-1").await;
    eventually("stages listed", Duration::from_secs(10), || async {
        admin.get("/app/settings/integrations/lever").await.exists("input[name=trigger_stage]")
    })
    .await;
    let page = admin
        .post_form(
            "/app/settings/integrations/lever",
            &[("application_created_token", "tok-a"), ("stage_change_token", "tok-b"), ("trigger_stage", ASSESS_STAGE)],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let page = admin.get("/app/settings/integrations/lever?saved=settings").await;
    assert!(page.text("p.notice").contains("saved"));
    assert_eq!(page.attr("input[name=trigger_stage][checked]", "value").as_deref(), Some(ASSESS_STAGE));
    assert!(!page.body.contains("tok-a") && !page.body.contains("tok-b"), "tokens are never shown back");
    let (_, body) = app.api(&org.api_key).get("/integrations/lever").await;
    assert_eq!(
        body["signature_tokens"],
        json!({"applicationCreated": true, "candidateStageChange": true, "candidateHired": false,
               "candidateArchiveChange": false, "candidateDeleted": false})
    );
    // An empty field keeps the token; "remove" clears them all.
    admin.post_form("/app/settings/integrations/lever", &[("application_created_token", "")]).await;
    let (_, body) = app.api(&org.api_key).get("/integrations/lever").await;
    assert_eq!(body["signature_tokens"]["applicationCreated"], true);
    admin.post_form("/app/settings/integrations/lever", &[("clear_tokens", "1")]).await;
    let (_, body) = app.api(&org.api_key).get("/integrations/lever").await;
    assert!(body["signature_tokens"].as_object().unwrap().values().all(|set| set == false), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_webhooks_registers_all_five_and_keeps_their_tokens() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let admin = app.connect_lever(&org, "acct-1").await;
    let page = admin.post_form("/app/settings/integrations/lever/webhooks", &[]).await;
    assert_eq!((page.status, page.location.as_deref()), (303, Some("/app/settings/integrations/lever?saved=webhooks")));
    let hooks = app.lever.webhooks("acct-1");
    let url = app.webhook_url(&org).await;
    let mut events: Vec<String> = hooks.iter().map(|h| h["event"].as_str().unwrap().to_string()).collect();
    events.sort();
    assert_eq!(
        events,
        vec![
            "applicationCreated",
            "candidateArchiveChange",
            "candidateDeleted",
            "candidateHired",
            "candidateStageChange"
        ]
    );
    assert!(hooks.iter().all(|h| h["url"] == url.as_str()));
    let (_, body) = app.api(&org.api_key).get("/integrations/lever").await;
    assert!(body["signature_tokens"].as_object().unwrap().values().all(|set| set == true), "{body}");
    // A delivery signed with the token Lever made is accepted.
    let token = hooks.iter().find(|h| h["event"] == "candidateStageChange").unwrap()["configuration"]["signatureToken"]
        .as_str()
        .unwrap()
        .to_string();
    let body = crate::support::fake_lever::delivery("candidateStageChange", json!({}), Some(&token), now_ms());
    assert_eq!(app.deliver(&org, &body).await.status(), 200);
    let page = admin.get("/app/settings/integrations/lever?saved=webhooks").await;
    assert!(page.text("p.notice").contains("Webhooks created"));
    assert!(page.text("#webhooks").contains("switches on"), "the remaining step in Lever is explained");
    // Clicking again reuses them rather than registering twice.
    admin.post_form("/app/settings/integrations/lever/webhooks", &[]).await;
    assert_eq!(app.lever.webhooks("acct-1").len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnecting_removes_webhooks_forgets_tokens_and_parks_work() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let admin = app.connect_lever(&org, "acct-1").await;
    admin.post_form("/app/settings/integrations/lever/webhooks", &[]).await;
    assert_eq!(app.lever.webhooks("acct-1").len(), 5);
    // Another process has been talking to Lever and holds the access token in its cache.
    let other = app.second_process();
    fulcrum::lever::Api::for_org(&other.lever, org.id).await.expect("connected");
    let page = admin.post_form("/integrations/lever/disconnect", &[]).await;
    assert_eq!(page.status, 303);
    assert!(app.lever.webhooks("acct-1").is_empty());
    let connections: i64 =
        sqlx::query_scalar("SELECT count(*) FROM lever_connections").fetch_one(&app.db).await.unwrap();
    assert_eq!(connections, 0);
    let page = admin.get("/app/settings/integrations/lever").await;
    assert_eq!(page.text("#connection-status"), "not connected");
    let cleared: bool = sqlx::query_scalar(
        "SELECT application_created_token IS NULL AND stage_change_token IS NULL FROM lever_settings",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(cleared, "the deleted webhooks' signature tokens are not kept as if they still worked");
    let before = app.lever.calls_for("acct-1").len();
    let after = fulcrum::lever::Api::for_org(&other.lever, org.id).await.err();
    assert!(matches!(after, Some(fulcrum::lever::LeverError::NeedsReconnect(_))), "every process forgets the token");
    assert_eq!(app.lever.calls_for("acct-1").len(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_refreshing_at_once_never_lose_the_rotated_token() {
    let app = spawn_app().await;
    app.lever.set_access_token_ttl(Duration::from_secs(2));
    let org = app.create_org("Acme").await;
    app.connect_lever(&org, "acct-1").await;
    // A second process: its own state (token cache, HTTP client) on the same database.
    let other = app.second_process();
    for round in 0..5 {
        let stale =
            fulcrum::lever::connection::access_token(&app.state.lever, org.id, None).await.unwrap().access_token;
        let (a, b) = tokio::join!(
            fulcrum::lever::connection::refresh(&app.state.lever, org.id, Refresh::Stale(&stale)),
            fulcrum::lever::connection::refresh(&other.lever, org.id, Refresh::Stale(&stale)),
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.access_token, b.access_token, "round {round}: both end with the one new token");
        assert_ne!(a.access_token, stale);
    }
    assert_eq!(app.lever.invalid_grant_count(), 0);
    assert_eq!(app.lever.refresh_count("acct-1"), 5, "one refresh per round, not two");
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_kept_alive_and_admins_warned_before_the_year_is_out() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    app.connect_lever(&org, "acct-1").await;
    fulcrum::jobs::maintenance::lever_upkeep(&app.state.jobs()).await.unwrap();
    app.settle().await;
    assert_eq!(app.lever.refresh_count("acct-1"), 0, "a fresh connection needs nothing");

    app.clock().advance(chrono::Duration::days(31));
    fulcrum::jobs::maintenance::lever_upkeep(&app.state.jobs()).await.unwrap();
    eventually("the keep-alive refresh", Duration::from_secs(10), || async { app.lever.refresh_count("acct-1") == 1 })
        .await;
    app.settle().await;

    app.clock().advance(chrono::Duration::days(310));
    fulcrum::jobs::maintenance::lever_upkeep(&app.state.jobs()).await.unwrap();
    fulcrum::jobs::maintenance::lever_upkeep(&app.state.jobs()).await.unwrap();
    let mails = app.smtp.wait_for(1, Duration::from_secs(10)).await;
    app.settle().await;
    assert_eq!(mails[0].to, vec![org.admin_email.clone()]);
    assert!(mails[0].subject.contains("before its access expires"));
    assert_eq!(app.smtp.messages().len(), 1, "warned once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lever_redirects_are_followed_with_the_token_but_only_to_levers_hosts() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    app.connect_lever(&org, "acct-1").await;
    app.settle().await;
    // Lever routes the account elsewhere on the same host: followed, token kept.
    app.lever.redirect_api_to(Some(app.lever.api_url().trim_end_matches("/v1")));
    let mut api = fulcrum::lever::Api::for_org(&app.state.lever, org.id).await.unwrap();
    let stages = api.stages().await.expect("followed the redirect");
    assert!(stages.iter().any(|s| s.text == "Fulcrum Assessment"));
    assert!(app.lever.calls_for("acct-1").iter().any(|c| c.path.starts_with("/eu/v1/stages") && c.status == 200));
    // A redirect to a host that is neither the configured one nor Lever's is refused: the
    // token is not sent there.
    let elsewhere = app.lever.api_url().replace("127.0.0.1", "localhost").trim_end_matches("/v1").to_string();
    app.lever.redirect_api_to(Some(&elsewhere));
    let before = app.lever.calls_for("acct-1").len();
    assert!(api.stages().await.is_err());
    let after = app.lever.calls_for("acct-1");
    assert!(after[before..].iter().all(|c| !c.path.starts_with("/eu/")), "nothing reached the other host");
}
