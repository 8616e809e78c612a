//! The candidate's side in the browser: from the emailed link to the result, the timer,
//! answers kept across a reload, closed links, and the keyboard alone.

use thirtyfour::Key;

use super::{invite, outcome, ready, sign_in, start};

/// The three questions' right answers are 1, 0 and 2 (see `create_assessment`).
const RIGHT: [(&str, &str); 3] = [("q1", "1"), ("q2", "0"), ("q3", "2")];

fn choice((question, value): (&str, &str)) -> String {
    format!("input[name={question}][value='{value}']")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_candidate_goes_from_the_emailed_link_to_the_result() {
    let Some((app, tab)) = start().await else { return };
    let org = ready(&app).await;
    let link = invite(&app, &org, "opp-1").await;

    tab.goto(&link).await;
    assert_eq!(tab.text("#landing h1").await, "Backend Engineer");
    assert!(tab.text("#time-limit").await.starts_with("30 minutes"));
    tab.check("candidate-landing").await;
    tab.click("#start").await;
    tab.find("#answers").await;
    tab.click(&choice(RIGHT[0])).await;
    tab.click(&choice(RIGHT[1])).await;
    tab.check("candidate-questions").await;

    // A reload keeps what was chosen, and so does opening the link again after closing the
    // tab (a fresh page, which the browser's own form restoring never fills in).
    tab.reload().await;
    tab.find("#answers").await;
    assert!(tab.checked(&choice(RIGHT[0])).await, "the first answer survives the reload");
    assert!(tab.checked(&choice(RIGHT[1])).await, "the second answer survives the reload");
    tab.goto(&link).await;
    tab.find("#answers").await;
    assert!(tab.checked(&choice(RIGHT[0])).await && tab.checked(&choice(RIGHT[1])).await, "kept for the link");

    // Submitting with a question open asks first; "no" keeps the candidate on the page.
    tab.click("#submit").await;
    assert_eq!(tab.dialog().await, "1 question is not answered yet. Submit anyway?");
    tab.dismiss_dialog().await;
    assert!(tab.exists("#answers").await, "still answering");
    assert_eq!(outcome(&app).await.0, "started", "nothing was sent");

    tab.click(&choice(RIGHT[2])).await;
    tab.click("#submit").await;
    assert_eq!(tab.text("#done h1").await, "Thank you");
    assert_eq!(outcome(&app).await.1, Some(100));
    tab.check("candidate-done").await;
    // The link, used, says so again.
    tab.goto(&link).await;
    tab.find("#done").await;

    // The organization sees the result.
    app.settle().await;
    sign_in(&tab, &org.admin_email).await;
    tab.click("#invitations tbody tr td a").await;
    assert!(tab.text("#score").await.starts_with("100 / 100"), "{}", tab.text("#score").await);
    assert_eq!(tab.text("#result").await, "Passed");
    tab.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_zero_the_timer_submits_the_answers_given() {
    let Some((app, tab)) = start().await else { return };
    let org = ready(&app).await;
    sqlx::query("UPDATE assessments SET time_limit_minutes = 1").execute(&app.db).await.unwrap();
    let link = invite(&app, &org, "opp-2").await;
    tab.goto(&link).await;
    tab.click("#start").await;
    tab.click(&choice(RIGHT[0])).await;

    // The server's clock moves on to six seconds before the end; the page counts down what
    // is left by that clock.
    let started: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT started_at FROM invitations").fetch_one(&app.db).await.unwrap();
    app.clock().advance(started + chrono::Duration::seconds(54) - app.clock().now());
    tab.reload().await;
    let left = tab.text(".timer output").await;
    assert!(left.starts_with("0:0"), "a few seconds left: {left}");
    assert!(tab.exists(".timer.low[aria-live=assertive]").await, "the last minute is announced");
    assert!(tab.checked(&choice(RIGHT[0])).await, "the answer chosen before the reload is kept");
    tab.click(&choice(RIGHT[1])).await;

    // No click on Submit: the page sends what was chosen when the time is up.
    tab.find("#done").await;
    let (status, score, answers) = outcome(&app).await;
    assert_eq!((status.as_str(), score), ("completed", Some(67)), "two of three answered, both right");
    assert_eq!(answers, Some(serde_json::json!([1, 0, null])));
    tab.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_and_unknown_links_say_so() {
    let Some((app, tab)) = start().await else { return };
    let org = ready(&app).await;
    let link = invite(&app, &org, "opp-3").await;
    app.clock().advance(chrono::Duration::days(8));
    tab.goto(&link).await;
    assert_eq!(tab.text("#expired h1").await, "This assessment is closed");
    assert!(!tab.exists("#start").await);
    tab.check("candidate-expired").await;

    tab.goto(&format!("{}/a/not-a-link-we-sent", app.url)).await;
    assert_eq!(tab.text("#unknown h1").await, "This link is not valid");
    tab.check("candidate-unknown").await;
    tab.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_assessment_can_be_taken_with_the_keyboard_alone() {
    let Some((app, tab)) = start().await else { return };
    let org = ready(&app).await;
    let link = invite(&app, &org, "opp-4").await;
    tab.goto(&link).await;

    tab_to(&tab, "#start").await;
    tab.press(Key::Enter).await;
    tab.find("#answers").await;
    // Tab enters each group of choices at its first; arrows and Space choose.
    tab_to(&tab, &focus_name("q1", "0")).await;
    tab.press(Key::Down).await;
    tab_to(&tab, &focus_name("q2", "0")).await;
    tab.press(Key::Space).await;
    tab_to(&tab, &focus_name("q3", "0")).await;
    tab.press(Key::Down + Key::Down).await;
    for answer in RIGHT {
        assert!(tab.checked(&choice(answer)).await, "{answer:?} chosen by keyboard");
    }
    tab_to(&tab, "#submit").await;
    tab.press(Key::Enter).await;
    tab.find("#done").await;
    assert_eq!(outcome(&app).await.1, Some(100));
    tab.close().await;
}

/// How `Tab::focused` names a radio button.
fn focus_name(question: &str, value: &str) -> String {
    format!("input[name={question}][value={value}]")
}

/// Presses Tab until `target` has the focus (a handful of presses at most), checking that
/// every stop on the way shows where the focus is.
async fn tab_to(tab: &crate::support::tab::Tab, target: &str) {
    let mut stops = Vec::new();
    for _ in 0..8 {
        tab.press(Key::Tab).await;
        let focused = tab.focused().await;
        let ring: String =
            tab.js("const s = getComputedStyle(document.activeElement); return s.outlineStyle;", vec![]).await;
        assert_ne!(ring, "none", "{focused} has the focus but shows no outline");
        if focused == target {
            return;
        }
        stops.push(focused);
    }
    panic!("Tab never reached {target}; it went through {stops:?}");
}
