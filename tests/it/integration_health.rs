//! The integration health page and API: every check `ok` on a good set-up, and each planted
//! fault turning its own check to a warning or an error with a fix.

use fulcrum::orgs::Role;
use serde_json::Value;

use crate::support::{
    TestApp,
    browser::Browser,
    fake_lever::NewPosting,
    lever::{ASSESS_STAGE, RECRUITER},
    org::TestOrg,
    spawn_app,
};

const ACCOUNT: &str = "acct-h";

/// Connected, webhooks created in Lever, an assessment and a posting tagged for it.
async fn good_setup(app: &TestApp) -> (TestOrg, Browser) {
    let org = app.connected_org("Acme", ACCOUNT).await;
    app.assessment_ready(&org, ACCOUNT).await;
    let admin = app.signed_in(&org.admin_email).await;
    let created = admin.post_form("/app/settings/integrations/lever/webhooks", &[]).await;
    assert_eq!(created.status, 303, "{}", created.body);
    assert_eq!(app.lever.webhooks(ACCOUNT).len(), 5);
    (org, admin)
}

/// The checks as the API reports them now (the cached result forgotten first).
async fn checks(app: &TestApp, org: &TestOrg) -> Vec<Value> {
    sqlx::query("DELETE FROM lever_health").execute(&app.db).await.unwrap();
    let (status, body) = app.api(&org.api_key).get("/integrations/lever/health").await;
    assert_eq!(status, 200, "{body}");
    body["checks"].as_array().unwrap().clone()
}

fn check<'a>(checks: &'a [Value], id: &str) -> &'a Value {
    checks.iter().find(|c| c["id"] == id).unwrap_or_else(|| panic!("no check {id}: {checks:?}"))
}

/// The check is not ok, and says what is wrong (`detail` containing `says`) and how to fix it.
fn flagged(checks: &[Value], id: &str, says: &str) {
    let c = check(checks, id);
    assert!(c["status"] == "warning" || c["status"] == "error", "{id} should be flagged: {c}");
    assert!(c["detail"].as_str().unwrap().contains(says), "{id}'s detail should say {says:?}: {c}");
    assert!(c["fix"].as_str().unwrap().len() > 20, "{id} says how to fix it: {c}");
}

