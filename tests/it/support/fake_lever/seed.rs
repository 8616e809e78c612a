//! How tests put data into the fake and read back what Fulcrum did, without going through HTTP.
//! Unknown accounts or ids panic: that is a mistake in the test.

use serde_json::Value;

use super::FakeLever;
use super::model::{
    self, Archived, Consent, DataProtection, NewOpportunity, NewPosting, Opportunity, Stage, StageChange, Template,
    User,
};
use super::state::{Account, lock, new_id, now_ms};

impl FakeLever {
    /// Creates an account with Lever's built-in stages; does nothing if it exists.
    pub fn add_account(&self, account_id: &str) {
        let mut state = lock(&self.state);
        state.accounts.entry(account_id.to_owned()).or_insert_with(Account::new);
    }

    pub fn add_stage(&self, account_id: &str, stage_id: &str, text: &str) {
        self.with_account(account_id, |acct| {
            acct.stages.push(Stage { id: stage_id.to_owned(), text: text.to_owned() })
        });
    }

    pub fn rename_stage(&self, account_id: &str, stage_id: &str, text: &str) {
        self.with_account(account_id, |acct| {
            let stage = acct.stages.iter_mut().find(|s| s.id == stage_id);
            let stage = stage.unwrap_or_else(|| panic!("fake lever: unknown stage {stage_id:?}"));
            stage.text = text.to_owned();
        });
    }

    /// `access_role` is one of Lever's: `super admin`, `admin`, `team member`,
    /// `limited team member`, `interviewer`.
    pub fn add_user(&self, account_id: &str, user_id: &str, name: &str, email: &str, access_role: &str) {
        let user = User {
            id: user_id.to_owned(),
            name: name.to_owned(),
            username: email.split('@').next().unwrap_or(email).to_owned(),
            email: email.to_owned(),
            access_role: access_role.to_owned(),
            photo: None,
            created_at: now_ms(),
            deactivated_at: None,
        };
        self.with_account(account_id, |acct| acct.users.push(user));
    }

    pub fn deactivate_user(&self, account_id: &str, user_id: &str) {
        self.with_account(account_id, |acct| {
            let user = acct.users.iter_mut().find(|u| u.id == user_id);
            let user = user.unwrap_or_else(|| panic!("fake lever: unknown user {user_id:?}"));
            user.deactivated_at = Some(now_ms());
        });
    }

    pub fn add_posting(&self, account_id: &str, posting: NewPosting) {
        let posting = posting.build(now_ms());
        self.with_account(account_id, |acct| acct.postings.push(posting));
    }

    /// Adds an opportunity (with an application when it has a posting) and returns its id.
    pub fn add_opportunity(&self, account_id: &str, new: NewOpportunity) -> String {
        self.with_account(account_id, |acct| {
            let now = now_ms();
            let index =
                acct.stage_index(&new.stage).unwrap_or_else(|| panic!("fake lever: unknown stage {:?}", new.stage));
            let mut applications = Vec::new();
            if let Some(posting_id) = &new.posting {
                let posting = acct.postings.iter().find(|p| &p.id == posting_id);
                let posting = posting.unwrap_or_else(|| panic!("fake lever: unknown posting {posting_id:?}"));
                let application_id = new_id();
                let application = model::application_json(&application_id, &new, posting, now);
                acct.applications.insert(application_id.clone(), application);
                applications.push(application_id);
            }
            let first_move = StageChange {
                to_stage_id: new.stage.clone(),
                to_stage_index: index,
                user_id: new.moved_by.clone().or_else(|| new.owner.clone()),
                updated_at: now,
            };
            acct.opportunities.push(Opportunity {
                urls: model::opportunity_urls(&new.id),
                contact: new.contact.unwrap_or_else(new_id),
                headline: String::new(),
                location: String::new(),
                phones: Vec::new(),
                links: Vec::new(),
                stage_changes: vec![first_move],
                sources: vec!["Job site".to_owned()],
                applications,
                archived: new.archived_reason.map(|reason| Archived { reason, archived_at: now }),
                confidentiality: "non-confidential".to_owned(),
                is_anonymized: false,
                data_protection: new.data_protection,
                created_at: now,
                updated_at: now,
                last_interaction_at: now,
                last_advanced_at: now,
                id: new.id.clone(),
                name: new.name,
                emails: new.emails,
                stage: new.stage,
                tags: new.tags,
                origin: new.origin,
                owner: new.owner,
                followers: new.followers,
            });
            new.id
        })
    }

    /// Moves an opportunity as a recruiter in Lever would (before the test posts the webhook).
    pub fn move_to_stage(&self, account_id: &str, opportunity_id: &str, stage_id: &str, user_id: &str) {
        self.with_account(account_id, |acct| acct.move_to_stage(opportunity_id, stage_id, Some(user_id.to_owned())));
    }

    /// Archives the opportunity with one of the account's archive reasons, as a recruiter
    /// rejecting (or hiring) the candidate does.
    pub fn archive(&self, account_id: &str, opportunity_id: &str, reason_id: &str) {
        self.with_account(account_id, |acct| {
            let opp = acct.opportunity_mut(opportunity_id).expect("fake lever: unknown opportunity");
            opp.archived = Some(Archived { reason: reason_id.to_owned(), archived_at: now_ms() });
            opp.updated_at = now_ms();
        });
    }

