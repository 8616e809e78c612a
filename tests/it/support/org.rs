//! Organizations and people for tests, made the way `fulcrum org create` makes them.

use fulcrum::{
    domain::email::EmailAddress,
    orgs::{self, NewUser, Verification},
};
use uuid::Uuid;

use super::{TestApp, browser::Browser};

pub const PASSWORD: &str = "correct horse battery";

pub struct TestOrg {
    pub id: Uuid,
    pub admin_id: Uuid,
    pub admin_email: String,
    pub api_key: String,
}

impl TestApp {
    pub async fn create_org(&self, name: &str) -> TestOrg {
        let email = format!("admin-{}@{}.test", Uuid::new_v4().simple(), name.to_lowercase().replace(' ', "-"));
        let hash = orgs::hash_password(PASSWORD).unwrap();
        let mut tx = self.db.begin().await.unwrap();
        let address = EmailAddress::parse(&email).unwrap();
        let created = orgs::create_org(&mut tx, name, &address, &hash, Verification::Verified).await.unwrap();
        tx.commit().await.unwrap();
        TestOrg { id: created.org_id, admin_id: created.admin_user_id, admin_email: email, api_key: created.api_key }
    }

    pub async fn add_member(&self, org: &TestOrg, role: orgs::Role) -> String {
        let email = format!("{}-{}@acme.test", role.as_str(), Uuid::new_v4().simple());
        let hash = orgs::hash_password(PASSWORD).unwrap();
        let mut conn = self.db.acquire().await.unwrap();
        let address = EmailAddress::parse(&email).unwrap();
        let user =
            NewUser { email: &address, name: "", password_hash: &hash, role, verification: Verification::Verified };
        orgs::create_user(&mut conn, org.id, &user).await.unwrap();
        email
    }

    /// A browser signed in as `email`.
    pub async fn signed_in(&self, email: &str) -> Browser {
        let browser = self.browser();
        let page = browser.sign_in(email, PASSWORD).await;
        assert_eq!(page.status, 303, "sign-in failed: {}", page.body);
        browser
    }

    pub fn api(&self, key: &str) -> ApiClient {
        ApiClient { base: format!("{}/api/v1", self.url), key: key.to_string(), http: self.http() }
    }
}

/// The REST API as a client would use it.
pub struct ApiClient {
    pub base: String,
    pub key: String,
    pub http: reqwest::Client,
}

impl ApiClient {
    pub async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        let response = self.http.get(format!("{}{path}", self.base)).bearer_auth(&self.key).send().await.unwrap();
        Self::read(response).await
    }

    pub async fn send(&self, method: reqwest::Method, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let response = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.key)
            .json(&body)
            .send()
            .await
            .unwrap();
        Self::read(response).await
    }

    pub async fn post(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        self.send(reqwest::Method::POST, path, body).await
    }

    async fn read(response: reqwest::Response) -> (u16, serde_json::Value) {
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
        (status, json)
    }
}
