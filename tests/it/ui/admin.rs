//! The app's own pages in the browser: the assessment form, the invitations dashboard and
//! its report, and the Jobs page.

use serde_json::json;

use super::{invite, ready, sign_in, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_assessment_is_made_from_questions_pasted_as_json() {
    let Some((app, tab)) = start().await else { return };
    let org = app.create_org("Acme").await;
    sign_in(&tab, &org.admin_email).await;
    tab.click("nav a[href='/app/assessments']").await;
    tab.find("#no-assessments").await;
    tab.check("assessments-none").await;
    tab.click("main a.button[href='/app/assessments/new']").await;
    tab.fill("input[name=name]", "Data Engineer").await;
    tab.fill("input[name=pass_mark]", "50").await;
    tab.fill("input[name=time_limit_minutes]", "20").await;

    // A slip in the JSON is named, and nothing typed is lost.
    tab.paste("textarea[name=questions]", r#"[{"prompt": "SQL joins rows?", "choices": ["yes", "no"], "answer": 5}]"#)
        .await;
    tab.click("#assessment button[type=submit]").await;
    tab.find("#errors").await;
    assert!(tab.exists("textarea[name=questions][aria-invalid=true]").await);
    assert_eq!(tab.find("input[name=name]").await.value().await.unwrap().as_deref(), Some("Data Engineer"));
    tab.check("assessment-form-errors").await;

    let questions = json!([
        {"prompt": "Which SQL keyword removes duplicate rows?", "choices": ["UNIQUE", "DISTINCT", "ONLY"], "answer": 1},
        {"prompt": "Which one is a columnar format?", "choices": ["CSV", "Parquet"], "answer": 1}
    ]);
    tab.paste("textarea[name=questions]", &serde_json::to_string_pretty(&questions).unwrap()).await;
    tab.click("#assessment button[type=submit]").await;
    assert!(tab.text("#saved").await.starts_with("Saved Data Engineer."));
    assert_eq!(tab.text("#assessments tbody tr td.questions").await, "2");
    tab.check("assessments").await;
    let stored: serde_json::Value =
        sqlx::query_scalar("SELECT questions FROM assessments").fetch_one(&app.db).await.unwrap();
    assert_eq!(stored, questions);

    tab.click("#assessments tbody tr td.name a").await;
    assert_eq!(tab.text("#name-tag").await, "Fulcrum Data Engineer");
    tab.check("assessment-edit").await;
    tab.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_filters_invitations_and_opens_the_report() {
    let Some((app, tab)) = start().await else { return };
    let org = ready(&app).await;
    invite(&app, &org, "opp-1").await;
    let link = invite(&app, &org, "opp-2").await;
    let candidate = app.browser();
    candidate.post_form(&format!("{link}/start"), &[]).await;
    candidate.post_form(&format!("{link}/submit"), &[("q1", "1"), ("q2", "1"), ("q3", "2")]).await;
    app.settle().await;

    sign_in(&tab, &org.admin_email).await;
    assert_eq!(tab.texts("#invitations tbody tr").await.len(), 2);
    tab.check("dashboard").await;
    tab.click("select[name=status] option[value=completed]").await;
    tab.click("#filters button[type=submit]").await;
    tab.wait_until("the filtered list", "location.search.includes('status=completed')").await;
    let rows = tab.texts("#invitations tbody tr").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].contains("opp-2@candidates.test"), "{rows:?}");

    tab.click("select[name=status] option[value=expired]").await;
    tab.click("#filters button[type=submit]").await;
    assert_eq!(tab.text("#no-invitations").await, "No invitations match these filters.");
    tab.click("select[name=status] option[value='']").await;
    let backend = tab.find("select[name=assessment] option:nth-child(2)").await;
    let id = backend.value().await.unwrap().expect("the assessment's id");
    backend.click().await.unwrap();
    tab.click("#filters button[type=submit]").await;
    tab.wait_until("the assessment filter", &format!("location.search.includes('status=&assessment={id}')")).await;
    assert_eq!(tab.texts("#invitations tbody tr").await.len(), 2);

    tab.click("#invitations tbody tr:has(.pill.completed) td a").await;
    assert!(tab.text("#score").await.starts_with("67 / 100"), "{}", tab.text("#score").await);
    assert_eq!(tab.texts("#answers tbody tr").await.len(), 3);
    tab.check("report").await;
    tab.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_on_the_jobs_page_runs_a_failed_job_again() {
    let Some((app, tab)) = start().await else { return };
    let org = app.create_org("Acme").await;
    let job: i64 = sqlx::query_scalar(
        "INSERT INTO jobs (kind, payload, org_id, state, attempts, max_attempts, run_at, finished_at, last_error)
         VALUES ('noop', '{}', $1, 'failed', 3, 3, now(), now(), 'Lever rejected the request (400): Bad tag')
         RETURNING id",
    )
    .bind(org.id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    sign_in(&tab, &org.admin_email).await;
    tab.click("nav a[href='/app/jobs']").await;
    assert!(tab.text("#failed-jobs td.error-text").await.contains("Bad tag"));
    tab.check("jobs-failed").await;

    tab.click(&format!("#failed-jobs tr[data-job-id='{job}'] button")).await;
    tab.wait_until("the page back without the failure", "!!document.querySelector('#no-failures')").await;
    crate::support::eventually("the job to run again", std::time::Duration::from_secs(10), || async {
        let state: String =
            sqlx::query_scalar("SELECT state FROM jobs WHERE id = $1").bind(job).fetch_one(&app.db).await.unwrap();
        state == "done"
    })
    .await;
    tab.check("jobs").await;
    tab.close().await;
}
