//! The assessment workflow end to end: a stage change in Lever → an invite email → the
//! candidate's pages → the result → tags, notes and a feedback form in Lever.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{
    TestApp, eventually,
    lever::{ASSESS_STAGE, RECRUITER, SCREEN_STAGE, STAGE_TOKEN},
    org::TestOrg,
    spawn_app,
    workflow::link_in,
};

const ACCOUNT: &str = "acct-1";
const WAIT: Duration = Duration::from_secs(15);

async fn setup() -> (TestApp, TestOrg) {
    let app = spawn_app().await;
    let org = app.connected_org("Acme", ACCOUNT).await;
    app.assessment_ready(&org, ACCOUNT).await;
    (app, org)
}

fn notes(app: &TestApp, opp: &str) -> Vec<String> {
    app.lever.notes(ACCOUNT, opp).iter().map(|n| n["text"].as_str().unwrap_or_default().to_string()).collect()
}

async fn tags_become(app: &TestApp, opp: &str, expected: &[&str]) {
    let mut expected: Vec<String> = expected.iter().map(|t| t.to_string()).collect();
    expected.sort();
    eventually(&format!("tags {expected:?}"), WAIT, || async {
        let mut status: Vec<String> =
            app.lever.tags(ACCOUNT, opp).into_iter().filter(|t| t.starts_with("Fulcrum:")).collect();
        status.sort();
        status == expected
    })
    .await;
}

/// Invites through the posting's name tag and returns the candidate's link.
async fn invite(app: &TestApp, org: &TestOrg, opp: &str) -> String {
    app.add_candidate(ACCOUNT, opp, &format!("{opp}@candidates.test"), Some("post-1"), &[]);
    assert_eq!(app.move_candidate(org, ACCOUNT, opp, ASSESS_STAGE).await.status(), 200);
    tags_become(app, opp, &["Fulcrum: Candidate Invited"]).await;
    let mail = app.smtp.messages().into_iter().find(|m| m.to.iter().any(|t| t.starts_with(opp))).expect("invite email");
    link_in(&mail)
}

#[tokio::test]
async fn a_posting_name_tag_invites_once_with_a_working_link_tag_and_note() {
    let (app, org) = setup().await;
    app.add_candidate(ACCOUNT, "opp-1", "ada@candidates.test", Some("post-1"), &[]);
    let response = app.move_candidate(&org, ACCOUNT, "opp-1", ASSESS_STAGE).await;
    assert_eq!(response.status(), 200);

    let mails = app.smtp.wait_for(1, WAIT).await;
    assert_eq!(mails[0].to, vec!["ada@candidates.test"]);
    assert!(mails[0].subject.contains("Backend Engineer"), "{}", mails[0].subject);
    let link = link_in(&mails[0]);
    assert!(link.starts_with(&format!("{}/a/", app.url)));
    let landing = app.browser().get(&link).await;
    assert_eq!(landing.status, 200);
    assert_eq!(landing.text("h1"), "Backend Engineer");
    assert!(landing.exists("#start"));

    tags_become(&app, "opp-1", &["Fulcrum: Candidate Invited"]).await;
    eventually("the invite note", WAIT, || async { !notes(&app, "opp-1").is_empty() }).await;
    app.settle().await;
    let notes = notes(&app, "opp-1");
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].contains("Backend Engineer")
            && notes[0].contains("ada@candidates.test")
            && notes[0].contains("expires")
    );
    assert_eq!(app.smtp.messages().len(), 1, "exactly one email");
    // The same delivery again (Lever retry) changes nothing.
    let invitations: i64 = sqlx::query_scalar("SELECT count(*) FROM invitations").fetch_one(&app.db).await.unwrap();
    assert_eq!(invitations, 1);
}

