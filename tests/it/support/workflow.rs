//! Assessments and candidates for the workflow tests.

use serde_json::json;
use uuid::Uuid;

use super::{TestApp, fake_lever::NewPosting, org::TestOrg, smtp::ReceivedMail};

/// The posting `assessment_ready` puts in Lever, tagged for "Backend Engineer".
pub const POSTING: &str = "post-1";

impl TestApp {
    /// A "Backend Engineer" assessment (FC-10001, pass mark 60) and a Lever posting
    /// tagged for it, owned by the recruiter.
    pub async fn assessment_ready(&self, org: &TestOrg, account: &str) {
        self.assessment_ready_coded(org, account, "FC-10001").await;
    }

    /// [`Self::assessment_ready`] with another code: codes are unique across organizations.
    pub async fn assessment_ready_coded(&self, org: &TestOrg, account: &str, code: &str) {
        self.create_assessment(org, "Backend Engineer", code, 60).await;
        let posting = NewPosting::new(POSTING, "Backend Engineer")
            .tags(["Fulcrum Backend Engineer", "Remote"])
            .owner(super::lever::RECRUITER);
        self.lever.add_posting(account, posting);
    }

    /// A three-question assessment (right answers: 1, 0, 2).
    pub async fn create_assessment(&self, org: &TestOrg, name: &str, code: &str, pass_mark: i32) -> Uuid {
        let questions = json!([
            {"prompt": "2 + 2 = ?", "choices": ["3", "4", "5"], "answer": 1},
            {"prompt": "Which is a prime?", "choices": ["7", "8", "9"], "answer": 0},
            {"prompt": "HTTP status for Not Found?", "choices": ["200", "500", "404"], "answer": 2}
        ]);
        sqlx::query_scalar(
            "INSERT INTO assessments (org_id, name, code, pass_mark, time_limit_minutes, instructions, questions)
             VALUES ($1, $2, $3, $4, 30, 'Answer all three.', $5) RETURNING id",
        )
        .bind(org.id)
        .bind(name)
        .bind(code)
        .bind(pass_mark)
        .bind(questions)
        .fetch_one(&self.db)
        .await
        .unwrap()
    }

    /// Every job that ran for the test has finished (nothing queued, running or failed).
    pub async fn jobs_settled(&self) -> bool {
        // Due by the app's clock, which tests move forward.
        let busy: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM jobs WHERE state = 'running' OR (state = 'queued' AND run_at <= $1)",
        )
        .bind(self.clock().now() + chrono::Duration::seconds(1))
        .fetch_one(&self.db)
        .await
        .unwrap();
        busy == 0
    }

    pub async fn failed_jobs(&self) -> Vec<(String, String)> {
        sqlx::query_as("SELECT kind, coalesce(last_error, '') FROM jobs WHERE state = 'failed'")
            .fetch_all(&self.db)
            .await
            .unwrap()
    }

    /// Waits until the job queue is idle, then fails the test if any job failed.
    pub async fn settle(&self) {
        super::eventually("the job queue to settle", std::time::Duration::from_secs(20), || self.jobs_settled()).await;
        let failed = self.failed_jobs().await;
        assert!(failed.is_empty(), "jobs failed: {failed:?}");
    }
}

/// The candidate link in an invite email.
pub fn link_in(mail: &ReceivedMail) -> String {
    let text = mail.text.as_deref().expect("a text part");
    let start = text.find("/a/").expect("a candidate link");
    let from = text[..start].rfind("http").expect("an absolute link");
    text[from..].split_whitespace().next().unwrap().to_string()
}
