//! What invites a candidate and what does not: a posting's name tag or a code tag on the
//! opportunity in a trigger stage invites once; other stages, a stage already left and a
//! duplicate report of the same placement do not.

use super::{ACCOUNT, WAIT, notes, setup, tags_become};
use crate::support::{
    eventually,
    lever::{ASSESS_STAGE, RECRUITER, SCREEN_STAGE, STAGE_TOKEN},
    workflow::link_in,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_tag_on_the_opportunity_invites_too() {
    let (app, org) = setup().await;
    app.add_candidate(ACCOUNT, "opp-2", "bob@candidates.test", None, &["fc-10001"]);
    app.move_candidate(&org, ACCOUNT, "opp-2", ASSESS_STAGE).await;
    let mails = app.smtp.wait_for(1, WAIT).await;
    assert_eq!(mails[0].to, vec!["bob@candidates.test"]);
    tags_become(&app, "opp-2", &["Fulcrum: Candidate Invited"]).await;
    app.settle().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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
