//! Lever's objects as the fake stores them, serialised in Lever's JSON shapes, and the builders
//! tests use to seed them.

use serde::Serialize;
use serde_json::{Value, json};

/// The four values Lever's `score-system` field accepts; there is no neutral one.
pub const SCORE_SYSTEM_VALUES: [&str; 4] = ["4 - Strong Hire", "3 - Hire", "2 - No Hire", "1 - Strong No Hire"];

/// Stages every Lever account starts with; custom stages get UUIDs.
pub(super) const BUILT_IN_STAGES: [(&str, &str); 4] = [
    ("lead-new", "New lead"),
    ("lead-reached-out", "Reached out"),
    ("applicant-new", "New applicant"),
    ("offer", "Offer"),
];

/// A new account's archive reasons, as Lever ships them (ids are account-specific UUIDs in
/// Lever; word ids here keep tests readable).
pub(super) fn default_archive_reasons() -> Vec<Value> {
    [
        ("reason-hired", "Hired", "hired"),
        ("reason-underqualified", "Underqualified", "non-hired"),
        ("reason-withdrew", "Withdrew", "non-hired"),
    ]
    .iter()
    .map(|(id, text, kind)| json!({ "id": id, "text": text, "type": kind }))
    .collect()
}

#[derive(Clone, Serialize)]
pub(super) struct Stage {
    pub id: String,
    pub text: String,
}

#[derive(Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct User {
    pub id: String,
    pub name: String,
    pub username: String,
    pub email: String,
    pub access_role: String,
    pub photo: Option<String>,
    pub created_at: i64,
    pub deactivated_at: Option<i64>,
}

#[derive(Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Posting {
    pub id: String,
    pub text: String,
    pub state: String,
    pub tags: Vec<String>,
    pub owner: Option<String>,
    pub hiring_manager: Option<String>,
    pub user: Option<String>,
    pub categories: Value,
    pub confidentiality: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub urls: Value,
}

#[derive(Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct StageChange {
    pub to_stage_id: String,
    pub to_stage_index: usize,
    pub user_id: Option<String>,
    pub updated_at: i64,
}

#[derive(Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Archived {
    pub reason: String,
    pub archived_at: i64,
}

#[derive(Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Opportunity {
    pub id: String,
    pub name: String,
    pub contact: String,
    pub headline: String,
    pub location: String,
    pub emails: Vec<String>,
    pub phones: Vec<Value>,
    pub links: Vec<String>,
    pub stage: String,
    pub stage_changes: Vec<StageChange>,
    pub tags: Vec<String>,
    pub sources: Vec<String>,
    pub origin: String,
    pub owner: Option<String>,
    pub followers: Vec<String>,
    pub applications: Vec<String>,
    pub archived: Option<Archived>,
    pub confidentiality: String,
    pub is_anonymized: bool,
    /// Lever's `dataProtection`: consent to store and to contact, or null.
    pub data_protection: Option<DataProtection>,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_interaction_at: i64,
    pub last_advanced_at: i64,
    pub urls: Value,
}

/// `{"store": {"allowed", "expiresAt"}, "contact": {"allowed", "expiresAt"}}`, as Lever
/// gives it on an opportunity.
#[derive(Clone, Debug, Serialize)]
pub struct DataProtection {
    pub store: Consent,
    pub contact: Consent,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Consent {
    pub allowed: bool,
    /// Milliseconds since the epoch, or null.
    pub expires_at: Option<i64>,
}

#[derive(Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TemplateField {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub text: String,
    pub description: String,
    pub required: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<String>>,
}

impl TemplateField {
    /// Lever writes options as `[{"text": …}]`.
    pub fn to_json(&self) -> Value {
        let mut v = serde_json::to_value(self).expect("field serialises");
        if let Some(options) = &self.options {
            v["options"] = options.iter().map(|o| json!({ "text": o })).collect();
        }
        v
    }
}

#[derive(Clone)]
pub(super) struct Template {
    pub id: String,
    pub text: String,
    pub instructions: String,
    pub fields: Vec<TemplateField>,
    pub created_at: i64,
}

impl Template {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "text": self.text,
            "instructions": self.instructions,
            "group": null,
            "stage": null,
            "createdAt": self.created_at,
            "updatedAt": self.created_at,
            "fields": self.fields.iter().map(TemplateField::to_json).collect::<Vec<_>>(),
        })
    }
}

/// A posting to seed with [`super::FakeLever::add_posting`].
#[derive(Clone, Debug)]
pub struct NewPosting {
    pub id: String,
    pub text: String,
    pub state: String,
    pub tags: Vec<String>,
    pub owner: Option<String>,
    pub hiring_manager: Option<String>,
    pub categories: Value,
}

