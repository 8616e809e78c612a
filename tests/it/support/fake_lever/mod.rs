//! A fake Lever for Fulcrum's tests: Lever's OAuth server under `/auth` and its REST API under
//! `/v1` on one local port, with Lever's JSON shapes, rotating refresh tokens, scopes, the
//! per-account rate limit and injectable faults. See `shared/lever-api.md` for the real thing.
//!
//! ```ignore
//! let lever = FakeLever::start().await;
//! lever.add_account("acct-1");
//! lever.add_user("acct-1", "u-admin", "Sam Admin", "sam@acme.test", "super admin");
//! lever.set_approver("acct-1", "u-admin");
//! lever.set_redirect_uri("http://127.0.0.1:8080/integrations/lever/callback");
//! // point LEVER_AUTH_URL at lever.auth_url() and LEVER_API_URL at lever.api_url()
//! ```

mod api;
#[allow(dead_code)]
mod deliveries;
mod faults;
mod gate;
#[allow(dead_code)]
mod model;
mod oauth;
#[allow(dead_code)]
mod seed;
#[allow(dead_code)]
mod state;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;

#[allow(unused_imports)]
pub use deliveries::{delivery, post_delivery, sign};
#[allow(unused_imports)]
pub use model::{Consent, DataProtection, NewOpportunity, NewPosting, SCORE_SYSTEM_VALUES};
#[allow(unused_imports)]
pub use oauth::jwt_claims;
pub use state::RecordedCall;

use faults::FaultPlan;
use state::{Shared, State, lock};

/// The one OAuth app the fake knows.
pub const CLIENT_ID: &str = "fake-lever-client-id";
pub const CLIENT_SECRET: &str = "fake-lever-client-secret";
const AUDIENCE: &str = "https://api.lever.co/v1/";

/// Handle to a running fake; clones share the same server and state.
#[derive(Clone)]
pub struct FakeLever {
    addr: SocketAddr,
    state: Shared,
}