#[tokio::test]
async fn a_code_tag_on_the_opportunity_invites_too() {
    let (app, org) = setup().await;
    app.add_candidate(ACCOUNT, "opp-2", "bob@candidates.test", None, &["fc-10001"]);
    app.move_candidate(&org, ACCOUNT, "opp-2", ASSESS_STAGE).await;
    let mails = app.smtp.wait_for(1, WAIT).await;
    assert_eq!(mails[0].to, vec!["bob@candidates.test"]);
    tags_become(&app, "opp-2", &["Fulcrum: Candidate Invited"]).await;
    app.settle().await;
}

#[tokio::test]
async fn a_non_trigger_stage_does_nothing() {
    let (app, org) = setup().await;
    app.add_candidate(ACCOUNT, "opp-3", "cy@candidates.test", Some("post-1"), &[]);
    app.lever.add_stage(ACCOUNT, "st-onsite", "Onsite");
    app.move_candidate(&org, ACCOUNT, "opp-3", "st-onsite").await;
    app.settle().await;
    let result: String = sqlx::query_scalar("SELECT result FROM deliveries").fetch_one(&app.db).await.unwrap();
    assert!(result.contains("Not a trigger stage"), "{result}");
    assert!(app.smtp.messages().is_empty());
    assert!(app.lever.tags(ACCOUNT, "opp-3").iter().all(|t| !t.starts_with("Fulcrum:")));
    assert!(notes(&app, "opp-3").is_empty());
}

#[tokio::test]
async fn the_candidate_starts_and_submits_and_lever_gets_tags_and_one_feedback_form() {
    let (app, org) = setup().await;
    let link = invite(&app, &org, "opp-4").await;
    let candidate = app.browser();
    let started = candidate.post_form(&format!("{link}/start"), &[]).await;
    assert_eq!(started.status, 303);
    let questions = candidate.get(&link).await;
    assert_eq!(questions.texts("fieldset.question").len(), 3);
    assert!(!questions.body.contains("\"answer\""), "right answers never reach the candidate");
    tags_become(&app, "opp-4", &["Fulcrum: Assessment in Progress"]).await;

    // Two of three right: 67 against a pass mark of 60.
    let done = candidate.post_form(&format!("{link}/submit"), &[("q1", "1"), ("q2", "0"), ("q3", "0")]).await;
    assert_eq!(done.status, 303);
    assert!(candidate.get(&link).await.exists("#done"));
    tags_become(&app, "opp-4", &["Fulcrum: Assessment Completed", "Fulcrum: Passed"]).await;
    eventually("the feedback form", WAIT, || async { !app.lever.feedback(ACCOUNT, "opp-4").is_empty() }).await;
    app.settle().await;

    let forms = app.lever.feedback(ACCOUNT, "opp-4");
    assert_eq!(forms.len(), 1);
    let form = &forms[0];
    assert_eq!(form["user"], RECRUITER, "written as the user who moved the candidate: {form}");
    let field =
        |text: &str| form["fields"].as_array().unwrap().iter().find(|f| f["text"] == text).map(|f| f["value"].clone());
    assert_eq!(field("Score"), Some(json!("67")));
    assert_eq!(field("Result"), Some(json!("Passed")));
    assert_eq!(field("Overall rating"), Some(json!("3 - Hire")));
    let report = field("Report").unwrap();
    assert!(report.as_str().unwrap().starts_with(&format!("{}/app/invitations/", app.url)));
    assert!(matches!(field("Failure reason"), None | Some(Value::Null)));
    let templates = app.lever.feedback_templates(ACCOUNT);
    assert_eq!(templates.len(), 1, "the template is created once");
    assert_eq!(templates[0]["text"], "Fulcrum Assessment Result");

    // The org's people are told, and a member can read the report.
    let recruiter_mail =
        app.smtp.messages().into_iter().find(|m| m.to.contains(&org.admin_email)).expect("result email");
    assert!(recruiter_mail.subject.contains("passed"));
    let admin = app.signed_in(&org.admin_email).await;
    let page = admin.get(report.as_str().unwrap()).await;
    assert_eq!(page.status, 200);
    assert!(page.text("#result").contains("Passed"));
    assert_eq!(page.texts("#answers tbody tr").len(), 3);
    // Submitting again is refused politely and changes nothing.
    let again = candidate.post_form(&format!("{link}/submit"), &[("q1", "1"), ("q2", "0"), ("q3", "2")]).await;
    assert_eq!(again.status, 200);
    assert!(again.exists("#done"));
    let score: i32 = sqlx::query_scalar("SELECT score FROM invitations").fetch_one(&app.db).await.unwrap();
    assert_eq!(score, 67);

    // Moved into the stage again later: the assessment is taken once; Lever is told why.
    let mails = app.smtp.messages().len();
    app.lever.move_to_stage(ACCOUNT, "opp-4", SCREEN_STAGE, RECRUITER);
    app.move_candidate(&org, ACCOUNT, "opp-4", ASSESS_STAGE).await;
    tags_become(&app, "opp-4", &["Fulcrum: Error"]).await;
    app.settle().await;
    assert!(
        notes(&app, "opp-4").iter().any(|n| n.contains("has already taken Backend Engineer")),
        "{:?}",
        notes(&app, "opp-4")
    );
    assert_eq!(app.smtp.messages().len(), mails, "no second invite");
    let invitations: i64 = sqlx::query_scalar("SELECT count(*) FROM invitations").fetch_one(&app.db).await.unwrap();
    assert_eq!(invitations, 1);
}

