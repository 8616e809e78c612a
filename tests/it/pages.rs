//! The app's pages around invitations: the dashboard and its filters, reports, the email
//! template, and the candidate's time limit.

use std::time::Duration;

use fulcrum::orgs::Role;

use crate::support::{TestApp, lever::ASSESS_STAGE, org::TestOrg, spawn_app, workflow::link_in};

const ACCOUNT: &str = "acct-1";

async fn invited(app: &TestApp, org: &TestOrg, opp: &str) -> String {
    app.add_candidate(ACCOUNT, opp, &format!("{opp}@candidates.test"), Some("post-1"), &[]);
    app.move_candidate(org, ACCOUNT, opp, ASSESS_STAGE).await;
    let count = app.smtp.messages().len();
    let mails = app.smtp.wait_for(count + 1, Duration::from_secs(15)).await;
    link_in(mails.iter().find(|m| m.to.iter().any(|t| t.starts_with(opp))).unwrap())
}

async fn setup() -> (TestApp, TestOrg) {
    let app = spawn_app().await;
    let org = app.connected_org("Acme", ACCOUNT).await;
    app.assessment_ready(&org, ACCOUNT).await;
    (app, org)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_see_the_dashboard_and_reports_of_their_organization_only() {
    let (app, org) = setup().await;
    invited(&app, &org, "opp-1").await;
    let link = invited(&app, &org, "opp-2").await;
    let candidate = app.browser();
    candidate.post_form(&format!("{link}/start"), &[]).await;
    candidate.post_form(&format!("{link}/submit"), &[("q1", "1"), ("q2", "0"), ("q3", "2")]).await;
    app.settle().await;

    let member = app.signed_in(&app.add_member(&org, Role::Member).await).await;
    let page = member.get("/app").await;
    assert_eq!(page.texts("#invitations tbody tr").len(), 2);
    let completed = member.get("/app?status=completed").await;
    assert_eq!(completed.texts("#invitations tbody tr").len(), 1);
    assert!(completed.text("#invitations tbody tr").contains("opp-2@candidates.test"));
    let none = member.get("/app?status=expired").await;
    assert!(none.exists("#no-invitations"));
    let today = chrono::Utc::now().date_naive();
    let dated = member.get(&format!("/app?from={today}&until={today}")).await;
    assert_eq!(dated.texts("#invitations tbody tr").len(), 2);

    let report_link = completed.attr("#invitations tbody tr a", "href").unwrap();
    let report = member.get(&report_link).await;
    assert_eq!(report.status, 200);
    assert!(report.text("#score").contains("100"));

    let globex = app.create_org("Globex").await;
    let outsider = app.signed_in(&globex.admin_email).await;
    assert_eq!(outsider.get(&report_link).await.status, 404);
    assert!(outsider.get("/app").await.body.contains("Getting started"));
    assert_eq!(app.browser().get(&report_link).await.status, 303, "signed-out visitors go to the sign-in form");
    let (status, _) = app.api(&globex.api_key).get(&format!("/invitations/{}", &report_link[17..])).await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_invite_email_follows_the_organizations_template() {
    let (app, org) = setup().await;
    let admin = app.signed_in(&org.admin_email).await;
    let page = admin.get("/app/settings/email").await;
    assert!(page.text("#preview-subject").contains("Backend Engineer"));

    let bad = admin.post_form("/app/settings/email", &[("subject", "Hi {{name}}"), ("body", "{{link}}")]).await;
    assert_eq!(bad.status, 422);
    assert!(bad.text("p.error").contains("{{candidate_name}}"), "{}", bad.text("p.error"));
    let no_link = admin.post_form("/app/settings/email", &[("subject", "Hi"), ("body", "No link here")]).await;
    assert_eq!(no_link.status, 422);
    let bad_colour = admin
        .post_form("/app/settings/email", &[("subject", "Hi"), ("body", "{{link}}"), ("accent_color", "red")])
        .await;
    assert_eq!(bad_colour.status, 422);

    let saved = admin
        .post_form(
            "/app/settings/email",
            &[
                ("subject", "{{company_name}} wants you, {{candidate_name}}"),
                ("body", "Dear {{candidate_name}},\n\nTake {{assessment_name}} within {{time_limit}}:\n\n{{link}}\n\nBy {{deadline}}."),
                ("accent_color", "#aa3300"),
            ],
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert!(saved.text("#preview-text").starts_with("Dear Ada Lovelace"));
    let preview = admin
        .post_form(
            "/app/settings/email/preview",
            &[("subject", "S"), ("body", "Hello <b>{{candidate_name}}</b>\n\n{{link}}")],
        )
        .await;
    assert!(preview.body.contains("&lt;b&gt;") && preview.body.contains("#2855c8"), "{}", preview.body);

    invited(&app, &org, "opp-3").await;
    let mail = app.smtp.messages().into_iter().find(|m| m.to.iter().any(|t| t.starts_with("opp-3"))).unwrap();
    assert_eq!(mail.subject, "Acme wants you, Ada Lovelace");
    assert!(mail.text.as_deref().unwrap().contains("Take Backend Engineer within 30 minutes"));
    assert!(mail.html.as_deref().unwrap().contains("#aa3300"));
    app.settle().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_enforces_the_time_limit() {
    let (app, org) = setup().await;
    let link = invited(&app, &org, "opp-4").await;
    let candidate = app.browser();
    candidate.get(&link).await;
    let early = candidate.post_form(&format!("{link}/submit"), &[("q1", "1")]).await;
    let back = early.location.expect("a redirect");
    assert!(back.starts_with("/a/") && link.ends_with(&back), "answers before Start lead back to the start page");
    candidate.post_form(&format!("{link}/start"), &[]).await;
    let page = candidate.get(&link).await;
    let left: i64 = page.attr("[data-seconds-left]", "data-seconds-left").expect("the time left").parse().unwrap();
    assert!((1790..=1800).contains(&left), "counted by the server's clock: {left}");
    assert_eq!(page.text(".timer output"), format!("{}:{:02}", left / 60, left % 60));
    // 30 minutes and the grace (seconds, for the page's own submit to arrive) go by.
    app.clock().advance(chrono::Duration::minutes(30) + chrono::Duration::seconds(20));
    let late = candidate.post_form(&format!("{link}/submit"), &[("q1", "1"), ("q2", "0"), ("q3", "2")]).await;
    assert_eq!(late.status, 410);
    assert!(late.exists("#expired"));
    let (status, score): (String, Option<i32>) =
        sqlx::query_as("SELECT status, score FROM invitations").fetch_one(&app.db).await.unwrap();
    assert_eq!((status.as_str(), score), ("expired", None));
    crate::support::eventually("the Expired tag", Duration::from_secs(15), || async {
        app.lever.tags(ACCOUNT, "opp-4").contains(&"Fulcrum: Assessment Expired".to_string())
    })
    .await;
    app.settle().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_started_attempt_left_open_is_closed_when_its_time_is_up() {
    let (app, org) = setup().await;
    let link = invited(&app, &org, "opp-5").await;
    app.browser().post_form(&format!("{link}/start"), &[]).await;
    app.settle().await;
    app.clock().advance(chrono::Duration::minutes(45));
    app.wake_workers().await;
    crate::support::eventually("the attempt closed", Duration::from_secs(15), || async {
        let status: String = sqlx::query_scalar("SELECT status FROM invitations").fetch_one(&app.db).await.unwrap();
        status == "expired"
    })
    .await;
    app.settle().await;
    let form = &app.lever.feedback(ACCOUNT, "opp-5")[0];
    let reason = form["fields"].as_array().unwrap().iter().find(|f| f["text"] == "Failure reason").unwrap();
    assert!(reason["value"].as_str().unwrap().contains("did not submit"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_or_odd_answer_fields_are_read_not_refused() {
    let (app, org) = setup().await;
    let link = invited(&app, &org, "opp-6").await;
    let candidate = app.browser();
    candidate.post_form(&format!("{link}/start"), &[]).await;
    let sent = candidate
        .post_form(&format!("{link}/submit"), &[("q1", "1"), ("q1", "2"), ("q2", "9"), ("q3", "two"), ("extra", "x")])
        .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let score: Option<i32> = sqlx::query_scalar("SELECT score FROM invitations").fetch_one(&app.db).await.unwrap();
    assert_eq!(score, Some(33), "q1 counts once (its first answer, right); the others are unanswered");
    assert!(candidate.get(&link).await.exists("#done"));
    app.settle().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_jobs_say_what_they_were_for_and_whom_they_concern() {
    let (app, org) = setup().await;
    // The failed jobs below are the fixture the page is read from.
    app.expect_failed_jobs();
    invited(&app, &org, "opp-7").await;
    app.settle().await;
    let invitation: uuid::Uuid = sqlx::query_scalar("SELECT id FROM invitations").fetch_one(&app.db).await.unwrap();
    // Lever work carries the organization; emails do not (they need no Lever account).
    for (kind, payload, org_id) in [
        ("lever_sync_opportunity", serde_json::json!({"org_id": org.id, "opportunity_id": "opp-7"}), Some(org.id)),
        ("lever_sync_opportunity", serde_json::json!({"org_id": org.id, "opportunity_id": "opp-x"}), Some(org.id)),
        ("send_email", serde_json::json!({"type": "reminder", "invitation_id": invitation}), None),
    ] {
        sqlx::query(
            "INSERT INTO jobs (kind, payload, org_id, state, attempts, max_attempts, run_at, finished_at, last_error)
             VALUES ($1, $2, $3, 'failed', 1, 5, now(), now(), 'Lever rejected the request (400): Bad tag')",
        )
        .bind(kind)
        .bind(payload)
        .bind(org_id)
        .execute(&app.db)
        .await
        .unwrap();
    }
    let admin = app.signed_in(&org.admin_email).await;
    let page = admin.get("/app/jobs").await;
    let rows = page.texts("#failed-jobs td.what");
    assert_eq!(rows.len(), 3, "{rows:?}");
    let report = format!("/app/invitations/{invitation}");
    let row = |what: &str, about: &str| rows.iter().any(|r| r.contains(what) && r.contains(about));
    assert!(row("Update the candidate's tags", "Ada Lovelace: the report"), "{rows:?}");
    assert!(row("Send an email", "Ada Lovelace: the report"), "{rows:?}");
    assert!(row("Update the candidate's tags", "Lever opportunity opp-x"), "no invitation: the Lever id: {rows:?}");
    let links = page.texts("#failed-jobs td.what a");
    assert_eq!(links.len(), 2, "{links:?}");
    assert!(page.attr("#failed-jobs td.what a", "href").is_some_and(|href| href == report));
    // Another organization sees none of them.
    let other = app.create_org("Globex").await;
    let stranger = app.signed_in(&other.admin_email).await;
    assert!(stranger.get("/app/jobs").await.exists("#no-failures"));
}
