//! What admins do to an invitation after it went out, from the API and the report page:
//! send it again (an expired one reopens with a new deadline), extend its deadline, cancel
//! it. Each shows in Lever exactly once; a state that does not allow it is a 409.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{ACCOUNT, WAIT, invite, notes, setup, tags_become};
use crate::support::{TestApp, eventually, smtp::ReceivedMail, workflow::link_in};

async fn invitation_id(app: &TestApp) -> Uuid {
    sqlx::query_scalar("SELECT id FROM invitations").fetch_one(&app.db).await.unwrap()
}

fn deadline(invitation: &Value) -> DateTime<Utc> {
    invitation["deadline"].as_str().unwrap().parse().unwrap()
}

/// The opportunity's notes that contain `text`.
fn notes_saying(app: &TestApp, opp: &str, text: &str) -> Vec<String> {
    notes(app, opp).into_iter().filter(|n| n.contains(text)).collect()
}

/// Invite emails (not reminders) to the candidate of `opp`.
fn invites_to(app: &TestApp, opp: &str) -> Vec<ReceivedMail> {
    let to_candidate = |m: &ReceivedMail| m.to.iter().any(|t| t.starts_with(opp));
    app.smtp.messages().into_iter().filter(|m| to_candidate(m) && !m.subject.starts_with("Reminder")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_shows_in_lever_once_and_the_link_says_no_longer_needed() {
    let (app, org) = setup().await;
    let link = invite(&app, &org, "opp-a1").await;
    app.settle().await;
    let id = invitation_id(&app).await;
    let api = app.api(&org.api_key);

    let (status, body) = api.post(&format!("/invitations/{id}/cancel"), json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "cancelled");
    assert_eq!(body["cancel_reason"], "admin");
    // The Cancelled tag replaces Candidate Invited, with one note saying who.
    tags_become(&app, "opp-a1", &["Fulcrum: Assessment Cancelled"]).await;
    eventually("the cancel note", WAIT, || async { !notes_saying(&app, "opp-a1", "cancelled the").is_empty() }).await;
    app.settle().await;
    let cancelled = notes_saying(&app, "opp-a1", "cancelled the");
    assert_eq!(cancelled.len(), 1, "{cancelled:?}");
    assert!(cancelled[0].contains("Backend Engineer") && cancelled[0].contains("the API key"), "{}", cancelled[0]);
    assert!(cancelled[0].contains("no longer needed"), "{}", cancelled[0]);
    assert_eq!(notes(&app, "opp-a1").len(), 2, "the invite note and the cancel note");

    // A second cancel is refused, and nothing more reaches Lever.
    let (status, body) = api.post(&format!("/invitations/{id}/cancel"), json!({})).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "conflict");
    let (status, _) = api.post(&format!("/invitations/{id}/resend"), json!({})).await;
    assert_eq!(status, 409, "a cancelled invitation is not sent again");
    app.settle().await;
    assert_eq!(notes(&app, "opp-a1").len(), 2);

    let page = app.browser().get(&link).await;
    assert_eq!(page.status, 410);
    assert!(page.exists("#cancelled") && !page.exists("#expired"));
    assert_eq!(page.text("h1"), "This assessment is no longer needed");
    // Starting from an old tab says the same.
    let started = app.browser().post_form(&format!("{link}/start"), &[]).await;
    assert_eq!(started.status, 410);
    assert!(started.exists("#cancelled"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resending_emails_the_same_link_and_notes_each_resend_once() {
    let (app, org) = setup().await;
    let link = invite(&app, &org, "opp-a2").await;
    app.settle().await;
    let id = invitation_id(&app).await;
    let api = app.api(&org.api_key);

    let (status, body) = api.post(&format!("/invitations/{id}/resend"), json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "invited");
    let mails = app.smtp.wait_for(2, WAIT).await;
    assert_eq!(mails[1].to, vec!["opp-a2@candidates.test"]);
    assert_eq!(link_in(&mails[1]), link, "the same link");
    eventually("the resend note", WAIT, || async { !notes_saying(&app, "opp-a2", "again").is_empty() }).await;
    app.settle().await;
    assert_eq!(notes_saying(&app, "opp-a2", "again").len(), 1);
    assert_eq!(notes(&app, "opp-a2").len(), 2, "{:?}", notes(&app, "opp-a2"));

    // A second resend later is a second email and a second note.
    let (status, _) = api.post(&format!("/invitations/{id}/resend"), json!({})).await;
    assert_eq!(status, 200);
    app.smtp.wait_for(3, WAIT).await;
    eventually("the second resend note", WAIT, || async { notes_saying(&app, "opp-a2", "again").len() == 2 }).await;
    app.settle().await;
    assert_eq!(notes(&app, "opp-a2").len(), 3);
    assert_eq!(app.smtp.messages().len(), 3);
    tags_become(&app, "opp-a2", &["Fulcrum: Candidate Invited"]).await;

    // Once the result is in there is nothing to send.
    let (status, _) = api.post(&format!("/invitations/{id}/result"), json!({"score": 90})).await;
    assert_eq!(status, 200);
    let (status, body) = api.post(&format!("/invitations/{id}/resend"), json!({})).await;
    assert_eq!(status, 409, "{body}");
    let (status, _) = api.post(&format!("/invitations/{id}/cancel"), json!({})).await;
    assert_eq!(status, 409, "a finished invitation is not cancelled");
    app.settle().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resending_an_expired_invitation_reopens_it_with_a_new_deadline() {
    let (app, org) = setup().await;
    let link = invite(&app, &org, "opp-a3").await;
    app.settle().await;
    let id = invitation_id(&app).await;
    app.clock().advance(Duration::days(8));
    app.wake_workers().await;
    tags_become(&app, "opp-a3", &["Fulcrum: Assessment Expired"]).await;
    app.settle().await;
    let api = app.api(&org.api_key);
    let (_, before) = api.get(&format!("/invitations/{id}")).await;
    assert_eq!(before["status"], "expired");

    let (status, body) = api.post(&format!("/invitations/{id}/resend"), json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "invited");
    // The assessment's 7 days, from now.
    let expected = app.clock().now() + Duration::days(7);
    assert!((deadline(&body) - expected).num_seconds().abs() < 60, "{} vs {expected}", body["deadline"]);
    eventually("the invite again", WAIT, || async { invites_to(&app, "opp-a3").len() == 2 }).await;
    assert_eq!(link_in(&invites_to(&app, "opp-a3")[1]), link);
    tags_become(&app, "opp-a3", &["Fulcrum: Candidate Invited"]).await;
    eventually("the resend note", WAIT, || async { !notes_saying(&app, "opp-a3", "reopening").is_empty() }).await;
    app.settle().await;
    assert_eq!(notes_saying(&app, "opp-a3", "again").len(), 1);
    let landing = app.browser().get(&link).await;
    assert_eq!(landing.status, 200);
    assert!(landing.exists("#start"), "the link works again");

    // The reopened invitation has its own reminder and close: it expires again, and that
    // round's result is a feedback form of its own. (The first round's reminder may or may
    // not have gone before it closed, as both were due at once.)
    let reminders = || app.smtp.messages().iter().filter(|m| m.subject.starts_with("Reminder")).count();
    let first_round = reminders();
    app.clock().advance(Duration::hours(6 * 24 + 12));
    app.wake_workers().await;
    eventually("the reminder of the new round", WAIT, || async { reminders() == first_round + 1 }).await;
    app.clock().advance(Duration::days(1));
    app.wake_workers().await;
    tags_become(&app, "opp-a3", &["Fulcrum: Assessment Expired"]).await;
    eventually("a second expiry form", WAIT, || async { app.lever.feedback(ACCOUNT, "opp-a3").len() == 2 }).await;
    app.settle().await;
    assert_eq!(app.lever.feedback(ACCOUNT, "opp-a3").len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extending_moves_the_deadline_and_the_close_waits_for_it() {
    let (app, org) = setup().await;
    invite(&app, &org, "opp-a4").await;
    app.settle().await;
    let id = invitation_id(&app).await;
    let api = app.api(&org.api_key);
    let (_, before) = api.get(&format!("/invitations/{id}")).await;

    for (body, status) in [
        (json!({"days": 0}), 422),
        (json!({"days": 31}), 422),
        (json!({"days": "three"}), 400),
        (json!({}), 400),
        (json!({"days": 3, "hours": 1}), 400),
    ] {
        let (got, answer) = api.post(&format!("/invitations/{id}/extend"), body.clone()).await;
        assert_eq!(got, status, "{body}: {answer}");
        if status == 422 {
            assert_eq!(answer["error"]["field"], "days");
        }
    }
    let (status, body) = api.post(&format!("/invitations/{id}/extend"), json!({"days": 3})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(deadline(&body), deadline(&before) + Duration::days(3));
    eventually("the extend note", WAIT, || async { !notes_saying(&app, "opp-a4", "extended").is_empty() }).await;
    app.settle().await;
    assert_eq!(notes_saying(&app, "opp-a4", "extended").len(), 1);
    assert_eq!(notes(&app, "opp-a4").len(), 2);

    // Past the old deadline: still open, no reminder yet (it moved with the deadline).
    app.clock().advance(Duration::days(7) + Duration::hours(1));
    app.wake_workers().await;
    app.settle().await;
    let (_, now) = api.get(&format!("/invitations/{id}")).await;
    assert_eq!(now["status"], "invited");
    assert_eq!(app.smtp.messages().len(), 1, "no reminder before the new deadline nears");
    tags_become(&app, "opp-a4", &["Fulcrum: Candidate Invited"]).await;

    // The new deadline closes it, the reminder having gone first.
    app.clock().advance(Duration::days(2));
    app.wake_workers().await;
    app.smtp.wait_for(2, WAIT).await;
    app.clock().advance(Duration::days(1));
    app.wake_workers().await;
    tags_become(&app, "opp-a4", &["Fulcrum: Assessment Expired"]).await;
    app.settle().await;
    let (_, after) = api.get(&format!("/invitations/{id}")).await;
    assert_eq!(after["status"], "expired");
    let (status, _) = api.post(&format!("/invitations/{id}/extend"), json!({"days": 3})).await;
    assert_eq!(status, 409, "a finished invitation is not extended");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_page_buttons_work_for_admins_and_members_get_none() {
    let (app, org) = setup().await;
    let link = invite(&app, &org, "opp-a5").await;
    app.settle().await;
    let id = invitation_id(&app).await;
    let report = format!("/app/invitations/{id}");

    let member = app.signed_in(&app.add_member(&org, fulcrum::orgs::Role::Member).await).await;
    let seen = member.get(&report).await;
    assert_eq!(seen.status, 200);
    assert!(!seen.exists("#actions") && !seen.exists("#cancel"), "members see no buttons");
    for action in ["resend", "cancel"] {
        assert_eq!(member.post_form(&format!("{report}/{action}"), &[]).await.status, 403, "{action}");
    }
    assert_eq!(member.post_form(&format!("{report}/extend"), &[("days", "2")]).await.status, 403);

    let admin = app.signed_in(&org.admin_email).await;
    let page = admin.get(&report).await;
    assert!(page.exists("form#resend") && page.exists("form#extend") && page.exists("form#cancel"));
    // Without the form's CSRF token nothing happens.
    assert_eq!(admin.post_raw_form(&format!("{report}/cancel"), &[]).await.status, 403);

    let refused = admin.post_form(&format!("{report}/extend"), &[("days", "0")]).await;
    assert_eq!(refused.status, 422);
    assert!(refused.text("#action-error").contains("from 1 to 30"), "{}", refused.text("#action-error"));

    let extended = admin.post_form(&format!("{report}/extend"), &[("days", "2")]).await;
    assert_eq!(extended.status, 303);
    assert_eq!(extended.location.as_deref(), Some(format!("{report}?done=extended").as_str()));
    assert!(admin.get(&format!("{report}?done=extended")).await.exists("#action-notice"));
    assert_eq!(admin.post_form(&format!("{report}/resend"), &[]).await.status, 303);
    app.smtp.wait_for(2, WAIT).await;
    assert_eq!(admin.post_form(&format!("{report}/cancel"), &[]).await.status, 303);

    let cancelled = admin.get(&report).await;
    assert!(cancelled.text("#cancelled").contains("cancelled it in Fulcrum"), "{}", cancelled.text("#cancelled"));
    assert_eq!(cancelled.text("#result"), "Cancelled");
    assert!(!cancelled.exists("#actions"), "nothing left to do");
    let again = admin.post_form(&format!("{report}/cancel"), &[]).await;
    assert_eq!(again.status, 409);
    assert!(again.text("#action-error").contains("cancelled"), "{}", again.text("#action-error"));

    tags_become(&app, "opp-a5", &["Fulcrum: Assessment Cancelled"]).await;
    eventually("three notes after the invite", WAIT, || async { notes(&app, "opp-a5").len() == 4 }).await;
    app.settle().await;
    let all = notes(&app, "opp-a5");
    for said in ["extended the deadline", "again", "cancelled the"] {
        assert_eq!(all.iter().filter(|n| n.contains(said)).count(), 1, "{said}: {all:?}");
    }
    assert!(all.iter().any(|n| n.contains(&org.admin_email)), "the cancel note names the admin: {all:?}");
    assert_eq!(app.browser().get(&link).await.status, 410);
}