#[tokio::test]
async fn a_failed_result_rates_low_and_says_why() {
    let (app, org) = setup().await;
    let link = invite(&app, &org, "opp-5").await;
    let candidate = app.browser();
    candidate.post_form(&format!("{link}/start"), &[]).await;
    candidate.post_form(&format!("{link}/submit"), &[("q1", "0")]).await;
    tags_become(&app, "opp-5", &["Fulcrum: Assessment Completed", "Fulcrum: Failed"]).await;
    eventually("the feedback form", WAIT, || async { !app.lever.feedback(ACCOUNT, "opp-5").is_empty() }).await;
    let form = &app.lever.feedback(ACCOUNT, "opp-5")[0];
    let field =
        |text: &str| form["fields"].as_array().unwrap().iter().find(|f| f["text"] == text).map(|f| f["value"].clone());
    assert_eq!(field("Result"), Some(json!("Failed")));
    assert_eq!(field("Overall rating"), Some(json!("1 - Strong No Hire")));
    assert!(field("Failure reason").unwrap().as_str().unwrap().contains("0 of 3"));
    app.settle().await;
}

#[tokio::test]
async fn an_external_engine_reports_start_and_result_idempotently() {
    let (app, org) = setup().await;
    invite(&app, &org, "opp-6").await;
    let api = app.api(&org.api_key);
    let (_, list) = api.get("/invitations?opportunity_id=opp-6").await;
    let id = list["data"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(list["data"][0]["status"], "invited");

    let (status, body) = api.post(&format!("/invitations/{id}/start"), json!({})).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("started")));
    tags_become(&app, "opp-6", &["Fulcrum: Assessment in Progress"]).await;

    let result =
        json!({"score": 42, "failure_reason": "Timed out on the coding task", "report_url": "https://engine.test/r/1"});
    let (status, body) = api.post(&format!("/invitations/{id}/result"), result.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["status"].as_str(), body["passed"].as_bool()), (Some("completed"), Some(false)));
    let (status, _) = api.post(&format!("/invitations/{id}/result"), result).await;
    assert_eq!(status, 200, "the same result again is a no-op");
    let (status, body) = api.post(&format!("/invitations/{id}/result"), json!({"score": 90})).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "conflict");

    tags_become(&app, "opp-6", &["Fulcrum: Assessment Completed", "Fulcrum: Failed"]).await;
    eventually("the feedback form", WAIT, || async { !app.lever.feedback(ACCOUNT, "opp-6").is_empty() }).await;
    app.settle().await;
    assert_eq!(app.lever.feedback(ACCOUNT, "opp-6").len(), 1);
    let (status, body) = api.post(&format!("/invitations/{id}/result"), json!({"score": 101})).await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("score")));
}

