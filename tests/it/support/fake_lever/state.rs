//! Everything the fake remembers, behind one std mutex that no handler holds across an await.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rand::distr::{Alphanumeric, SampleString};
use serde_json::Value;

use super::faults::{Faults, TokenBucket};
use super::model::{BUILT_IN_STAGES, Opportunity, Posting, Stage, StageChange, Template, User};

pub(super) type Shared = Arc<Mutex<State>>;

/// A poisoned lock only means some test panicked; the data is still good for the others.
pub(super) fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(super) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

pub(super) fn random_alnum(len: usize) -> String {
    Alphanumeric.sample_string(&mut rand::rng(), len)
}

pub(super) fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// One API request as it reached the fake (OAuth endpoints are not recorded).
#[derive(Clone, Debug)]
pub struct RecordedCall {
    pub account_id: Option<String>,
    pub method: String,
    pub path: String,
    pub query: String,
    pub body: Option<Value>,
    pub status: u16,
    /// Arrival time, before any injected latency.
    pub at: Instant,
    pub perform_as: Option<String>,
}

pub(super) struct AuthCode {
    pub account_id: String,
    pub user_id: String,
    pub scopes: Vec<String>,
    pub redirect_uri: String,
    pub expires_at: Instant,
    /// Kept after use so a replayed code can still be told apart by account.
    pub used: bool,
}

#[derive(Clone)]
pub(super) struct AccessGrant {
    pub account_id: String,
    pub user_id: String,
    pub scopes: Vec<String>,
    pub expires_at: Instant,
    pub revoked: bool,
}

#[derive(Clone)]
pub(super) struct RefreshGrant {
    pub account_id: String,
    pub user_id: String,
    pub scopes: Vec<String>,
    /// False once rotated away or revoked; kept so refusals can be told apart by account.
    pub usable: bool,
}

pub(super) struct OAuthConfig {
    pub redirect_uri: Option<String>,
    pub access_ttl: Duration,
    pub approver: Option<(String, String)>,
    pub deny_next: bool,
    pub granted_scopes: HashMap<String, Vec<String>>,
}

pub(super) struct Account {
    pub stages: Vec<Stage>,
    pub users: Vec<User>,
    pub postings: Vec<Posting>,
    pub opportunities: Vec<Opportunity>,
    /// Application objects by id, already in Lever's shape.
    pub applications: HashMap<String, Value>,
    pub notes: HashMap<String, Vec<Value>>,
    pub feedback: HashMap<String, Vec<Value>>,
    pub templates: Vec<Template>,
    pub webhooks: Vec<Value>,
    /// Files uploaded to each opportunity, bytes and all.
    pub files: HashMap<String, Vec<StoredFile>>,
    /// `{id, text, type}`; `type` is `hired` or `non-hired`.
    pub archive_reasons: Vec<Value>,
    /// Deleted opportunities as `GET /opportunities/deleted` lists them.
    pub deleted: Vec<Value>,
    pub bucket: TokenBucket,
}

/// One uploaded file.
#[derive(Clone)]
pub struct StoredFile {
    pub id: String,
    pub name: String,
    pub bytes: Vec<u8>,
    pub uploaded_at: i64,
    pub uploaded_by: String,
}

impl Account {
    pub fn new() -> Self {
        Self {
            stages: BUILT_IN_STAGES
                .iter()
                .map(|(id, text)| Stage { id: (*id).to_owned(), text: (*text).to_owned() })
                .collect(),
            users: Vec::new(),
            postings: Vec::new(),
            opportunities: Vec::new(),
            applications: HashMap::new(),
            notes: HashMap::new(),
            feedback: HashMap::new(),
            templates: Vec::new(),
            webhooks: Vec::new(),
            files: HashMap::new(),
            archive_reasons: super::model::default_archive_reasons(),
            deleted: Vec::new(),
            bucket: TokenBucket::full(),
        }
    }

