//! Assessments: the admin pages and `/api/v1/assessments`, one organization's kept from
//! another's.

mod api;
mod pages;

use serde_json::{Value, json};

use crate::support::TestApp;

/// The documented example of the question text format, and the same questions as JSON.
const QUESTIONS_TEXT: &str = "What is 2 + 2?\n- 3\n* 4\n- 5\n\nWhich one is a prime?\n* 7\n- 8";

fn questions_json() -> Value {
    json!([
        {"prompt": "What is 2 + 2?", "choices": ["3", "4", "5"], "answer": 1},
        {"prompt": "Which one is a prime?", "choices": ["7", "8"], "answer": 0},
    ])
}

/// A valid API body for a new assessment.
fn new_assessment(name: &str) -> Value {
    json!({"name": name, "pass_mark": 70, "time_limit_minutes": 45, "questions": questions_json()})
}

/// Creates an assessment through the API and returns it.
async fn create(app: &TestApp, api_key: &str, name: &str) -> Value {
    let (status, body) = app.api(api_key).post("/assessments", new_assessment(name)).await;
    assert_eq!(status, 201, "{body}");
    body
}

async fn stored_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM assessments").fetch_one(&app.db).await.unwrap()
}

/// The stored row, as the API would show it, read straight from the database.
async fn stored(app: &TestApp, id: &str) -> Value {
    sqlx::query_scalar(
        "SELECT jsonb_build_object('name', name, 'code', code, 'pass_mark', pass_mark,
                'time_limit_minutes', time_limit_minutes, 'expires_after_days', expires_after_days,
                'active', active, 'instructions', instructions, 'questions', questions)
         FROM assessments WHERE id = $1::uuid",
    )
    .bind(id)
    .fetch_one(&app.db)
    .await
    .unwrap()
}

fn is_code(code: &str) -> bool {
    code.strip_prefix("FC-").is_some_and(|digits| digits.len() == 5 && digits.bytes().all(|b| b.is_ascii_digit()))
}