impl NewPosting {
    pub fn new(id: &str, text: &str) -> Self {
        Self {
            id: id.to_owned(),
            text: text.to_owned(),
            state: "published".to_owned(),
            tags: Vec::new(),
            owner: None,
            hiring_manager: None,
            categories: json!({ "team": null, "department": null, "location": null, "commitment": null, "level": null }),
        }
    }
    pub fn state(mut self, state: &str) -> Self {
        self.state = state.to_owned();
        self
    }
    pub fn tags<S: AsRef<str>>(mut self, tags: impl IntoIterator<Item = S>) -> Self {
        self.tags = tags.into_iter().map(|t| t.as_ref().to_owned()).collect();
        self
    }
    pub fn owner(mut self, user_id: &str) -> Self {
        self.owner = Some(user_id.to_owned());
        self
    }
    pub fn hiring_manager(mut self, user_id: &str) -> Self {
        self.hiring_manager = Some(user_id.to_owned());
        self
    }
    pub fn categories(mut self, categories: Value) -> Self {
        self.categories = categories;
        self
    }

    pub(super) fn build(self, now: i64) -> Posting {
        Posting {
            urls: json!({
                "list": "https://jobs.lever.co/fake",
                "show": format!("https://jobs.lever.co/fake/{}", self.id),
            }),
            id: self.id,
            text: self.text,
            state: self.state,
            tags: self.tags,
            user: self.owner.clone(),
            owner: self.owner,
            hiring_manager: self.hiring_manager,
            categories: self.categories,
            confidentiality: "non-confidential".to_owned(),
            created_at: now,
            updated_at: now,
        }
    }
}

/// An opportunity to seed with [`super::FakeLever::add_opportunity`].
#[derive(Clone, Debug)]
pub struct NewOpportunity {
    pub id: String,
    pub name: String,
    pub contact: Option<String>,
    pub emails: Vec<String>,
    pub tags: Vec<String>,
    pub stage: String,
    pub posting: Option<String>,
    pub owner: Option<String>,
    pub followers: Vec<String>,
    /// Who moved the candidate into `stage` (the first `stageChanges` entry); default `owner`.
    pub moved_by: Option<String>,
    pub origin: String,
    pub archived_reason: Option<String>,
    pub data_protection: Option<DataProtection>,
}

impl NewOpportunity {
    pub fn new(id: &str) -> Self {
        Self {
            id: id.to_owned(),
            name: "Ada Lovelace".to_owned(),
            contact: None,
            emails: vec![format!("{id}@candidates.example")],
            tags: Vec::new(),
            stage: "applicant-new".to_owned(),
            posting: None,
            owner: None,
            followers: Vec::new(),
            moved_by: None,
            origin: "applied".to_owned(),
            archived_reason: None,
            data_protection: None,
        }
    }
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_owned();
        self
    }
    pub fn contact(mut self, contact_id: &str) -> Self {
        self.contact = Some(contact_id.to_owned());
        self
    }
    pub fn emails<S: AsRef<str>>(mut self, emails: impl IntoIterator<Item = S>) -> Self {
        self.emails = emails.into_iter().map(|e| e.as_ref().to_owned()).collect();
        self
    }
    pub fn tags<S: AsRef<str>>(mut self, tags: impl IntoIterator<Item = S>) -> Self {
        self.tags = tags.into_iter().map(|t| t.as_ref().to_owned()).collect();
        self
    }
    pub fn stage(mut self, stage_id: &str) -> Self {
        self.stage = stage_id.to_owned();
        self
    }
    pub fn posting(mut self, posting_id: &str) -> Self {
        self.posting = Some(posting_id.to_owned());
        self
    }
    pub fn owner(mut self, user_id: &str) -> Self {
        self.owner = Some(user_id.to_owned());
        self
    }
    pub fn followers<S: AsRef<str>>(mut self, users: impl IntoIterator<Item = S>) -> Self {
        self.followers = users.into_iter().map(|u| u.as_ref().to_owned()).collect();
        self
    }
    pub fn moved_by(mut self, user_id: &str) -> Self {
        self.moved_by = Some(user_id.to_owned());
        self
    }
    pub fn origin(mut self, origin: &str) -> Self {
        self.origin = origin.to_owned();
        self
    }
    pub fn archived(mut self, reason: &str) -> Self {
        self.archived_reason = Some(reason.to_owned());
        self
    }
    pub fn data_protection(mut self, data_protection: DataProtection) -> Self {
        self.data_protection = Some(data_protection);
        self
    }
    /// Data protection that allows storing the candidate and, per `allowed`, contacting them.
    pub fn contact_allowed(self, allowed: bool) -> Self {
        self.data_protection(DataProtection {
            store: Consent { allowed: true, expires_at: None },
            contact: Consent { allowed, expires_at: None },
        })
    }
}

/// Lever's application object, as `expand=applications` shows it.
pub(super) fn application_json(id: &str, opp: &NewOpportunity, posting: &Posting, now: i64) -> Value {
    json!({
        "id": id,
        "type": "posting",
        "opportunityId": opp.id,
        "candidateId": opp.id,
        "posting": posting.id,
        "postingOwner": posting.owner,
        "postingHiringManager": posting.hiring_manager,
        "user": null,
        "name": opp.name,
        "email": opp.emails.first(),
        "phone": null,
        "company": null,
        "links": [],
        "comments": null,
        "customQuestions": [],
        "archived": null,
        "requisitionForHire": null,
        "createdAt": now,
    })
}

pub(super) fn opportunity_urls(id: &str) -> Value {
    json!({
        "list": "https://hire.lever.co/candidates",
        "show": format!("https://hire.lever.co/candidates/{id}"),
    })
}