fn all_ok(checks: &[Value]) {
    let ids: Vec<&str> = checks.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "connection",
            "scopes",
            "webhooks",
            "signature_tokens",
            "deliveries",
            "trigger_stages",
            "postings",
            "jobs",
            "sweep"
        ]
    );
    for c in checks {
        assert_eq!(c["status"], "ok", "{c}");
        assert!(!c["title"].as_str().unwrap().is_empty() && !c["detail"].as_str().unwrap().is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_good_setup_is_all_ok_and_each_lever_side_fault_is_named_with_a_fix() {
    let app = spawn_app().await;
    let (org, admin) = good_setup(&app).await;
    let good = checks(&app, &org).await;
    all_ok(&good);
    assert!(check(&good, "postings")["detail"].as_str().unwrap().contains("\"Backend Engineer\" → Backend Engineer"));

    // A posting tag one letter off the assessment's name tag.
    let typo = NewPosting::new("post-typo", "Backend Engineer II").tags(["Fulcrum Backend Engneer"]).owner(RECRUITER);
    app.lever.add_posting(ACCOUNT, typo);
    flagged(
        &checks(&app, &org).await,
        "postings",
        "`Fulcrum Backend Engneer`: did you mean `Fulcrum Backend Engineer`?",
    );

    // The trigger stage renamed away from the brand word.
    app.lever.rename_stage(ACCOUNT, ASSESS_STAGE, "Take-home test");
    let found = checks(&app, &org).await;
    flagged(&found, "trigger_stages", "no stage in Lever starts with \"Fulcrum\"");
    assert_eq!(check(&found, "trigger_stages")["status"], "error");

    // The webhooks deleted in Lever.
    app.lever.delete_webhooks(ACCOUNT);
    let found = checks(&app, &org).await;
    flagged(&found, "webhooks", "candidateStageChange");
    assert_eq!(check(&found, "webhooks")["status"], "error");

    // An error shows a banner on every page, read from the stored result, linking admins
    // to the health page.
    let dashboard = admin.get("/app").await;
    assert!(dashboard.exists("#health-banner a[href='/app/settings/integrations/lever/health']"), "{}", dashboard.body);
    let page = admin.get("/app/settings/integrations/lever/health").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.text("#check-webhooks .pill"), "error");
    assert!(!page.text("#check-webhooks .fix").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_picked_trigger_stage_renamed_in_lever_is_flagged() {
    let app = spawn_app().await;
    let (org, _admin) = good_setup(&app).await;
    let (status, body) = app
        .api(&org.api_key)
        .send(reqwest::Method::PUT, "/integrations/lever", serde_json::json!({"trigger_stage_ids": [ASSESS_STAGE]}))
        .await;
    assert_eq!(status, 200, "{body}");
    let picked = checks(&app, &org).await;
    assert_eq!(check(&picked, "trigger_stages")["status"], "ok", "{picked:?}");
    app.lever.rename_stage(ACCOUNT, ASSESS_STAGE, "Onsite interview");
    flagged(&checks(&app, &org).await, "trigger_stages", "was renamed in Lever to \"Onsite interview\"");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_without_the_files_scope_is_a_warning_that_names_the_report() {
    let app = spawn_app().await;
    let scopes: Vec<String> =
        fulcrum::lever::SCOPES.iter().filter(|s| **s != "files:write:admin").map(|s| s.to_string()).collect();
    app.seed_account(ACCOUNT);
    app.lever.set_granted_scopes(ACCOUNT, Some(scopes));
    let org = app.connected_org("Acme", ACCOUNT).await;
    let found = checks(&app, &org).await;
    flagged(&found, "scopes", "files:write:admin (without it: no attaching the report PDF");
    assert_eq!(check(&found, "scopes")["status"], "warning", "the integration works without it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quiet_week_and_failed_jobs_are_flagged() {
    let app = spawn_app().await;
    let (org, _admin) = good_setup(&app).await;
    // Connected ten days ago; Lever's last accepted delivery came eight days ago.
    sqlx::query("UPDATE lever_connections SET authorized_at = now() - interval '10 days'")
        .execute(&app.db)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO deliveries (org_id, token, event, received_at, outcome) VALUES ($1, 't-old', 'candidateStageChange', now() - interval '8 days', 'accepted')",
    )
    .bind(org.id)
    .execute(&app.db)
    .await
    .unwrap();
    flagged(&checks(&app, &org).await, "deliveries", "No delivery from Lever accepted since");

    // Meanwhile the sweep keeps finding moves that no webhook reported.
    sqlx::query(
        "INSERT INTO deliveries (org_id, token, event, opportunity_id, outcome, source, result)
         VALUES ($1, 'sweep:o-1:st:1', 'candidateStageChange', 'o-1', 'accepted', 'sweep', 'Invited')",
    )
    .bind(org.id)
    .execute(&app.db)
    .await
    .unwrap();
    flagged(
        &checks(&app, &org).await,
        "deliveries",
        "the sweep found 1 move into trigger stages that no webhook reported",
    );

    sqlx::query(
        "INSERT INTO jobs (kind, payload, org_id, state, max_attempts, run_at, last_error, finished_at)
         VALUES ('lever_sync_opportunity', '{}', $1, 'failed', 1, now(), 'Lever rejected the request', now())",
    )
    .bind(org.id)
    .execute(&app.db)
    .await
    .unwrap();
    app.expect_failed_jobs();
    let found = checks(&app, &org).await;
    flagged(&found, "jobs", "1 failed");
    assert_eq!(check(&found, "jobs")["status"], "error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_get_403_and_admins_find_it_from_the_lever_page() {
    let app = spawn_app().await;
    let (org, admin) = good_setup(&app).await;
    let member = app.signed_in(&app.add_member(&org, Role::Member).await).await;
    assert_eq!(member.get("/app/settings/integrations/lever/health").await.status, 403);
    let lever_page = admin.get("/app/settings/integrations/lever").await;
    assert!(lever_page.exists("a#health-link[href='/app/settings/integrations/lever/health']"));
    let page = admin.get("/app/settings/integrations/lever/health").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.texts("#checks tbody tr").len(), 9);
    assert_eq!(page.text("#check-connection .pill"), "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_banner_tells_of_a_fault_nobody_went_looking_for() {
    let app = spawn_app().await;
    let (_org, admin) = good_setup(&app).await;
    app.lever.delete_webhooks(ACCOUNT);
    assert!(!admin.get("/app").await.exists("#health-banner"), "not checked yet");
    // What every process's upkeep does every few minutes for checks over an hour old.
    let handles = app.state.health_handles();
    let refreshed = fulcrum::integration_health::refresh_stale(&handles, chrono::Duration::zero(), 20).await.unwrap();
    assert_eq!(refreshed, 1);
    let dashboard = admin.get("/app").await;
    assert!(dashboard.exists("#health-banner a[href='/app/settings/integrations/lever/health']"), "{}", dashboard.body);
    // A fresh check is not repeated.
    let again = fulcrum::integration_health::refresh_stale(&handles, chrono::Duration::hours(1), 20).await.unwrap();
    assert_eq!(again, 0);
}
