//! Organizations and people for tests, made the way `fulcrum org create` makes them.

use fulcrum::{
    domain::email::EmailAddress,
    orgs::{self, NewUser, Verification},
};
use reqwest::Method;
use uuid::Uuid;

use super::{TestApp, browser::Browser};

pub const PASSWORD: &str = "correct horse battery";

/// The hash of [`PASSWORD`], made once per test run: every test's people share it, which
/// keeps Argon2's time and memory out of their set-up.
pub fn password_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| orgs::hash_password_blocking(PASSWORD))
}

pub struct TestOrg {
    pub id: Uuid,
    pub admin_id: Uuid,
    pub admin_email: String,
    pub api_key: String,
}

impl TestApp {
    pub async fn create_org(&self, name: &str) -> TestOrg {
        let email = format!("admin-{}@{}.test", Uuid::new_v4().simple(), name.to_lowercase().replace(' ', "-"));
        let hash = password_hash();
        let mut tx = self.db.begin().await.unwrap();
        let address = EmailAddress::parse(&email).unwrap();
        let created = orgs::create_org(&mut tx, name, &address, hash, Verification::Verified).await.unwrap();
        tx.commit().await.unwrap();
        TestOrg { id: created.org_id, admin_id: created.admin_user_id, admin_email: email, api_key: created.api_key }
    }

    pub async fn add_member(&self, org: &TestOrg, role: orgs::Role) -> String {
        let email = format!("{}-{}@acme.test", role.as_str(), Uuid::new_v4().simple());
        let hash = password_hash();
        let mut conn = self.db.acquire().await.unwrap();
        let address = EmailAddress::parse(&email).unwrap();
        let user =
            NewUser { email: &address, name: "", password_hash: hash, role, verification: Verification::Verified };
        orgs::create_user(&mut conn, org.id, &user).await.unwrap();
        email
    }

    /// A browser signed in as `email`.
    pub async fn signed_in(&self, email: &str) -> Browser {
        let browser = self.browser();
        // Every test app in this process shares the password-hashing slots, so on a busy
        // machine a sign-in may be told to try again in a moment (503): as a person would.
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
        let mut page = browser.sign_in(email, PASSWORD).await;
        while page.status == 503 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            page = browser.sign_in(email, PASSWORD).await;
        }
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

/// Every answer is checked against `openapi.json` (see `support::openapi`).
impl ApiClient {
    pub async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        self.exchange(self.request(Method::GET, path), Method::GET, path).await
    }

    pub async fn send(&self, method: Method, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        self.exchange(self.request(method.clone(), path).json(&body), method, path).await
    }

    pub async fn post(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        self.send(Method::POST, path, body).await
    }

    /// A request with the key, for a test to shape further (headers, raw bodies) and send
    /// with [`Self::exchange`].
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base)).bearer_auth(&self.key)
    }

    /// Sends `request` (for `method` and `path`, relative to `/api/v1`) and reads the JSON
    /// answer, which must be one `openapi.json` documents.
    pub async fn exchange(
        &self,
        request: reqwest::RequestBuilder,
        method: Method,
        path: &str,
    ) -> (u16, serde_json::Value) {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        let text = response.text().await.unwrap();
        assert!(content_type.starts_with("application/json"), "{method} {path}: {status} as {content_type:?}: {text}");
        let json = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
        super::openapi::check(&method, path, status, &headers, &json);
        (status, json)
    }
}
