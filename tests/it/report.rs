//! The report as a PDF a person can read: downloaded from the report page by members of
//! the organization only, every word inside the page (`pdftotext -bbox`) however long the
//! assessment's name, its questions and its answers, the answers flowing onto more pages.

use serde_json::json;

use crate::support::{
    eventually,
    fake_lever::NewPosting,
    lever::{ASSESS_STAGE, RECRUITER},
    pdf, spawn_app,
    workflow::link_in,
};

const ACCOUNT: &str = "acct-r";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_report_stays_on_its_pages_and_only_members_download_it() {
    let app = spawn_app().await;
    let org = app.connected_org("Acme Analytical Engines", ACCOUNT).await;
    let name =
        "Senior Distributed Systems and Reliability Engineering Assessment for the Platform Infrastructure Group EMEA";
    let long = "an answer that goes on for a while, with words like observability, idempotency and backpressure, so that it has to wrap onto several lines";
    let questions: Vec<_> = (1..=40)
        .map(|i| {
            json!({
                "prompt": format!("Question {i}: which of these statements about distributed consensus, retries with jitter and exactly-once effects under crashes holds in case {i}?"),
                "choices": [format!("Right: {long} ({i})"), format!("Wrong: {long} ({i})"), "Neither".to_string()],
                "answer": 0
            })
        })
        .collect();
    sqlx::query(
        "INSERT INTO assessments (org_id, name, code, pass_mark, time_limit_minutes, instructions, questions)
         VALUES ($1, $2, 'FC-40040', 70, 90, 'Answer all forty.', $3)",
    )
    .bind(org.id)
    .bind(name)
    .bind(json!(questions))
    .execute(&app.db)
    .await
    .unwrap();
    app.lever
        .add_posting(ACCOUNT, NewPosting::new("post-long", "SRE").tags([format!("Fulcrum {name}")]).owner(RECRUITER));
    app.add_candidate(ACCOUNT, "opp-long", "long@candidates.test", Some("post-long"), &[]);
    assert_eq!(app.move_candidate(&org, ACCOUNT, "opp-long", ASSESS_STAGE).await.status(), 200);
    eventually("the invite email", std::time::Duration::from_secs(15), || async { !app.smtp.messages().is_empty() })
        .await;
    let link = link_in(&app.smtp.messages()[0]);
    let candidate = app.browser();
    candidate.post_form(&format!("{link}/start"), &[]).await;
    // The first 30 right, the rest wrong: 75, passed.
    let answers: Vec<(String, String)> =
        (1..=40).map(|i| (format!("q{i}"), if i <= 30 { "0" } else { "1" }.to_string())).collect();
    let fields: Vec<(&str, &str)> = answers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(candidate.post_form(&format!("{link}/submit"), &fields).await.status, 303);
    app.settle().await;

    let id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM invitations").fetch_one(&app.db).await.unwrap();
    let member = app.signed_in(&app.add_member(&org, fulcrum::orgs::Role::Member).await).await;
    let report_page = member.get(&format!("/app/invitations/{id}")).await;
    assert!(
        report_page.exists(&format!("a#report-pdf[href='/app/invitations/{id}/report.pdf']")),
        "the page links the PDF"
    );
    let response = member.client.get(format!("{}/app/invitations/{id}/report.pdf", app.url)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/pdf");
    assert!(response.headers()["content-disposition"].to_str().unwrap().starts_with("attachment;"));
    let bytes = response.bytes().await.unwrap().to_vec();

    let (pages, words) = pdf::words(&bytes);
    assert!(pages.len() >= 3, "forty long answers flow onto more pages: {} page(s)", pages.len());
    for w in &words {
        let page = pages[w.page - 1];
        assert!(
            w.x_min >= 0.0 && w.y_min >= 0.0 && w.x_max <= page.width && w.y_max <= page.height,
            "{w:?} lies outside its {page:?}"
        );
    }
    let text = pdf::text(&bytes);
    assert!(text.contains("75 / 100 (pass mark 70)") && text.contains("Passed"), "{text}");
    assert!(text.contains("Question 40:") && text.contains("backpressure"), "{text}");
    assert!(text.contains("Platform Infrastructure Group"));

    // Another organization's people get nothing.
    let other = app.create_org("Other").await;
    let stranger = app.signed_in(&other.admin_email).await;
    assert_eq!(stranger.get(&format!("/app/invitations/{id}/report.pdf")).await.status, 404);
    assert_eq!(
        app.browser().get(&format!("/app/invitations/{id}/report.pdf")).await.status,
        303,
        "signed out: to sign in"
    );
}
