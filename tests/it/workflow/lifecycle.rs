//! An invitation's life after the invite: a second move while it is open is an error,
//! a reminder goes out before the deadline (unless Lever no longer allows contact), and
//! the deadline expires it.

use serde_json::json;
use uuid::Uuid;

use super::{ACCOUNT, WAIT, invite, notes, setup, tags_become};
use crate::support::{
    TestApp, eventually,
    lever::{ASSESS_STAGE, RECRUITER, SCREEN_STAGE},
    workflow::link_in,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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

async fn email_error(app: &TestApp) -> Option<String> {
    sqlx::query_scalar("SELECT email_error FROM invitations").fetch_one(&app.db).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_candidate_who_withdrew_consent_gets_no_reminder_and_no_resend() {
    let (app, org) = setup().await;
    invite(&app, &org, "opp-13").await;
    app.settle().await;
    let id: Uuid = sqlx::query_scalar("SELECT id FROM invitations").fetch_one(&app.db).await.unwrap();
    app.lever.set_contact_allowed(ACCOUNT, "opp-13", false);

    // The reminder is due, but Lever no longer allows contacting the candidate.
    app.clock().advance(chrono::Duration::hours(6 * 24 + 12));
    app.wake_workers().await;
    eventually("the reminder held back", WAIT, || async {
        email_error(&app).await.is_some_and(|e| e.starts_with("no reminder sent") && e.contains("may not be contacted"))
    })
    .await;

    // An admin's resend asks Lever first too.
    let api = app.api(&org.api_key);
    let (status, body) = api.post(&format!("/invitations/{id}/resend"), json!({})).await;
    assert_eq!(status, 200, "{body}");
    eventually("the resend held back", WAIT, || async {
        email_error(&app).await.is_some_and(|e| e.starts_with("not sent again"))
    })
    .await;
    app.settle().await;
    assert_eq!(app.smtp.messages().len(), 1, "only the first invite went out");
    assert!(!notes(&app, "opp-13").iter().any(|n| n.contains("again")), "{:?}", notes(&app, "opp-13"));

    // With consent given again, the next resend goes out and clears the message.
    app.lever.set_contact_allowed(ACCOUNT, "opp-13", true);
    let (status, body) = api.post(&format!("/invitations/{id}/resend"), json!({})).await;
    assert_eq!(status, 200, "{body}");
    let mails = app.smtp.wait_for(2, WAIT).await;
    assert_eq!(mails[1].to, vec!["opp-13@candidates.test"]);
    app.settle().await;
    assert_eq!(email_error(&app).await, None);
}
