//! Lever's JSON shapes, read defensively: single objects come as `{"data": {...}}` (some
//! documented examples omit the envelope), ids may come as strings or, when expanded, as
//! objects, and any field may be missing.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// The object inside Lever's `{"data": ...}` envelope, or the body itself without one.
pub fn unwrap_data(body: Value) -> Value {
    match body {
        Value::Object(mut map) if map.contains_key("data") => map.remove("data").unwrap_or(Value::Null),
        other => other,
    }
}

/// An id given either as a string or as an expanded object with an `id`.
pub fn id_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Object(map) => map.get("id").and_then(Value::as_str).map(str::to_string),
        _ => None,
    }
}

fn id_or_object<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<Value>::deserialize(d)?.as_ref().and_then(id_of))
}

/// Strings only, skipping anything else in the list.
fn strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let values = Option::<Vec<Value>>::deserialize(d)?.unwrap_or_default();
    Ok(values.into_iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Opportunity {
    pub id: String,
    pub name: Option<String>,
    #[serde(deserialize_with = "strings")]
    pub emails: Vec<String>,
    #[serde(deserialize_with = "id_or_object")]
    pub stage: Option<String>,
    pub stage_changes: Vec<StageChange>,
    #[serde(deserialize_with = "strings")]
    pub tags: Vec<String>,
    #[serde(deserialize_with = "id_or_object")]
    pub owner: Option<String>,
    #[serde(deserialize_with = "applications")]
    pub applications: Vec<Application>,
    pub archived: Option<Value>,
    /// Documented examples show the legacy top-level fields beside `archived`.
    pub archived_at: Option<Value>,
    pub archive_reason: Option<Value>,
    /// Lever anonymized the candidate (its name and contact details are gone).
    pub is_anonymized: bool,
    /// The candidate's data protection (consent to store and to contact), or none.
    #[serde(deserialize_with = "lenient")]
    pub data_protection: Option<DataProtection>,
}

/// Lever's `dataProtection`: `{"store": {"allowed", "expiresAt"}, "contact": {…}}` or null.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct DataProtection {
    pub store: Option<Permission>,
    pub contact: Option<Permission>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct Permission {
    pub allowed: Option<bool>,
    /// When it runs out (ms since the epoch); it can run out by time alone.
    pub expires_at: Option<i64>,
}

/// `T` when the value has its shape, else nothing: an odd value in a field Fulcrum only
/// reads for a hint must not make the whole opportunity unreadable.
fn lenient<'de, D: Deserializer<'de>, T: serde::de::DeserializeOwned>(d: D) -> Result<Option<T>, D::Error> {
    let value = Option::<Value>::deserialize(d)?;
    Ok(value.and_then(|v| serde_json::from_value(v).ok()))
}

impl Opportunity {
    /// The posting of the opportunity's application (Lever allows at most one).
    pub fn posting_id(&self) -> Option<&str> {
        self.applications.iter().find_map(|a| a.posting.as_deref())
    }

    /// Who moved the candidate into `stage_id` most recently.
    pub fn moved_into_by(&self, stage_id: &str) -> Option<&str> {
        self.stage_changes
            .iter()
            .filter(|c| c.to_stage_id.as_deref() == Some(stage_id))
            .max_by_key(|c| c.updated_at.unwrap_or(0))
            .and_then(|c| c.user_id.as_deref())
    }

    /// Archived (rejected or hired), in either of Lever's spellings.
    pub fn is_archived(&self) -> bool {
        self.archived.as_ref().is_some_and(Value::is_object) || self.archived_at.as_ref().is_some_and(Value::is_i64)
    }

    /// The archive reason's id, when archived.
    pub fn archive_reason_id(&self) -> Option<&str> {
        let nested = self.archived.as_ref().and_then(|a| a.get("reason"));
        nested.or(self.archive_reason.as_ref()).and_then(Value::as_str).filter(|r| !r.is_empty())
    }

    /// Lever's `dataProtection.contact`: whether contact is allowed and until when (ms
    /// since the epoch), each `None` when Lever does not say.
    pub fn contact_consent(&self) -> (Option<bool>, Option<i64>) {
        let contact = self.data_protection.as_ref().and_then(|d| d.contact.as_ref());
        (contact.and_then(|c| c.allowed), contact.and_then(|c| c.expires_at))
    }

    /// Whether Lever allows contacting the candidate at `now`.
    pub fn contact(&self, now: chrono::DateTime<chrono::Utc>) -> crate::domain::invite::Contact {
        let (allowed, until) = self.contact_consent();
        crate::domain::invite::Contact::from_lever(
            allowed,
            until.and_then(chrono::DateTime::from_timestamp_millis),
            now,
        )
    }

    /// When the candidate last entered `stage_id` (ms since the epoch).
    pub fn entered_at(&self, stage_id: &str) -> Option<i64> {
        self.stage_changes
            .iter()
            .filter(|c| c.to_stage_id.as_deref() == Some(stage_id))
            .filter_map(|c| c.updated_at)
            .max()
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StageChange {
    pub to_stage_id: Option<String>,
    pub to_stage_index: Option<i64>,
    pub user_id: Option<String>,
    pub updated_at: Option<i64>,
}

#[derive(Clone, Debug, Default)]
pub struct Application {
    pub id: String,
    pub posting: Option<String>,
    pub posting_owner: Option<String>,
    pub posting_hiring_manager: Option<String>,
}

/// Applications come as ids, or as objects with `expand=applications`.
fn applications<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Application>, D::Error> {
    let values = Option::<Vec<Value>>::deserialize(d)?.unwrap_or_default();
    Ok(values
        .iter()
        .filter_map(|v| match v {
            Value::String(id) => Some(Application { id: id.clone(), ..Default::default() }),
            Value::Object(map) => Some(Application {
                id: map.get("id").and_then(Value::as_str).unwrap_or_default().to_string(),
                posting: map.get("posting").and_then(id_of),
                posting_owner: map.get("postingOwner").and_then(id_of),
                posting_hiring_manager: map.get("postingHiringManager").and_then(id_of),
            }),
            _ => None,
        })
        .collect())
}

#[derive(Clone, Debug, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Posting {
    pub id: String,
    pub text: Option<String>,
    pub state: Option<String>,
    #[serde(deserialize_with = "strings")]
    pub tags: Vec<String>,
    #[serde(deserialize_with = "id_or_object")]
    pub owner: Option<String>,
    #[serde(deserialize_with = "id_or_object")]
    pub hiring_manager: Option<String>,
    #[serde(deserialize_with = "id_or_object")]
    pub user: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(default)]
pub struct Stage {
    pub id: String,
    pub text: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_an_expanded_opportunity() {
        let body = json!({"data": {
            "id": "opp-1", "name": "Ada", "emails": ["ada@example.com", null],
            "stage": {"id": "st-2", "text": "Fulcrum Assessment"},
            "stageChanges": [
                {"toStageId": "st-2", "toStageIndex": 3, "userId": "u-old", "updatedAt": 100},
                {"toStageId": "st-1", "userId": "u-x", "updatedAt": 150},
                {"toStageId": "st-2", "toStageIndex": 3, "userId": "u-new", "updatedAt": 200}
            ],
            "tags": ["FC-12345"], "owner": "u-owner",
            "applications": [{"id": "app-1", "posting": "post-1", "postingOwner": {"id": "u-po"}}]
        }});
        let opp: Opportunity = serde_json::from_value(unwrap_data(body)).unwrap();
        assert_eq!(opp.stage.as_deref(), Some("st-2"));
        assert_eq!(opp.emails, vec!["ada@example.com"]);
        assert_eq!(opp.posting_id(), Some("post-1"));
        assert_eq!(opp.applications[0].posting_owner.as_deref(), Some("u-po"));
        assert_eq!(opp.moved_into_by("st-2"), Some("u-new"));
        assert_eq!(opp.entered_at("st-2"), Some(200));
        assert!(!opp.is_archived() && !opp.is_anonymized);
    }

    #[test]
    fn reads_archiving_in_both_spellings() {
        let nested: Opportunity =
            serde_json::from_value(json!({"id": "o", "archived": {"reason": "r-1", "archivedAt": 5}})).unwrap();
        assert!(nested.is_archived());
        assert_eq!(nested.archive_reason_id(), Some("r-1"));
        let legacy: Opportunity =
            serde_json::from_value(json!({"id": "o", "archivedAt": 5, "archiveReason": "r-2", "isAnonymized": true}))
                .unwrap();
        assert!(legacy.is_archived() && legacy.is_anonymized);
        assert_eq!(legacy.archive_reason_id(), Some("r-2"));
    }

    #[test]
    fn reads_data_protection_in_levers_shape() {
        let body = json!({"id": "o", "dataProtection": {
            "store": {"allowed": true, "expiresAt": 1767225600000_i64},
            "contact": {"allowed": false, "expiresAt": null}
        }});
        let opp: Opportunity = serde_json::from_value(body).unwrap();
        assert_eq!(opp.contact_consent(), (Some(false), None));
        let store = opp.data_protection.unwrap().store.unwrap();
        assert_eq!(store, Permission { allowed: Some(true), expires_at: Some(1767225600000) });
        for absent in
            [json!({"id": "o", "dataProtection": null}), json!({"id": "o"}), json!({"id": "o", "dataProtection": 3})]
        {
            let opp: Opportunity = serde_json::from_value(absent.clone()).unwrap();
            assert_eq!(opp.contact_consent(), (None, None), "{absent}");
        }
    }

    #[test]
    fn tolerates_missing_envelope_and_fields() {
        let opp: Opportunity = serde_json::from_value(unwrap_data(json!({"id": "o", "applications": ["a1"]}))).unwrap();
        assert_eq!(opp.applications[0].id, "a1");
        assert_eq!(opp.posting_id(), None);
        assert!(opp.tags.is_empty());
    }
}
