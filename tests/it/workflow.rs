//! The assessment workflow end to end: a stage change in Lever → an invite email → the
//! candidate's pages → the result → tags, notes and a feedback form in Lever.
//!
//! What invites and what does not (`invites`), the result reaching Lever (`results`),
//! errors explained on the candidate (`errors`), an invitation's reminders and expiry
//! (`lifecycle`), and work surviving revoked access, token refreshes and a failing mail
//! server (`recovery`). The helpers every part uses live here.

mod actions;
mod crash;
mod errors;
mod in_step;
mod invites;
mod lifecycle;
mod pooler;
mod recovery;
mod report_file;
mod results;

use std::time::Duration;

use crate::support::{TestApp, eventually, lever::ASSESS_STAGE, org::TestOrg, spawn_app, workflow::link_in};

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