async fn error_note_for(app: &TestApp, opp: &str) -> String {
    eventually("the error note", WAIT, || async { !notes(app, opp).is_empty() }).await;
    app.settle().await;
    let tags = app.lever.tags(ACCOUNT, opp);
    assert!(tags.contains(&"Fulcrum: Error".to_string()), "{tags:?}");
    assert!(app.smtp.messages().is_empty(), "no email on an error");
    let notes = notes(app, opp);
    assert_eq!(notes.len(), 1, "{notes:?}");
    notes[0].clone()
}

#[tokio::test]
async fn missing_or_misspelled_tags_get_an_error_with_a_suggestion() {
    let (app, org) = setup().await;
    app.add_candidate(ACCOUNT, "opp-7", "d@candidates.test", None, &["Engineering"]);
    app.move_candidate(&org, ACCOUNT, "opp-7", ASSESS_STAGE).await;
    let note = error_note_for(&app, "opp-7").await;
    assert!(note.contains("No assessment tag") && note.contains("\"Engineering\""), "{note}");

    app.add_candidate(ACCOUNT, "opp-8", "e@candidates.test", None, &["Fulcrum Backend Enginer"]);
    app.move_candidate(&org, ACCOUNT, "opp-8", ASSESS_STAGE).await;
    let note = error_note_for(&app, "opp-8").await;
    assert!(note.contains("did you mean \"Fulcrum Backend Engineer\""), "{note}");
}

#[tokio::test]
async fn inactive_assessments_and_missing_emails_are_explained() {
    let (app, org) = setup().await;
    sqlx::query("UPDATE assessments SET active = false").execute(&app.db).await.unwrap();
    app.add_candidate(ACCOUNT, "opp-9", "f@candidates.test", Some("post-1"), &[]);
    app.move_candidate(&org, ACCOUNT, "opp-9", ASSESS_STAGE).await;
    assert!(error_note_for(&app, "opp-9").await.contains("switched off"));

    sqlx::query("UPDATE assessments SET active = true").execute(&app.db).await.unwrap();
    app.lever.add_opportunity(
        ACCOUNT,
        crate::support::fake_lever::NewOpportunity::new("opp-10")
            .name("No Mail")
            .emails(Vec::<String>::new())
            .stage(SCREEN_STAGE)
            .posting("post-1"),
    );
    app.move_candidate(&org, ACCOUNT, "opp-10", ASSESS_STAGE).await;
    assert!(error_note_for(&app, "opp-10").await.contains("no usable email address"));

    app.lever.add_opportunity(
        ACCOUNT,
        crate::support::fake_lever::NewOpportunity::new("opp-10a")
            .name("Archived Ann")
            .emails(["ann@candidates.test"])
            .stage(SCREEN_STAGE)
            .posting("post-1")
            .archived("hired-elsewhere"),
    );
    app.move_candidate(&org, ACCOUNT, "opp-10a", ASSESS_STAGE).await;
    assert!(error_note_for(&app, "opp-10a").await.contains("archived in Lever"));
}