#[allow(dead_code)]
impl FakeLever {
    /// Serves on 127.0.0.1 with a free port until the test's runtime shuts down.
    pub async fn start() -> Self {
        let state: Shared = Arc::new(Mutex::new(State::new()));
        let regional =
            api::router(state.clone()).layer(axum::middleware::from_fn_with_state(state.clone(), route_region));
        let app = Router::new()
            .nest("/auth", oauth::router(state.clone()))
            .nest("/v1", regional)
            .nest("/eu/v1", api::router(state.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind fake lever");
        let addr = listener.local_addr().expect("fake lever address");
        tokio::spawn(async move { axum::serve(listener, app).await.expect("fake lever serves") });
        Self { addr, state }
    }

    /// Sends every API request to `{base}/eu/v1/...` with a 307, as Lever does for EU
    /// accounts; `None` stops it.
    pub fn redirect_api_to(&self, base: Option<&str>) {
        lock(&self.state).api_redirect = base.map(str::to_string);
    }

    /// For `LEVER_AUTH_URL`: `/authorize` and `/oauth/token` are under it.
    pub fn auth_url(&self) -> String {
        format!("http://{}/auth", self.addr)
    }

    /// For `LEVER_API_URL`.
    pub fn api_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// For `LEVER_AUDIENCE`: the only audience authorize accepts.
    pub fn audience() -> &'static str {
        AUDIENCE
    }

    // --- OAuth -------------------------------------------------------------------------------

    /// Registers the one redirect URI authorize and the code exchange accept.
    pub fn set_redirect_uri(&self, uri: &str) {
        lock(&self.state).oauth.redirect_uri = Some(uri.to_owned());
    }

    /// Who "clicks Accept" on authorize: the account connected and the approving user.
    /// Creates the account if needed.
    pub fn set_approver(&self, account_id: &str, user_id: &str) {
        self.add_account(account_id);
        lock(&self.state).oauth.approver = Some((account_id.to_owned(), user_id.to_owned()));
    }

    /// The next authorize answers `error=access_denied` as if the user clicked Deny.
    pub fn deny_next_authorization(&self) {
        lock(&self.state).oauth.deny_next = true;
    }

    /// Grant these scopes instead of the requested ones (`None`: grant what is asked).
    pub fn set_granted_scopes(&self, account_id: &str, scopes: Option<Vec<String>>) {
        let overrides = &mut lock(&self.state).oauth.granted_scopes;
        match scopes {
            Some(scopes) => overrides.insert(account_id.to_owned(), scopes),
            None => overrides.remove(account_id),
        };
    }

    /// Lifetime of access tokens issued from now on (Lever: one hour).
    pub fn set_access_token_ttl(&self, ttl: Duration) {
        lock(&self.state).oauth.access_ttl = ttl;
    }

    /// As when a Super Admin clicks Revoke: API calls answer 401, refreshes `invalid_grant`.
    pub fn revoke(&self, account_id: &str) {
        let mut state = lock(&self.state);
        for grant in state.access.values_mut().filter(|g| g.account_id == account_id) {
            grant.revoked = true;
        }
        self.expire_refresh_tokens_locked(&mut state, account_id);
    }

    /// As when refresh tokens pass Lever's one-year or 90-days-unused limit; access tokens
    /// already issued keep working until they expire.
    pub fn expire_refresh_tokens(&self, account_id: &str) {
        self.expire_refresh_tokens_locked(&mut lock(&self.state), account_id);
    }

    fn expire_refresh_tokens_locked(&self, state: &mut State, account_id: &str) {
        for grant in state.refresh.values_mut().filter(|g| g.account_id == account_id) {
            grant.usable = false;
        }
    }

    pub fn authorize_requests(&self) -> Vec<HashMap<String, String>> {
        lock(&self.state).authorize_requests.clone()
    }

    /// Successful `grant_type=refresh_token` exchanges for the account.
    pub fn refresh_count(&self, account_id: &str) -> usize {
        lock(&self.state).refreshes.get(account_id).copied().unwrap_or(0)
    }

    /// Token requests answered `invalid_grant`, for any account.
    pub fn invalid_grant_count(&self) -> usize {
        lock(&self.state).invalid_grants.len()
    }

    /// Token requests answered `invalid_grant` whose code or refresh token was the account's.
    pub fn invalid_grant_count_for(&self, account_id: &str) -> usize {
        let state = lock(&self.state);
        let of_account = |a: &&Option<String>| a.as_deref() == Some(account_id);
        state.invalid_grants.iter().filter(of_account).count()
    }

    // --- Faults --------------------------------------------------------------------------------

    /// Makes the probabilistic faults reproducible.
    pub fn set_seed(&self, seed: u64) {
        lock(&self.state).faults.seed(seed);
    }

    /// Every API request fails unapplied with `status` (500, 502, 503) with this probability.
    pub fn set_error_rate(&self, status: u16, probability: f64) {
        assert!((500..600).contains(&status), "injected errors are 5xx");
        lock(&self.state).faults.global.error = Some((status, probability));
    }

    /// As [`Self::set_error_rate`], for one account only (overrides the global rate).
    pub fn set_account_error_rate(&self, account_id: &str, status: u16, probability: f64) {
        assert!((500..600).contains(&status), "injected errors are 5xx");
        self.account_plan(account_id, |plan| plan.error = Some((status, probability)));
    }

    /// Successful writes are applied, then answered only after `delay`, with this probability:
    /// a client with a shorter timeout sees a timeout although the write happened.
    pub fn set_slow_then_applied(&self, probability: f64, delay: Duration) {
        lock(&self.state).faults.global.slow = Some((probability, delay));
    }

    /// Successful writes are applied, then answered with `status` instead, with this
    /// probability: the client cannot tell from the answer that the write happened.
    pub fn set_applied_then_error(&self, status: u16, probability: f64) {
        lock(&self.state).faults.global.lost_answer = Some((status, probability));
    }

    pub fn set_account_slow_then_applied(&self, account_id: &str, probability: f64, delay: Duration) {
        self.account_plan(account_id, |plan| plan.slow = Some((probability, delay)));
    }

    fn account_plan(&self, account_id: &str, f: impl FnOnce(&mut FaultPlan)) {
        let mut state = lock(&self.state);
        f(state.faults.per_account.entry(account_id.to_owned()).or_default());
    }

    /// The account's next `n` admitted API requests fail unapplied with `status`.
    pub fn fail_next(&self, account_id: &str, n: usize, status: u16) {
        let mut state = lock(&self.state);
        let queue = state.faults.fail_next.entry(account_id.to_owned()).or_default();
        queue.extend(std::iter::repeat_n(status, n));
    }

    /// Added to every API answer.
    pub fn set_latency(&self, latency: Duration) {
        lock(&self.state).faults.latency = latency;
    }

    /// Adds `Retry-After: seconds` to 429 answers (Lever documents none).
    pub fn set_retry_after(&self, seconds: Option<u64>) {
        lock(&self.state).faults.retry_after = seconds;
    }

    /// While set, the token endpoint answers this status (`server_error`) to everything.
    pub fn set_token_endpoint_error(&self, status: Option<u16>) {
        lock(&self.state).faults.token_endpoint_error = status;
    }

    /// Refuse http webhook URLs, as real Lever does (off by default so local tests work).
    pub fn set_webhooks_https_only(&self, https_only: bool) {
        lock(&self.state).webhooks_https_only = https_only;
    }

    // --- Recording -----------------------------------------------------------------------------

    pub fn calls(&self) -> Vec<RecordedCall> {
        lock(&self.state).calls.clone()
    }

    pub fn calls_for(&self, account_id: &str) -> Vec<RecordedCall> {
        let state = lock(&self.state);
        let of_account = |c: &&RecordedCall| c.account_id.as_deref() == Some(account_id);
        state.calls.iter().filter(of_account).cloned().collect()
    }

    /// Most API requests of the account that arrived within any `window` (429s and 5xx count).
    pub fn max_requests_in_window(&self, account_id: &str, window: Duration) -> usize {
        let arrivals: Vec<Instant> = self.calls_for(account_id).iter().map(|c| c.at).collect();
        faults::max_in_window(arrivals, window)
    }
}

async fn route_region(
    axum::extract::State(state): axum::extract::State<Shared>,
    uri: axum::extract::OriginalUri,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let target = lock(&state).api_redirect.clone();
    match target {
        Some(base) => {
            let rest = uri.0.path_and_query().map(|p| p.as_str()).unwrap_or("/");
            let location = format!("{base}/eu{rest}");
            (axum::http::StatusCode::TEMPORARY_REDIRECT, [(axum::http::header::LOCATION, location)]).into_response()
        }
        None => next.run(request).await,
    }
}
