//! Staying in step with Lever when webhooks are lost: the sweep heals moves no webhook
//! reported, once, within Lever's budget; candidates already waiting when the set-up
//! changed are invited only on an admin's click.

use std::time::Duration;

use super::{ACCOUNT, setup};
use crate::support::{
    eventually,
    lever::{ASSESS_STAGE, RECRUITER, SCREEN_STAGE, STAGE_TOKEN},
    workflow::POSTING,
};

const INVITED: &str = "Fulcrum: Candidate Invited";
const ERROR: &str = "Fulcrum: Error";

/// Moves the app's clock past one sweep interval (10 minutes by default).
fn next_sweep(app: &crate::support::TestApp) {
    app.clock().advance(chrono::Duration::minutes(11));
}

async fn sweeps_finished(app: &crate::support::TestApp) -> bool {
    sqlx::query_scalar::<_, bool>("SELECT last_finished_at IS NOT NULL FROM lever_sweeps")
        .fetch_optional(&app.db)
        .await
        .unwrap()
        .unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moves_lost_while_fulcrum_was_down_are_invited_once_by_the_next_sweep() {
    let (mut app, org) = setup().await;
    app.settle().await;
    // Fulcrum is down: every delivery Lever tries fails, and Lever gives up on them. The
    // bodies are kept, as Lever keeps them for a Rerun.
    app.stop_workers().await;
    let mut lost = Vec::new();
    let candidates: Vec<(String, String)> = (0..30)
        .map(|i| {
            let email = format!("c{i}@candidates.test");
            (app.add_candidate(ACCOUNT, &format!("opp-{i}"), &email, Some(POSTING), &[]), email)
        })
        .collect();
    // A confidential candidate among them: Lever lists those only when asked for all.
    app.lever.set_confidential(ACCOUNT, &candidates[7].0);
    for (opportunity, _) in &candidates {
        app.lever.move_to_stage(ACCOUNT, opportunity, ASSESS_STAGE, RECRUITER);
        lost.push(app.lever.stage_change_delivery(ACCOUNT, opportunity, SCREEN_STAGE, ASSESS_STAGE, Some(STAGE_TOKEN)));
    }
    // Fulcrum is back; the next sweep comes due.
    app.start_worker(Duration::from_secs(30));
    next_sweep(&app);
    eventually("every lost move invited", Duration::from_secs(60), || async {
        let tagged = candidates.iter().filter(|(o, _)| app.lever.tags(ACCOUNT, o).contains(&INVITED.to_string()));
        tagged.count() == candidates.len() && app.smtp.messages().len() >= candidates.len()
    })
    .await;
    app.settle().await;
    let invited = app.smtp.messages();
    for (opportunity, email) in &candidates {
        assert_eq!(invited.iter().filter(|m| m.to.contains(email)).count(), 1, "emails to {email}");
        assert_eq!(app.lever.notes(ACCOUNT, opportunity).len(), 1, "notes on {opportunity}");
    }
    assert_eq!(invited.len(), candidates.len());
    // Within Lever's budget, and never refused for it.
    assert!(app.lever.max_requests_in_window(ACCOUNT, Duration::from_secs(1)) <= 20);
    assert!(app.lever.calls_for(ACCOUNT).iter().all(|c| c.status != 429));
    // The delivery log shows what the sweep found.
    let found: i64 =
        sqlx::query_scalar("SELECT count(*) FROM deliveries WHERE source = 'sweep'").fetch_one(&app.db).await.unwrap();
    assert_eq!(found, 30);
    let admin = app.signed_in(&org.admin_email).await;
    let log = admin.get("/app/deliveries").await;
    assert!(log.body.contains("found by the sweep"), "{}", log.body);

    // Days later an admin reruns the failed deliveries in Lever: nothing changes.
    for body in &lost {
        assert_eq!(app.deliver(&org, body).await.status(), 200);
    }
    app.settle().await;
    assert_eq!(app.smtp.messages().len(), candidates.len(), "no second invitation");
    for (opportunity, _) in &candidates {
        assert_eq!(app.lever.notes(ACCOUNT, opportunity).len(), 1, "no Error note on {opportunity}");
        assert!(!app.lever.tags(ACCOUNT, opportunity).contains(&ERROR.to_string()));
    }
    let reruns: Vec<String> = sqlx::query_scalar(
        "SELECT coalesce(result, '') FROM deliveries WHERE source = 'webhook' AND event = 'candidateStageChange'",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(reruns.len(), 30);
    assert!(reruns.iter().all(|r| r.contains("nothing new")), "{reruns:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn candidates_already_waiting_are_invited_only_when_an_admin_says_so() {
    let (app, org) = setup().await;
    let waiting: Vec<String> = (0..12)
        .map(|i| {
            let opportunity =
                app.add_candidate(ACCOUNT, &format!("w-{i}"), &format!("w{i}@candidates.test"), Some(POSTING), &[]);
            app.lever.move_to_stage(ACCOUNT, &opportunity, ASSESS_STAGE, RECRUITER);
            opportunity
        })
        .collect();
    app.add_candidate(ACCOUNT, "screening", "s@candidates.test", Some(POSTING), &[]);
    // The admin picks the trigger stage: what sits in it already is counted, not invited.
    let admin = app.signed_in(&org.admin_email).await;
    let saved = admin.post_form("/app/settings/integrations/lever", &[("trigger_stage", ASSESS_STAGE)]).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    eventually("the waiting candidates counted", Duration::from_secs(20), || async {
        admin.get("/app/settings/integrations/lever").await.text("#waiting-count").contains("12 candidates")
    })
    .await;
    // Sweeps come and go; nobody is invited without the click.
    next_sweep(&app);
    eventually("a sweep", Duration::from_secs(20), || sweeps_finished(&app)).await;
    app.settle().await;
    assert!(app.smtp.messages().is_empty(), "invited without an admin's click");

    let page = admin.get("/app/settings/integrations/lever").await;
    assert!(page.text("#invite-waiting").contains("Invite them"));
    assert_eq!(admin.post_form("/app/settings/integrations/lever/invite-waiting", &[]).await.status, 303);
    app.smtp.wait_for(12, Duration::from_secs(30)).await;
    app.settle().await;
    let mails = app.smtp.messages();
    assert_eq!(mails.len(), 12, "exactly those waiting");
    for (i, opportunity) in waiting.iter().enumerate() {
        assert_eq!(mails.iter().filter(|m| m.to.contains(&format!("w{i}@candidates.test"))).count(), 1);
        assert!(app.lever.tags(ACCOUNT, opportunity).contains(&INVITED.to_string()));
    }
    assert!(admin.get("/app/settings/integrations/lever").await.text("#waiting-count").contains("No candidate"));
    // A second click, and more sweeps, invite nobody twice.
    assert_eq!(admin.post_form("/app/settings/integrations/lever/invite-waiting", &[]).await.status, 303);
    next_sweep(&app);
    app.wake_workers().await;
    app.settle().await;
    assert_eq!(app.smtp.messages().len(), 12);
}

const CANCELLED: &str = "Fulcrum: Assessment Cancelled";

/// Whether the candidate's link says the assessment is no longer needed.
async fn link_says_no_longer_needed(app: &crate::support::TestApp, link: &str) -> bool {
    app.browser().get(link).await.body.contains("no longer needed")
}

/// Every row of every table of Fulcrum's, as text, that mentions `needle`.
async fn rows_mentioning(app: &crate::support::TestApp, needle: &str) -> Vec<String> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    let mut found = Vec::new();
    for table in tables {
        // The table names come from the catalogue, not from input.
        let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT row_to_json(t)::text FROM \"{table}\" t WHERE strpos(lower(row_to_json(t)::text), lower($1)) > 0"
        )))
        .bind(needle)
        .fetch_all(&app.db)
        .await
        .unwrap();
        found.extend(rows.into_iter().map(|r| format!("{table}: {r}")));
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hired_archived_and_deleted_candidates_are_handled_once_from_their_webhooks() {
    use crate::support::lever::{ARCHIVE_TOKEN, DELETED_TOKEN, HIRED_TOKEN};
    let (app, org) = setup().await;
    let hired = super::invite(&app, &org, "opp-hired").await;
    let archived = super::invite(&app, &org, "opp-archived").await;
    let deleted = super::invite(&app, &org, "opp-deleted").await;
    let finished = super::invite(&app, &org, "opp-finished").await;
    let candidate = app.browser();
    assert_eq!(candidate.post_form(&format!("{finished}/start"), &[]).await.status, 303);
    let done = candidate.post_form(&format!("{finished}/submit"), &[("q1", "1"), ("q2", "0"), ("q3", "2")]).await;
    assert_eq!(done.status, 303);
    super::tags_become(&app, "opp-finished", &["Fulcrum: Assessment Completed", "Fulcrum: Passed"]).await;
    app.settle().await;
    let notes_before = super::notes(&app, "opp-finished").len();

    // Hired (Lever may also send the archive change of the hire), twice each.
    app.lever.archive(ACCOUNT, "opp-hired", "reason-hired");
    for _ in 0..2 {
        assert_eq!(app.deliver(&org, &app.lever.hired_delivery("opp-hired", Some(HIRED_TOKEN))).await.status(), 200);
        let change = app.lever.archive_change_delivery(ACCOUNT, "opp-hired", Some(ARCHIVE_TOKEN));
        assert_eq!(app.deliver(&org, &change).await.status(), 200);
    }
    // Rejected, twice; and the finished candidate archived after the result.
    for opportunity in ["opp-archived", "opp-finished"] {
        app.lever.archive(ACCOUNT, opportunity, "reason-underqualified");
        for _ in 0..2 {
            let change = app.lever.archive_change_delivery(ACCOUNT, opportunity, Some(ARCHIVE_TOKEN));
            assert_eq!(app.deliver(&org, &change).await.status(), 200);
        }
    }
    super::tags_become(&app, "opp-hired", &[CANCELLED]).await;
    super::tags_become(&app, "opp-archived", &[CANCELLED]).await;
    app.settle().await;
    for (opportunity, link, why) in [("opp-hired", &hired, "hired"), ("opp-archived", &archived, "archived")] {
        let notes = super::notes(&app, opportunity);
        assert_eq!(notes.len(), 2, "the invite note and one cancel note on {opportunity}: {notes:?}");
        assert!(notes[1].contains(why), "{}", notes[1]);
        assert!(link_says_no_longer_needed(&app, link).await, "{opportunity}'s link");
    }
    // A finished invitation is untouched.
    super::tags_become(&app, "opp-finished", &["Fulcrum: Assessment Completed", "Fulcrum: Passed"]).await;
    assert_eq!(super::notes(&app, "opp-finished").len(), notes_before);
    let status: String = sqlx::query_scalar("SELECT status FROM invitations WHERE opportunity_id = 'opp-finished'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(status, "completed");

    // Deleted in Lever, reported twice: nothing more is written there, and Fulcrum forgets
    // the candidate's name, address and answers.
    app.lever.delete_opportunity(ACCOUNT, "opp-deleted", RECRUITER);
    let writes_before = app.lever.writes_to(ACCOUNT, "opp-deleted").len();
    for _ in 0..2 {
        let body = app.lever.deleted_delivery("opp-deleted", Some(DELETED_TOKEN));
        assert_eq!(app.deliver(&org, &body).await.status(), 200);
    }
    eventually("the deleted candidate's invitation cancelled", Duration::from_secs(15), || async {
        sqlx::query_scalar::<_, String>("SELECT status FROM invitations WHERE opportunity_id = 'opp-deleted'")
            .fetch_one(&app.db)
            .await
            .unwrap()
            == "cancelled"
    })
    .await;
    app.settle().await;
    assert_eq!(app.lever.writes_to(ACCOUNT, "opp-deleted").len(), writes_before, "no write after the deletion");
    assert!(link_says_no_longer_needed(&app, &deleted).await);
    let left = rows_mentioning(&app, "opp-deleted@candidates.test").await;
    assert!(left.is_empty(), "the address is still in: {left:#?}");
    let admin = app.signed_in(&org.admin_email).await;
    let id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM invitations WHERE opportunity_id = 'opp-deleted'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(admin.get(&format!("/app/invitations/{id}")).await.body.contains("removed in Lever"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweep_sees_hires_rejections_anonymizations_and_deletions_no_webhook_reported() {
    let (app, org) = setup().await;
    let mut links = Vec::new();
    for opportunity in ["opp-h", "opp-a", "opp-anon", "opp-d"] {
        links.push(super::invite(&app, &org, opportunity).await);
    }
    app.settle().await;
    // Lever changes them behind Fulcrum's back: no webhook at all.
    app.lever.archive(ACCOUNT, "opp-h", "reason-hired");
    app.lever.archive(ACCOUNT, "opp-a", "reason-withdrew");
    app.lever.archive(ACCOUNT, "opp-anon", "reason-underqualified");
    app.lever.anonymize(ACCOUNT, "opp-anon");
    app.lever.delete_opportunity(ACCOUNT, "opp-d", RECRUITER);
    let untouched: Vec<usize> = ["opp-anon", "opp-d"].iter().map(|o| app.lever.writes_to(ACCOUNT, o).len()).collect();
    next_sweep(&app);
    super::tags_become(&app, "opp-h", &[CANCELLED]).await;
    super::tags_become(&app, "opp-a", &[CANCELLED]).await;
    eventually("the removed candidates erased", Duration::from_secs(20), || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM invitations WHERE erased_at IS NOT NULL")
            .fetch_one(&app.db)
            .await
            .unwrap()
            == 2
    })
    .await;
    app.settle().await;
    assert!(super::notes(&app, "opp-h")[1].contains("hired"));
    assert_eq!(super::notes(&app, "opp-a").len(), 2);
    for (i, opportunity) in ["opp-anon", "opp-d"].iter().enumerate() {
        assert_eq!(app.lever.writes_to(ACCOUNT, opportunity).len(), untouched[i], "no write to {opportunity}");
        let left = rows_mentioning(&app, &format!("{opportunity}@candidates.test")).await;
        assert!(left.is_empty(), "the address is still in: {left:#?}");
    }
    for link in &links {
        assert!(link_says_no_longer_needed(&app, link).await);
    }
    // The next sweep finds nothing new to do.
    let notes: usize = ["opp-h", "opp-a"].iter().map(|o| super::notes(&app, o).len()).sum();
    next_sweep(&app);
    eventually("another sweep", Duration::from_secs(20), || async {
        sqlx::query_scalar::<_, bool>("SELECT last_finished_at > now() - interval '5 seconds' FROM lever_sweeps")
            .fetch_one(&app.db)
            .await
            .unwrap()
    })
    .await;
    app.settle().await;
    assert_eq!(["opp-h", "opp-a"].iter().map(|o| super::notes(&app, o).len()).sum::<usize>(), notes);
}