#[tokio::test]
async fn a_late_delivery_for_a_stage_the_candidate_has_left_invites_nobody() {
    let (app, org) = setup().await;
    app.add_candidate(ACCOUNT, "opp-late", "late@candidates.test", Some("post-1"), &[]);
    // Into the assessment stage and straight on; the stage change arrives afterwards (a
    // retry, or an admin's Rerun).
    app.lever.move_to_stage(ACCOUNT, "opp-late", ASSESS_STAGE, RECRUITER);
    app.lever.move_to_stage(ACCOUNT, "opp-late", SCREEN_STAGE, RECRUITER);
    let body = app.lever.stage_change_delivery(ACCOUNT, "opp-late", SCREEN_STAGE, ASSESS_STAGE, Some(STAGE_TOKEN));
    assert_eq!(app.deliver(&org, &body).await.status(), 200);
    app.settle().await;
    let led_to: String = sqlx::query_scalar("SELECT result FROM deliveries").fetch_one(&app.db).await.unwrap();
    assert!(led_to.contains("moved on"), "{led_to}");
    assert!(app.smtp.messages().is_empty());
    assert!(app.lever.tags(ACCOUNT, "opp-late").iter().all(|t| !t.starts_with("Fulcrum:")));
}

#[tokio::test]
async fn a_second_move_while_invited_is_an_error_and_a_later_success_clears_it() {
    let (app, org) = setup().await;
    invite(&app, &org, "opp-11").await;
    app.settle().await;
    // Out of the stage and back in: a new move, while the first invitation is open.
    app.lever.move_to_stage(ACCOUNT, "opp-11", SCREEN_STAGE, RECRUITER);
    app.move_candidate(&org, ACCOUNT, "opp-11", ASSESS_STAGE).await;
    // Status tags are mutually exclusive: the Error tag replaces Candidate Invited.
    tags_become(&app, "opp-11", &["Fulcrum: Error"]).await;
    app.settle().await;
    let all = notes(&app, "opp-11");
    assert!(all.iter().any(|n| n.contains("already has an open invitation")), "{all:?}");
    assert_eq!(app.smtp.messages().len(), 1);

    // After it expires, moving the candidate again invites anew and the Error tag goes.
    app.clock().advance(chrono::Duration::days(8));
    app.wake_workers().await;
    tags_become(&app, "opp-11", &["Fulcrum: Assessment Expired"]).await;
    app.lever.move_to_stage(ACCOUNT, "opp-11", SCREEN_STAGE, RECRUITER);
    app.move_candidate(&org, ACCOUNT, "opp-11", ASSESS_STAGE).await;
    tags_become(&app, "opp-11", &["Fulcrum: Candidate Invited"]).await;
    app.settle().await;
}

#[tokio::test]
async fn deadlines_expire_invitations_and_reminders_go_first() {
    let (app, org) = setup().await;
    let link = invite(&app, &org, "opp-12").await;
    app.settle().await;
    // Six and a half days on: the reminder (24 h before the deadline) is due.
    app.clock().advance(chrono::Duration::hours(6 * 24 + 12));
    app.wake_workers().await;
    let mails = app.smtp.wait_for(2, WAIT).await;
    assert!(mails[1].subject.starts_with("Reminder"), "{}", mails[1].subject);
    assert_eq!(link_in(&mails[1]), link);
    // Past the deadline: expired, in Fulcrum and in Lever, with a form saying so.
    app.clock().advance(chrono::Duration::days(1));
    app.wake_workers().await;
    tags_become(&app, "opp-12", &["Fulcrum: Assessment Expired"]).await;
    eventually("the expiry feedback", WAIT, || async { !app.lever.feedback(ACCOUNT, "opp-12").is_empty() }).await;
    let form = &app.lever.feedback(ACCOUNT, "opp-12")[0];
    let result = form["fields"].as_array().unwrap().iter().find(|f| f["text"] == "Result").unwrap();
    assert_eq!(result["value"], "Expired");
    app.settle().await;
    let page = app.browser().get(&link).await;
    assert_eq!(page.status, 410);
    assert!(page.exists("#expired"));
    for broken in ["/a/not-a-real-token", "/a/", "/a"] {
        let unknown = app.browser().get(broken).await;
        assert_eq!(unknown.status, 404, "{broken}");
        assert!(unknown.exists("#unknown"), "{broken}: the candidate's page, not the app's");
    }
}

