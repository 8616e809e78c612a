//! The admin pages: list, new, edit.

use fulcrum::orgs::Role;
use serde_json::json;

use super::{QUESTIONS_TEXT, create, is_code, questions_json, stored, stored_count};
use crate::support::{browser::Page, spawn_app};

/// The form as an admin fills it in; `active` is a checkbox, so it is either sent or not.
fn fields<'a>(name: &'a str, questions: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("name", name),
        ("pass_mark", "70"),
        ("time_limit_minutes", "45"),
        ("expires_after_days", "10"),
        ("active", "on"),
        ("instructions", "Take your time.\r\nNo notes."),
        ("questions", questions),
    ]
}

fn with<'a>(mut fields: Vec<(&'a str, &'a str)>, key: &'a str, value: &'a str) -> Vec<(&'a str, &'a str)> {
    fields.retain(|(k, _)| *k != key);
    fields.push((key, value));
    fields
}

/// A form control's exact text (a textarea's newlines matter here).
fn raw_text(page: &Page, css: &str) -> String {
    let html = scraper::Html::parse_document(&page.body);
    let selector = scraper::Selector::parse(css).unwrap();
    html.select(&selector).next().unwrap_or_else(|| panic!("no {css} in {}", page.body)).text().collect()
}

fn error_for(page: &Page, field: &str) -> String {
    page.text(&format!("#errors li[data-field={field}]"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_create_an_assessment_with_the_form_and_see_its_tags() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let admin = app.signed_in(&org.admin_email).await;
    let empty = admin.get("/app/assessments").await;
    assert_eq!(empty.status, 200);
    assert!(empty.text("#tag-schemes").contains("Fulcrum Backend Engineer"), "the tag schemes are explained");
    assert!(empty.exists("#no-assessments"));
    let blank = admin.get("/app/assessments/new").await;
    assert_eq!(blank.status, 200);
    assert_eq!(blank.attr("input[name=expires_after_days]", "value").as_deref(), Some("7"));
    assert!(blank.attr("input[name=active]", "checked").is_some());

    let saved = admin.post_form("/app/assessments/new", &fields("  Backend   Engineer ", QUESTIONS_TEXT)).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let back_to = saved.location.unwrap();
    assert!(back_to.starts_with("/app/assessments?saved="), "{back_to}");

    let list = admin.get(&back_to).await;
    assert!(list.text("#saved").starts_with("Saved Backend Engineer."), "the list says what was saved");
    let row = "#assessments tbody tr";
    assert_eq!(list.texts(row).len(), 1);
    assert_eq!(list.text(&format!("{row} .name")), "Backend Engineer");
    assert_eq!(list.text(&format!("{row} .name-tag")), "Fulcrum Backend Engineer");
    let code = list.text(&format!("{row} .code"));
    assert!(is_code(&code), "{code}");
    assert_eq!(list.text(&format!("{row} .pass-mark")), "70%");
    assert_eq!(list.text(&format!("{row} .time-limit")), "45 min");
    assert_eq!(list.text(&format!("{row} .expiry")), "after 10 days");
    assert_eq!(list.text(&format!("{row} .status")), "active");
    assert_eq!(list.text(&format!("{row} .questions")), "2");

    let id = list.attr(row, "data-assessment-id").unwrap();
    let row = stored(&app, &id).await;
    assert_eq!(row["questions"], questions_json(), "the text format became the JSON structure");
    assert_eq!(row["instructions"], "Take your time.\nNo notes.");
    assert_eq!(row["code"], code.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_edit_form_shows_the_questions_as_text_and_saves_changes() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let created = create(&app, &org.api_key, "Backend Engineer").await;
    let (id, code) = (created["id"].as_str().unwrap(), created["code"].as_str().unwrap());
    let admin = app.signed_in(&org.admin_email).await;
    let path = format!("/app/assessments/{id}");

    let page = admin.get(&path).await;
    assert_eq!(page.status, 200);
    assert_eq!(raw_text(&page, "textarea[name=questions]"), QUESTIONS_TEXT);
    assert_eq!(page.attr("input[name=name]", "value").as_deref(), Some("Backend Engineer"));
    assert_eq!(page.attr("input[name=pass_mark]", "value").as_deref(), Some("70"));
    assert_eq!(page.text("#code"), code);
    assert_eq!(page.text("#name-tag"), "Fulcrum Backend Engineer");
    assert_eq!(page.attr("form#assessment", "action"), Some(path.clone()));

    let edited = "Which one is a prime?\n- 8\n* 7\n\nWhat is 3 + 3?\n* 6\n- 9";
    let mut form = with(fields("Platform Engineer", edited), "pass_mark", "80");
    form.retain(|(k, _)| *k != "active");
    let saved = admin.post_form(&path, &form).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert_eq!(saved.location, Some(format!("/app/assessments?saved={id}")));
    let row = stored(&app, id).await;
    assert_eq!((row["name"].as_str(), row["pass_mark"].as_i64()), (Some("Platform Engineer"), Some(80)));
    assert_eq!(row["active"], false, "an unticked checkbox deactivates");
    assert_eq!(row["code"], code, "the code survives a rename");
    assert_eq!(row["questions"][0], json!({"prompt": "Which one is a prime?", "choices": ["8", "7"], "answer": 1}));
    assert_eq!(raw_text(&admin.get(&path).await, "textarea[name=questions]"), edited);
    assert_eq!(admin.get("/app/assessments").await.text("#assessments .status"), "inactive");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_shown_again_with_what_is_wrong_and_nothing_changes() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let admin = app.signed_in(&org.admin_email).await;
    let cases = [
        ("name", "   ", "needs a name"),
        ("pass_mark", "101", "0 to 100"),
        ("pass_mark", "lots", "whole number"),
        ("time_limit_minutes", "0", "1 to 1440"),
        ("expires_after_days", "400", "1 to 365"),
        ("questions", "What is 2 + 2?\n- 3\n- 4", "Question 1: no choice is marked right"),
        ("questions", "Q?\n* a\n- b\n\nR?\n* a\n* b", "Question 2: more than one"),
    ];
    for (field, value, says) in cases {
        let page = admin
            .post_form("/app/assessments/new", &with(fields("Backend Engineer", QUESTIONS_TEXT), field, value))
            .await;
        assert_eq!(page.status, 422, "{field}={value}: {}", page.body);
        assert!(error_for(&page, field).contains(says), "{field}={value}: {}", error_for(&page, field));
        assert_eq!(page.attr(&format!("[name={field}]"), "aria-invalid").as_deref(), Some("true"));
        if field == "questions" {
            assert_eq!(raw_text(&page, "textarea[name=questions]"), value, "the admin's text is kept");
        } else {
            assert_eq!(
                page.attr("input[name=name]", "value").as_deref(),
                Some(if field == "name" { "   " } else { "Backend Engineer" })
            );
        }
    }
    let two_broken = "Q?\n- a\n- b\n\nFine?\n* a\n- b\n\nR?";
    let page = admin
        .post_form("/app/assessments/new", &with(fields("Backend Engineer", QUESTIONS_TEXT), "questions", two_broken))
        .await;
    let problems = page.texts("#errors li[data-field=questions]");
    assert_eq!(problems.len(), 2, "every broken question is listed: {problems:?}");
    assert!(problems[0].starts_with("Question 1:") && problems[1].starts_with("Question 3:"), "{problems:?}");
    assert_eq!(stored_count(&app).await, 0);

    let created = create(&app, &org.api_key, "Backend Engineer").await;
    let id = created["id"].as_str().unwrap();
    let before = stored(&app, id).await;
    let page = admin
        .post_form(&format!("/app/assessments/{id}"), &with(fields("Renamed", QUESTIONS_TEXT), "pass_mark", "-5"))
        .await;
    assert_eq!(page.status, 422);
    assert_eq!(page.attr("input[name=name]", "value").as_deref(), Some("Renamed"));
    assert_eq!(page.text("h1"), "Backend Engineer", "the heading is the stored name");
    assert_eq!(stored(&app, id).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_taken_in_any_case_or_spacing_is_a_conflict() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let other = app.create_org("Globex").await;
    create(&app, &org.api_key, "Backend Engineer").await;
    create(&app, &other.api_key, "Data Analyst").await;
    let admin = app.signed_in(&org.admin_email).await;

    let page = admin.post_form("/app/assessments/new", &fields("  backend   ENGINEER", QUESTIONS_TEXT)).await;
    assert_eq!(page.status, 409);
    assert!(error_for(&page, "name").contains("already has this name"), "{}", page.body);
    assert_eq!(stored_count(&app).await, 2);

    let analyst = admin.post_form("/app/assessments/new", &fields("Data Analyst", QUESTIONS_TEXT)).await;
    assert_eq!(analyst.status, 303, "names are unique per organization only");
    let id: String = sqlx::query_scalar("SELECT id::text FROM assessments WHERE org_id = $1 AND name = 'Data Analyst'")
        .bind(org.id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    let renamed = admin.post_form(&format!("/app/assessments/{id}"), &fields("BACKEND engineer", QUESTIONS_TEXT)).await;
    assert_eq!(renamed.status, 409);
    assert_eq!(stored(&app, &id).await["name"], "Data Analyst");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_get_403_and_change_nothing() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let id = create(&app, &org.api_key, "Backend Engineer").await["id"].as_str().unwrap().to_string();
    let member = app.signed_in(&app.add_member(&org, Role::Member).await).await;
    for path in ["/app/assessments", "/app/assessments/new", &format!("/app/assessments/{id}")] {
        assert_eq!(member.get(path).await.status, 403, "{path}");
    }
    assert_eq!(member.post_form("/app/assessments/new", &fields("Sneaky", QUESTIONS_TEXT)).await.status, 403);
    let edit = member.post_form(&format!("/app/assessments/{id}"), &fields("Sneaky", QUESTIONS_TEXT)).await;
    assert_eq!(edit.status, 403);
    assert_eq!(stored_count(&app).await, 1);
    assert_eq!(stored(&app, &id).await["name"], "Backend Engineer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_organizations_assessments_are_not_found() {
    let app = spawn_app().await;
    let acme = app.create_org("Acme").await;
    let globex = app.create_org("Globex").await;
    let id = create(&app, &acme.api_key, "Secret Project").await["id"].as_str().unwrap().to_string();
    let intruder = app.signed_in(&globex.admin_email).await;

    let list = intruder.get("/app/assessments").await;
    assert_eq!(list.status, 200);
    assert!(list.exists("#no-assessments"));
    assert!(!list.body.contains("Secret Project") && !list.body.contains(&id));
    let path = format!("/app/assessments/{id}");
    assert_eq!(intruder.get(&path).await.status, 404);
    assert_eq!(intruder.post_form(&path, &fields("Taken over", QUESTIONS_TEXT)).await.status, 404);
    assert_eq!(intruder.post_form(&path, &fields("", "")).await.status, 404, "404 even for input that is wrong");
    assert_eq!(stored(&app, &id).await["name"], "Secret Project");
    for unknown in ["/app/assessments/not-an-id", &format!("/app/assessments/{}", uuid::Uuid::new_v4())] {
        assert_eq!(intruder.get(unknown).await.status, 404, "{unknown}");
    }
}
