//! Connecting a test organization to the fake Lever through the real OAuth flow, and
//! sending it signed webhook deliveries.

use serde_json::{Value, json};

use super::{TestApp, browser::Browser, fake_lever::NewOpportunity, org::TestOrg};

pub const ADMIN_USER: &str = "u-admin";
pub const RECRUITER: &str = "u-recruiter";
pub const ASSESS_STAGE: &str = "st-assess";
pub const SCREEN_STAGE: &str = "st-screen";
pub const STAGE_TOKEN: &str = "stage-change-signature-token-0123456789abcdefghijkl";
pub const APP_TOKEN: &str = "application-created-signature-token-0123456789abcdef";
pub const HIRED_TOKEN: &str = "candidate-hired-signature-token-0123456789abcdefghij";
pub const ARCHIVE_TOKEN: &str = "archive-change-signature-token-0123456789abcdefghij";
pub const DELETED_TOKEN: &str = "candidate-deleted-signature-token-0123456789abcdefgh";

impl TestApp {
    /// A Lever account with a trigger stage ("Fulcrum Assessment"), a phone screen, a
    /// Super Admin who approves Fulcrum and a recruiter.
    pub fn seed_account(&self, account: &str) {
        self.lever.add_account(account);
        self.lever.add_stage(account, SCREEN_STAGE, "Phone Screen");
        self.lever.add_stage(account, ASSESS_STAGE, "Fulcrum Assessment");
        self.lever.add_user(account, ADMIN_USER, "Sam Admin", "sam@lever.test", "super admin");
        self.lever.add_user(account, RECRUITER, "Rita Recruiter", "rita@lever.test", "team member");
        self.lever.set_approver(account, ADMIN_USER);
    }

    /// Runs Connect → Lever approves → callback, as the org's admin; returns the admin's browser.
    pub async fn connect_lever(&self, org: &TestOrg, account: &str) -> Browser {
        self.seed_account(account);
        let admin = self.signed_in(&org.admin_email).await;
        let page = self.approve_in_lever(&admin, account).await;
        assert_eq!(page.status, 200, "connecting failed: {}", page.body);
        admin
    }

    /// Follows the OAuth round trip in `browser` and returns the callback's page.
    pub async fn approve_in_lever(&self, browser: &Browser, account: &str) -> super::browser::Page {
        self.lever.set_approver(account, ADMIN_USER);
        let connect = browser.get("/integrations/lever/connect").await;
        assert_eq!(connect.status, 303, "{}", connect.body);
        let authorize = connect.location.expect("Connect redirects to Lever");
        // Lever's side: it answers the authorize request with a redirect back to Fulcrum.
        let lever = self.http().get(&authorize).send().await.unwrap();
        assert_eq!(lever.status(), 302, "{}", lever.text().await.unwrap());
        let callback = lever.headers()["location"].to_str().unwrap().to_string();
        browser.get(&callback).await
    }

    /// Connects Lever and configures the signature token of each of the five events.
    pub async fn connected_org(&self, name: &str, account: &str) -> TestOrg {
        let org = self.create_org(name).await;
        self.connect_lever(&org, account).await;
        let (status, body) = self
            .api(&org.api_key)
            .send(
                reqwest::Method::PUT,
                "/integrations/lever",
                json!({"signature_tokens": {
                    "applicationCreated": APP_TOKEN,
                    "candidateStageChange": STAGE_TOKEN,
                    "candidateHired": HIRED_TOKEN,
                    "candidateArchiveChange": ARCHIVE_TOKEN,
                    "candidateDeleted": DELETED_TOKEN,
                }}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        org
    }

    pub async fn webhook_url(&self, org: &TestOrg) -> String {
        let key: String = sqlx::query_scalar("SELECT webhook_key FROM organizations WHERE id = $1")
            .bind(org.id)
            .fetch_one(&self.db)
            .await
            .unwrap();
        format!("{}/webhooks/lever/{key}", self.url)
    }

    pub async fn deliver(&self, org: &TestOrg, body: &Value) -> reqwest::Response {
        let url = self.webhook_url(org).await;
        super::fake_lever::post_delivery(&self.http(), &url, body).await.unwrap()
    }

    /// Puts a candidate in Lever (in the phone screen) and returns the opportunity id.
    pub fn add_candidate(&self, account: &str, id: &str, email: &str, posting: Option<&str>, tags: &[&str]) -> String {
        let mut new =
            NewOpportunity::new(id).name("Ada Lovelace").emails([email]).stage(SCREEN_STAGE).tags(tags.iter());
        if let Some(posting) = posting {
            new = new.posting(posting);
        }
        self.lever.add_opportunity(account, new.owner(RECRUITER))
    }

    /// Moves the candidate into `stage` in Lever (as the recruiter) and delivers the webhook.
    pub async fn move_candidate(
        &self,
        org: &TestOrg,
        account: &str,
        opportunity: &str,
        stage: &str,
    ) -> reqwest::Response {
        self.lever.move_to_stage(account, opportunity, stage, RECRUITER);
        let body = self.lever.stage_change_delivery(account, opportunity, SCREEN_STAGE, stage, Some(STAGE_TOKEN));
        self.deliver(org, &body).await
    }
}
