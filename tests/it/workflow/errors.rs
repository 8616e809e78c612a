//! Work Fulcrum cannot do is explained on the candidate in Lever: an Error tag and one note
//! saying why (a missing or misspelled tag, an inactive assessment, no email address, an
//! archived candidate, a candidate Lever may not contact, a missing Lever permission), and
//! no email.

use super::{ACCOUNT, WAIT, notes, setup};
use crate::support::{
    TestApp, eventually,
    lever::{ASSESS_STAGE, SCREEN_STAGE},
    spawn_app,
};

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_candidate_lever_may_not_contact_gets_no_email_but_an_error_and_a_note() {
    let (app, org) = setup().await;
    app.lever.add_opportunity(
        ACCOUNT,
        crate::support::fake_lever::NewOpportunity::new("opp-nc")
            .name("Private Pat")
            .emails(["pat@candidates.test"])
            .stage(SCREEN_STAGE)
            .posting("post-1")
            .contact_allowed(false),
    );
    app.move_candidate(&org, ACCOUNT, "opp-nc", ASSESS_STAGE).await;
    let note = error_note_for(&app, "opp-nc").await;
    assert!(note.contains("do not allow contacting them"), "{note}");
    assert!(note.contains("allows contact") && note.contains("move them into the stage again"), "{note}");
    let invitations: i64 = sqlx::query_scalar("SELECT count(*) FROM invitations").fetch_one(&app.db).await.unwrap();
    assert_eq!(invitations, 0);
}