    pub fn opportunity_mut(&mut self, id: &str) -> Option<&mut Opportunity> {
        self.opportunities.iter_mut().find(|o| o.id == id)
    }

    pub fn opportunity(&self, id: &str) -> Option<&Opportunity> {
        self.opportunities.iter().find(|o| o.id == id)
    }

    pub fn stage_index(&self, id: &str) -> Option<usize> {
        self.stages.iter().position(|s| s.id == id)
    }

    /// Lever's opportunity object; `expand` swaps application ids for application objects.
    pub fn opportunity_json(&self, id: &str, expand: bool) -> Option<Value> {
        let opp = self.opportunity(id)?;
        let mut v = serde_json::to_value(opp).expect("opportunity serialises");
        if expand {
            let apps = opp.applications.iter();
            v["applications"] = apps.filter_map(|a| self.applications.get(a).cloned()).collect();
        }
        Some(v)
    }

    /// Moves the opportunity and records who did it, as Lever's `stageChanges` does.
    pub fn move_to_stage(&mut self, opportunity_id: &str, stage_id: &str, user_id: Option<String>) {
        let index = self.stage_index(stage_id).unwrap_or_else(|| panic!("fake lever: unknown stage {stage_id:?}"));
        let opp = self
            .opportunity_mut(opportunity_id)
            .unwrap_or_else(|| panic!("fake lever: unknown opportunity {opportunity_id:?}"));
        let now = now_ms();
        opp.stage = stage_id.to_owned();
        opp.stage_changes.push(StageChange {
            to_stage_id: stage_id.to_owned(),
            to_stage_index: index,
            user_id,
            updated_at: now,
        });
        opp.updated_at = now;
        opp.last_advanced_at = now;
    }

    pub fn active_user(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.id == id && u.deactivated_at.is_none())
    }
}

pub(super) struct State {
    pub oauth: OAuthConfig,
    pub codes: HashMap<String, AuthCode>,
    pub access: HashMap<String, AccessGrant>,
    pub refresh: HashMap<String, RefreshGrant>,
    pub authorize_requests: Vec<HashMap<String, String>>,
    pub refreshes: HashMap<String, usize>,
    /// The account of every refresh or code answered `invalid_grant`, when known.
    pub invalid_grants: Vec<Option<String>>,
    pub accounts: HashMap<String, Account>,
    pub faults: Faults,
    pub calls: Vec<RecordedCall>,
    pub webhooks_https_only: bool,
    /// When set, `/v1/...` answers 307 to this base + `/eu/v1/...` (Lever routes EU
    /// accounts by redirecting).
    pub api_redirect: Option<String>,
}

impl State {
    pub fn new() -> Self {
        Self {
            oauth: OAuthConfig {
                redirect_uri: None,
                access_ttl: Duration::from_secs(3600),
                approver: None,
                deny_next: false,
                granted_scopes: HashMap::new(),
            },
            codes: HashMap::new(),
            access: HashMap::new(),
            refresh: HashMap::new(),
            authorize_requests: Vec::new(),
            refreshes: HashMap::new(),
            invalid_grants: Vec::new(),
            accounts: HashMap::new(),
            faults: Faults::default(),
            calls: Vec::new(),
            webhooks_https_only: false,
            api_redirect: None,
        }
    }

    pub fn kill_refresh_tokens(&mut self, account_id: &str) {
        for grant in self.refresh.values_mut().filter(|g| g.account_id == account_id) {
            grant.usable = false;
        }
    }

    /// Seeding helpers panic on a missing account: that is a bug in the test, not in Fulcrum.
    pub fn account_mut(&mut self, id: &str) -> &mut Account {
        self.accounts
            .get_mut(id)
            .unwrap_or_else(|| panic!("fake lever: unknown account {id:?}; call add_account first"))
    }

    pub fn account(&self, id: &str) -> &Account {
        self.accounts.get(id).unwrap_or_else(|| panic!("fake lever: unknown account {id:?}; call add_account first"))
    }
}
