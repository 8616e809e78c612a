//! The pages in a real browser: headless Chromium driven through chromedriver, against the
//! real server, PostgreSQL, the fake Lever and the SMTP sink. What a candidate and an admin
//! see is JavaScript and CSS as much as HTML: the timer, answers kept across a reload, the
//! confirmations, the Copy button, tables that become cards on a phone.
//!
//! The tests share one browser (see `support::chromium`); each has a window of its own and
//! an app on a loopback address of its own, since a browser keeps cookies per host. Every
//! page a test passes through goes through `Tab::check` (375 and 1280 px, nothing off-screen,
//! axe-core), which keeps screenshots in `target/browser/screenshots/`.

mod admin;
mod candidate;
mod pages;
mod settings;

use std::{
    net::Ipv4Addr,
    sync::atomic::{AtomicU32, Ordering},
    time::Duration,
};

use crate::support::{
    Options, TestApp, chromium,
    lever::ASSESS_STAGE,
    org::{PASSWORD, TestOrg},
    spawn_with,
    tab::Tab,
    workflow::link_in,
};

pub const ACCOUNT: &str = "acct-1";

/// A browser test's start: an app of its own and a window on it. `None` on a machine without
/// Chromium (the test then returns; `support::chromium` says why).
pub async fn start() -> Option<(TestApp, Tab)> {
    let chromium = chromium::shared()?;
    let app = spawn_with(Options { host: own_host(), ..Options::default() }).await;
    let tab = Tab::open(chromium, &app.url).await;
    Some((app, tab))
}

/// 127.1.0.1, 127.1.0.2, …: every address in 127/8 is this machine.
fn own_host() -> Ipv4Addr {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    Ipv4Addr::new(127, 1, (n / 250) as u8, (n % 250 + 1) as u8)
}

/// A connected organization with the "Backend Engineer" assessment on a Lever posting.
pub async fn ready(app: &TestApp) -> TestOrg {
    let org = app.connected_org("Acme", ACCOUNT).await;
    app.assessment_ready(&org, ACCOUNT).await;
    org
}

/// Moves a candidate into the assessment stage in Lever and returns the emailed link.
pub async fn invite(app: &TestApp, org: &TestOrg, opportunity: &str) -> String {
    let email = format!("{opportunity}@candidates.test");
    app.add_candidate(ACCOUNT, opportunity, &email, Some(crate::support::workflow::POSTING), &[]);
    let count = app.smtp.messages().len();
    app.move_candidate(org, ACCOUNT, opportunity, ASSESS_STAGE).await;
    let mails = app.smtp.wait_for(count + 1, Duration::from_secs(15)).await;
    link_in(mails.iter().find(|m| m.to.contains(&email)).expect("the invite email"))
}

/// Signs in through the form.
pub async fn sign_in(tab: &Tab, email: &str) {
    tab.goto("/login").await;
    tab.fill("input[name=email]", email).await;
    tab.fill("input[name=password]", PASSWORD).await;
    tab.click("main form button[type=submit]").await;
    tab.find("header .who").await;
}

/// The invitation's status, score and recorded answers.
pub async fn outcome(app: &TestApp) -> (String, Option<i32>, Option<serde_json::Value>) {
    sqlx::query_as("SELECT status, score, answers FROM invitations").fetch_one(&app.db).await.unwrap()
}
