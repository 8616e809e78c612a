//! The report PDF attached to the opportunity in Lever: once, as the feedback form's
//! author, readable as text; still once when Lever's answers to writes get lost; not tried
//! without the files scope.

use super::{ACCOUNT, WAIT, invite, setup};
use crate::support::{TestApp, eventually, lever::RECRUITER, org::TestOrg, pdf, spawn_app};

/// Starts and submits the candidate's assessment: two of three right (67, passed).
async fn finish(app: &TestApp, link: &str) {
    let candidate = app.browser();
    assert_eq!(candidate.post_form(&format!("{link}/start"), &[]).await.status, 303);
    let done = candidate.post_form(&format!("{link}/submit"), &[("q1", "1"), ("q2", "0"), ("q3", "0")]).await;
    assert_eq!(done.status, 303);
}

async fn one_file(app: &TestApp, opp: &str) -> (String, Vec<u8>, String) {
    eventually("the report file in Lever", WAIT, || async { !app.lever.files(ACCOUNT, opp).is_empty() }).await;
    app.settle().await;
    let mut files = app.lever.files(ACCOUNT, opp);
    assert_eq!(files.len(), 1, "exactly one file: {:?}", files.iter().map(|f| &f.0).collect::<Vec<_>>());
    files.remove(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_assessment_leaves_one_readable_report_pdf_in_lever() {
    let (app, org) = setup().await;
    let link = invite(&app, &org, "opp-pdf").await;
    finish(&app, &link).await;
    let (name, bytes, uploaded_by) = one_file(&app, "opp-pdf").await;
    assert_eq!(name, "Fulcrum report - Backend Engineer.pdf");
    assert_eq!(uploaded_by, RECRUITER, "uploaded as the user the feedback form is written as");
    let upload = app.lever.calls_for(ACCOUNT).into_iter().find(|c| c.method == "POST" && c.path.ends_with("/files"));
    assert_eq!(upload.and_then(|c| c.perform_as).as_deref(), Some(RECRUITER));
    assert!(bytes.starts_with(b"%PDF-"));

    let text = pdf::text(&bytes);
    for expected in [
        "Acme",
        "opp-pdf@candidates.test",
        "Backend Engineer",
        "67 / 100 (pass mark 60)",
        "Passed",
        "2 + 2 = ?",
        "Which is a prime?",
        "HTTP status for Not Found?",
        "Right answer 404",
    ] {
        assert!(text.contains(expected), "{expected:?} is not in the PDF's text: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_answers_from_lever_still_leave_exactly_one_pdf() {
    let (app, org) = setup().await;
    let links =
        [invite(&app, &org, "opp-f1").await, invite(&app, &org, "opp-f2").await, invite(&app, &org, "opp-f3").await];
    // From here on, 30 % of Lever's writes are applied and then answered with a 500.
    app.lever.set_seed(11);
    app.lever.set_applied_then_error(500, 0.3);
    for link in &links {
        finish(&app, link).await;
    }
    for opp in ["opp-f1", "opp-f2", "opp-f3"] {
        let (_, bytes, _) = one_file(&app, opp).await;
        assert!(pdf::text(&bytes).contains("67 / 100"));
    }
    let uploads = app.lever.calls_for(ACCOUNT).into_iter().filter(|c| c.method == "POST" && c.path.ends_with("/files"));
    let lost = uploads.filter(|c| c.status == 500).count();
    let read_backs =
        app.lever.calls_for(ACCOUNT).into_iter().filter(|c| c.method == "GET" && c.path.ends_with("/files")).count();
    assert!(
        read_backs >= lost,
        "every lost answer is read back before uploading again ({lost} lost, {read_backs} read)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_files_scope_no_upload_is_tried() {
    let app = spawn_app().await;
    let scopes: Vec<String> =
        fulcrum::lever::SCOPES.iter().filter(|s| **s != "files:write:admin").map(|s| s.to_string()).collect();
    app.seed_account(ACCOUNT);
    app.lever.set_granted_scopes(ACCOUNT, Some(scopes));
    let org: TestOrg = app.connected_org("Acme", ACCOUNT).await;
    app.assessment_ready(&org, ACCOUNT).await;
    let link = invite(&app, &org, "opp-nf").await;
    finish(&app, &link).await;
    eventually("the feedback form", WAIT, || async { !app.lever.feedback(ACCOUNT, "opp-nf").is_empty() }).await;
    app.settle().await;
    let tried = app.lever.calls_for(ACCOUNT).into_iter().filter(|c| c.path.ends_with("/files")).count();
    assert_eq!(tried, 0, "no upload is tried without files:write:admin");
    assert!(app.lever.files(ACCOUNT, "opp-nf").is_empty());
}

/// An 8×4 PNG in Fulcrum's blue.
const LOGO_PNG: [u8; 74] = [
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x08, 0x00, 0x00, 0x00, 0x04, 0x08, 0x02, 0x00, 0x00, 0x00, 0x3c, 0xaf, 0xe9, 0xa7, 0x00, 0x00, 0x00, 0x11, 0x49,
    0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xd0, 0xf6, 0xa9, 0xc3, 0x8a, 0x18, 0xa8, 0x27, 0x01, 0x00, 0xf1, 0x8f, 0x1e,
    0xa1, 0x81, 0x4e, 0xc6, 0x3e, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// Serves the logo at `/logo.png` (and anything else as 404) until the test ends.
async fn logo_server() -> String {
    let app = axum::Router::new()
        .route("/logo.png", axum::routing::get(|| async { ([("content-type", "image/png")], LOGO_PNG.to_vec()) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_organizations_logo_heads_the_report_in_lever_and_the_download() {
    let (app, org) = setup().await;
    let server = logo_server().await;
    let admin = app.signed_in(&org.admin_email).await;
    let saved = admin
        .post_form(
            "/app/settings/email",
            &[("subject", "{{assessment_name}}"), ("body", "{{link}}"), ("logo_url", &format!("{server}/logo.png"))],
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let link = invite(&app, &org, "opp-logo").await;
    finish(&app, &link).await;
    let (_, bytes, _) = one_file(&app, "opp-logo").await;
    assert_eq!(pdf::images(&bytes), vec![(8, 4)], "the logo, once");
    let id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM invitations WHERE opportunity_id = 'opp-logo'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let download = admin.get_bytes(&format!("/app/invitations/{id}/report.pdf")).await;
    assert_eq!(pdf::images(&download), vec![(8, 4)]);

    // A logo that is not there (or not an image) leaves the report without one.
    let gone = admin
        .post_form(
            "/app/settings/email",
            &[("subject", "{{assessment_name}}"), ("body", "{{link}}"), ("logo_url", &format!("{server}/missing.png"))],
        )
        .await;
    assert_eq!(gone.status, 200);
    let download = admin.get_bytes(&format!("/app/invitations/{id}/report.pdf")).await;
    assert!(pdf::images(&download).is_empty());
    assert!(pdf::text(&download).contains("Backend Engineer"));
}
