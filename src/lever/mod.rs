//! Everything that talks to Lever: OAuth and the token lifecycle (`oauth`, `connection`),
//! the API client (`client`) with its per-account rate limit (`ratelimit`), Lever's JSON
//! shapes (`types`), and webhook signature verification (`webhook`).

pub mod cache;
pub mod client;
pub mod connection;
mod endpoints;
pub mod feedback;
pub mod listing;
pub mod oauth;
pub mod ratelimit;
pub mod settings;
pub mod status_tags;
pub mod types;
pub mod webhook;
pub mod writes;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

pub use client::Api;

use crate::{
    config::{LeverSettings, Settings},
    crypto::Cipher,
    metrics::Metrics,
};

/// The scopes Fulcrum asks for (product.md, "Connecting Lever").
pub const SCOPES: &[&str] = &[
    "offline_access",
    "opportunities:read:admin",
    "opportunities:write:admin",
    "notes:read:admin",
    "notes:write:admin",
    "stages:read:admin",
    "tags:read:admin",
    "postings:read:admin",
    "users:read:admin",
    "feedback:read:admin",
    "feedback:write:admin",
    "feedback_templates:read:admin",
    "feedback_templates:write:admin",
    "webhooks:read:admin",
    "webhooks:write:admin",
    "files:write:admin",
    "archive_reasons:read:admin",
    "confidential:access:admin",
];

/// The scope that attaches report PDFs to opportunities. Lever lists it as optional for
/// assessment partners, and accounts connected before Fulcrum asked for it lack it.
pub const FILES_SCOPE: &str = "files:write:admin";

/// The Lever service, one per process, shared by every Lever call: the HTTP client,
/// settings, the database it keeps connections, budgets and caches in, the key its tokens
/// are sealed with, and access tokens already decrypted (so a call needs no database read
/// for its token). It reports what happened; callers decide what follows.
pub struct Lever {
    pub(crate) http: reqwest::Client,
    pub(crate) settings: LeverSettings,
    pub(crate) redirect_uri: String,
    /// `FULCRUM_PUBLIC_URL`, for the webhook URL Fulcrum registers.
    pub(crate) public_url: String,
    /// `FULCRUM_BRAND`, for the feedback template's name.
    pub(crate) brand: String,
    pub(crate) db: PgPool,
    pub(crate) cipher: Cipher,
    pub(crate) metrics: Arc<Metrics>,
    /// Each organization's webhook key and signature tokens, for the webhook endpoint.
    pub webhook_cache: webhook::OrgCache,
    tokens: Mutex<HashMap<Uuid, CachedToken>>,
}

#[derive(Clone)]
pub struct CachedToken {
    pub account_id: String,
    pub access_token: String,
    pub refresh_after: DateTime<Utc>,
    /// The stored token's expiry when this one was read: if the row no longer says the
    /// same, another process refreshed or disconnected, and the cache is out of date.
    pub expires_at: DateTime<Utc>,
}

impl Lever {
    pub fn new(settings: &Settings, db: PgPool, cipher: Cipher, metrics: Arc<Metrics>) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("Fulcrum/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_millis(settings.lever.request_timeout_ms))
            // Lever routes EU accounts by redirecting; the API client follows those itself,
            // keeping the token (see client.rs), and nothing else should follow any.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            http,
            settings: settings.lever.clone(),
            redirect_uri: format!("{}/integrations/lever/callback", settings.public_url()),
            public_url: settings.public_url().to_string(),
            brand: settings.brand.clone(),
            db,
            cipher,
            metrics,
            webhook_cache: webhook::OrgCache::default(),
            tokens: Mutex::default(),
        })
    }

    pub(crate) fn cached_token(&self, org_id: Uuid, now: DateTime<Utc>) -> Option<CachedToken> {
        let tokens = self.tokens.lock().expect("token cache poisoned");
        tokens.get(&org_id).filter(|t| t.refresh_after > now).cloned()
    }

    pub(crate) fn cache_token(&self, org_id: Uuid, token: CachedToken) {
        self.tokens.lock().expect("token cache poisoned").insert(org_id, token);
    }

    pub fn forget_token(&self, org_id: Uuid) {
        self.tokens.lock().expect("token cache poisoned").remove(&org_id);
    }
}

/// What can go wrong talking to Lever, sorted by what a caller should do about it.
#[derive(Debug, thiserror::Error)]
pub enum LeverError {
    /// No connection, or it was found revoked before: an admin must (re)connect.
    #[error("Lever needs reconnecting: {0}")]
    NeedsReconnect(String),
    /// This very call found access revoked (Lever refused the refresh token) and marked the
    /// connection `needs_reconnect`. Reported once per revocation, so that the caller can
    /// park the organization's work and tell its admins.
    #[error("Lever access was revoked: {0}")]
    Revoked(String),
    /// Lever kept answering 429; the account's budget is pushed back.
    #[error("Lever's rate limit was reached")]
    RateLimited(Duration),
    /// 5xx, timeouts, connection errors on a request that certainly did not apply.
    #[error("Lever is unavailable: {0}")]
    Unavailable(String),
    /// A write whose outcome is unknown (timeout, 500 after sending): it may have applied.
    /// Read back before writing again.
    #[error("Lever did not confirm the write: {0}")]
    Uncertain(String),
    /// 403: a scope or permission is missing in Lever.
    #[error("Lever refused for lack of permission: {0}")]
    Forbidden(String),
    #[error("not found in Lever: {0}")]
    NotFound(String),
    /// Any other 4xx: retrying the same request will not help.
    #[error("Lever rejected the request ({status}): {message}")]
    Rejected { status: u16, message: String },
    /// A 2xx whose body we could not understand.
    #[error("unexpected answer from Lever: {0}")]
    Malformed(String),
}

impl LeverError {
    /// Fulcrum's own bookkeeping for a Lever call failed: the call may work later.
    pub fn database(e: sqlx::Error) -> Self {
        Self::Unavailable(format!("database: {e}"))
    }

    /// Whether the same request might succeed later.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::RateLimited(_) | Self::Unavailable(_) | Self::Uncertain(_) | Self::Malformed(_))
    }
}

/// The candidate's page in Lever's own app: `api.*` hosts serve the API and `hire.*` the
/// app (`api.lever.co` → `hire.lever.co`, likewise for the sandbox and the EU).
pub fn candidate_url(api_url: &str, opportunity_id: &str) -> Option<String> {
    let mut url = reqwest::Url::parse(api_url).ok()?;
    let host = url.host_str()?.strip_prefix("api.")?.to_string();
    if !webhook::is_lever_id(opportunity_id) {
        return None;
    }
    url.set_host(Some(&format!("hire.{host}"))).ok()?;
    url.set_path(&format!("/candidates/{opportunity_id}"));
    Some(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::candidate_url;

    #[test]
    fn candidates_link_to_levers_app_beside_its_api() {
        let production = candidate_url("https://api.lever.co/v1", "a-1");
        assert_eq!(production.as_deref(), Some("https://hire.lever.co/candidates/a-1"));
        let sandbox = candidate_url("https://api.sandbox.lever.co/v1", "a-1");
        assert_eq!(sandbox.as_deref(), Some("https://hire.sandbox.lever.co/candidates/a-1"));
        assert_eq!(candidate_url("http://127.0.0.1:9/v1", "a-1"), None, "no app beside an unknown host");
        assert_eq!(candidate_url("https://api.lever.co/v1", "../x"), None);
    }
}
