//! The candidate's result reaches Lever: tags, one feedback form (or a scored note without
//! the feedback permission), from Fulcrum's own pages or an external engine's API calls.

use serde_json::{Value, json};

use super::{ACCOUNT, WAIT, invite, notes, setup, tags_become};
use crate::support::{
    eventually,
    lever::{ASSESS_STAGE, RECRUITER, SCREEN_STAGE},
    spawn_app,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_candidate_cannot_finish_an_assessment_the_engine_grades() {
    let (app, org) = setup().await;
    // No questions: the vendor's engine grades it and reports through the API.
    sqlx::query("UPDATE assessments SET questions = '[]'").execute(&app.db).await.unwrap();
    let link = invite(&app, &org, "opp-20").await;
    let candidate = app.browser();
    assert_eq!(candidate.post_form(&format!("{link}/start"), &[]).await.status, 303);
    assert!(candidate.get(&link).await.exists("#external"));
    tags_become(&app, "opp-20", &["Fulcrum: Assessment in Progress"]).await;

    let submitted = candidate.post_form(&format!("{link}/submit"), &[]).await;
    assert_eq!(submitted.status, 409, "{}", submitted.body);
    assert!(submitted.exists("#external"), "the page says the results come from the engine");
    let (status, score): (String, Option<i32>) =
        sqlx::query_as("SELECT status, score FROM invitations").fetch_one(&app.db).await.unwrap();
    assert_eq!((status.as_str(), score), ("started", None), "nothing changed");

    let api = app.api(&org.api_key);
    let (_, list) = api.get("/invitations?opportunity_id=opp-20").await;
    let id = list["data"][0]["id"].as_str().unwrap().to_string();
    let (status, body) = api.post(&format!("/invitations/{id}/result"), json!({"score": 88})).await;
    assert_eq!(status, 200, "the engine's result is taken: {body}");
    assert_eq!((body["status"].as_str(), body["score"].as_i64()), (Some("completed"), Some(88)));
    tags_become(&app, "opp-20", &["Fulcrum: Assessment Completed", "Fulcrum: Passed"]).await;
    eventually("the feedback form", WAIT, || async { !app.lever.feedback(ACCOUNT, "opp-20").is_empty() }).await;
    app.settle().await;
}