    pub fn unarchive(&self, account_id: &str, opportunity_id: &str) {
        self.with_account(account_id, |acct| {
            let opp = acct.opportunity_mut(opportunity_id).expect("fake lever: unknown opportunity");
            opp.archived = None;
            opp.updated_at = now_ms();
        });
    }

    pub fn set_confidential(&self, account_id: &str, opportunity_id: &str) {
        self.with_account(account_id, |acct| {
            let opp = acct.opportunity_mut(opportunity_id).expect("fake lever: unknown opportunity");
            opp.confidentiality = "confidential".to_owned();
            opp.updated_at = now_ms();
        });
    }

    /// The candidate withdraws (or gives) consent to be contacted, as Lever's data
    /// protection records it.
    pub fn set_contact_allowed(&self, account_id: &str, opportunity_id: &str, allowed: bool) {
        self.with_account(account_id, |acct| {
            let opp = acct.opportunity_mut(opportunity_id).expect("fake lever: unknown opportunity");
            opp.data_protection = Some(DataProtection {
                store: Consent { allowed: true, expires_at: None },
                contact: Consent { allowed, expires_at: None },
            });
            opp.updated_at = now_ms();
        });
    }

    /// Deletes the opportunity: gone from reads, listed by `GET /opportunities/deleted`.
    pub fn delete_opportunity(&self, account_id: &str, opportunity_id: &str, deleted_by: &str) {
        self.with_account(account_id, |acct| {
            acct.opportunities.retain(|o| o.id != opportunity_id);
            acct.notes.remove(opportunity_id);
            acct.feedback.remove(opportunity_id);
            acct.files.remove(opportunity_id);
            let deleted = serde_json::json!({ "id": opportunity_id, "deletedAt": now_ms(), "deletedBy": deleted_by });
            acct.deleted.push(deleted);
        });
    }

    /// Lever's anonymisation: name, contact details and files go, tags, notes and feedback
    /// stay, `isAnonymized` becomes true; no webhook is sent.
    pub fn anonymize(&self, account_id: &str, opportunity_id: &str) {
        self.with_account(account_id, |acct| {
            let opp = acct.opportunity_mut(opportunity_id).expect("fake lever: unknown opportunity");
            opp.name = String::new();
            opp.emails.clear();
            opp.phones.clear();
            opp.links.clear();
            opp.is_anonymized = true;
            opp.updated_at = now_ms();
            acct.files.remove(opportunity_id);
        });
    }

    /// Every request Fulcrum made that wrote to `opportunity_id` (tags, notes, feedback, files).
    pub fn writes_to(&self, account_id: &str, opportunity_id: &str) -> Vec<String> {
        let prefix = format!("/v1/opportunities/{opportunity_id}/");
        self.calls_for(account_id)
            .into_iter()
            .filter(|c| c.method != "GET" && c.path.starts_with(&prefix))
            .map(|c| format!("{} {}", c.method, c.path))
            .collect()
    }

    /// The opportunity as `GET /opportunities/:id` shows it.
    pub fn opportunity(&self, account_id: &str, opportunity_id: &str) -> Value {
        self.read_opportunity(account_id, opportunity_id, false)
    }

    /// The opportunity as `GET /opportunities/:id?expand=applications` shows it.
    pub fn opportunity_expanded(&self, account_id: &str, opportunity_id: &str) -> Value {
        self.read_opportunity(account_id, opportunity_id, true)
    }

    fn read_opportunity(&self, account_id: &str, opportunity_id: &str, expand: bool) -> Value {
        let state = lock(&self.state);
        let opp = state.account(account_id).opportunity_json(opportunity_id, expand);
        opp.unwrap_or_else(|| panic!("fake lever: unknown opportunity {opportunity_id:?}"))
    }

    pub fn tags(&self, account_id: &str, opportunity_id: &str) -> Vec<String> {
        let opp = self.opportunity(account_id, opportunity_id);
        serde_json::from_value(opp["tags"].clone()).expect("tags are strings")
    }

    pub fn notes(&self, account_id: &str, opportunity_id: &str) -> Vec<Value> {
        self.with_account(account_id, |acct| acct.notes.get(opportunity_id).cloned().unwrap_or_default())
    }

    pub fn feedback(&self, account_id: &str, opportunity_id: &str) -> Vec<Value> {
        self.with_account(account_id, |acct| acct.feedback.get(opportunity_id).cloned().unwrap_or_default())
    }

    pub fn feedback_templates(&self, account_id: &str) -> Vec<Value> {
        self.with_account(account_id, |acct| acct.templates.iter().map(Template::to_json).collect())
    }

    /// Files uploaded to the opportunity: (name, bytes, uploaded as).
    pub fn files(&self, account_id: &str, opportunity_id: &str) -> Vec<(String, Vec<u8>, String)> {
        self.with_account(account_id, |acct| {
            let files = acct.files.get(opportunity_id).into_iter().flatten();
            files.map(|f| (f.name.clone(), f.bytes.clone(), f.uploaded_by.clone())).collect()
        })
    }

    /// As when someone deletes webhooks in Lever's settings.
    pub fn delete_webhooks(&self, account_id: &str) {
        self.with_account(account_id, |acct| acct.webhooks.clear());
    }

    pub fn webhooks(&self, account_id: &str) -> Vec<Value> {
        self.with_account(account_id, |acct| acct.webhooks.clone())
    }

    fn with_account<R>(&self, account_id: &str, f: impl FnOnce(&mut Account) -> R) -> R {
        f(lock(&self.state).account_mut(account_id))
    }
}