#[tokio::test]
async fn without_feedback_permission_the_result_becomes_a_scored_note() {
    let app = spawn_app().await;
    let scopes: Vec<String> =
        fulcrum::lever::SCOPES.iter().filter(|s| !s.starts_with("feedback")).map(|s| s.to_string()).collect();
    app.seed_account(ACCOUNT);
    app.lever.set_granted_scopes(ACCOUNT, Some(scopes));
    let org = app.connected_org("Acme", ACCOUNT).await;
    app.assessment_ready(&org, ACCOUNT).await;
    let link = invite(&app, &org, "opp-13").await;
    let candidate = app.browser();
    candidate.post_form(&format!("{link}/start"), &[]).await;
    candidate.post_form(&format!("{link}/submit"), &[("q1", "1"), ("q2", "0"), ("q3", "2")]).await;
    eventually("the result note", WAIT, || async { notes(&app, "opp-13").len() == 2 }).await;
    app.settle().await;
    let note = app
        .lever
        .notes(ACCOUNT, "opp-13")
        .into_iter()
        .find(|n| n["text"].as_str().unwrap().contains("Result:"))
        .unwrap();
    assert_eq!(note["score"], 4, "{note}");
    assert!(note["text"].as_str().unwrap().contains("Passed (score 100/100"));
    assert!(app.lever.feedback(ACCOUNT, "opp-13").is_empty());
}

#[tokio::test]
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

#[tokio::test]
async fn application_created_in_a_trigger_stage_invites_and_duplicates_do_not() {
    let (app, org) = setup().await;
    app.lever.add_opportunity(
        ACCOUNT,
        crate::support::fake_lever::NewOpportunity::new("opp-16")
            .name("Direct Applicant")
            .emails(["i@candidates.test"])
            .stage(ASSESS_STAGE)
            .posting("post-1")
            .moved_by(RECRUITER),
    );
    let body = app.lever.application_created_delivery(ACCOUNT, "opp-16", Some(crate::support::lever::APP_TOKEN));
    assert_eq!(app.deliver(&org, &body).await.status(), 200);
    // Lever also reports the same placement as a stage change.
    let change = app.lever.stage_change_delivery(
        ACCOUNT,
        "opp-16",
        "lead-new",
        ASSESS_STAGE,
        Some(crate::support::lever::STAGE_TOKEN),
    );
    assert_eq!(app.deliver(&org, &change).await.status(), 200);
    tags_become(&app, "opp-16", &["Fulcrum: Candidate Invited"]).await;
    app.settle().await;
    assert_eq!(app.smtp.messages().len(), 1);
    assert!(app.lever.tags(ACCOUNT, "opp-16").iter().all(|t| t != "Fulcrum: Error"));
}

#[tokio::test]
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
            fulcrum::lever::connection::access_token(&app.state, org.id, None).await.is_ok()
                && app.lever.refresh_count(ACCOUNT) > before
        })
        .await;
    }
    app.settle().await;
    assert_eq!(app.lever.invalid_grant_count(), 0);
}

#[tokio::test]
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

#[tokio::test]
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

#[tokio::test]
async fn a_missing_lever_permission_is_explained_on_the_candidate() {
    let app = spawn_app().await;
    app.seed_account(ACCOUNT);
    let scopes =
        fulcrum::lever::SCOPES.iter().filter(|s| **s != "postings:read:admin").map(|s| s.to_string()).collect();
    app.lever.set_granted_scopes(ACCOUNT, Some(scopes));
    let org = app.connected_org("Acme", ACCOUNT).await;
    app.assessment_ready(&org, ACCOUNT).await;
    app.add_candidate(ACCOUNT, "opp-p", "p@candidates.test", Some("post-1"), &[]);
    app.move_candidate(&org, ACCOUNT, "opp-p", ASSESS_STAGE).await;
    let note = error_note_for(&app, "opp-p").await;
    assert!(note.contains("missing a Lever permission") && note.contains("postings:read:admin"), "{note}");
    assert!(note.contains("reconnects Lever"), "{note}");
}
