//! Lever's webhook deliveries: the body's shape, the signature check, and the per-process
//! cache of each organization's webhook key and signature tokens.
//!
//! Lever signs `token + triggeredAt` (both from the JSON body, triggeredAt in decimal) with
//! HMAC-SHA256 keyed by the webhook's signature token, and sends the hex digest in the
//! body's `signature`. The raw body is not what is signed.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use serde_json::Value;
use sha2::Sha256;
use uuid::Uuid;

pub const APPLICATION_CREATED: &str = "applicationCreated";
pub const STAGE_CHANGE: &str = "candidateStageChange";
pub const HIRED: &str = "candidateHired";
pub const ARCHIVE_CHANGE: &str = "candidateArchiveChange";
pub const DELETED: &str = "candidateDeleted";

/// Every event Fulcrum handles, in the order pages list them. The first two start
/// invitations and are required; the others keep invitations in step with the candidate.
pub const EVENTS: [&str; 5] = [APPLICATION_CREATED, STAGE_CHANGE, HIRED, ARCHIVE_CHANGE, DELETED];
pub const REQUIRED: [&str; 2] = [APPLICATION_CREATED, STAGE_CHANGE];

/// Whether Fulcrum handles `event`.
pub fn is_handled(event: &str) -> bool {
    EVENTS.contains(&event)
}

/// How Lever's settings name the event.
pub fn label(event: &str) -> &'static str {
    match event {
        APPLICATION_CREATED => "Application Created",
        STAGE_CHANGE => "Candidate Stage Change",
        HIRED => "Candidate Hired",
        ARCHIVE_CHANGE => "Candidate Archive Change",
        DELETED => "Candidate Deleted",
        _ => "Unknown event",
    }
}

/// Whether Lever takes origin conditions on this event's webhook (Candidate Deleted's
/// takes none).
pub fn takes_conditions(event: &str) -> bool {
    event != DELETED
}

/// Deliveries older than this are refused (Lever's Rerun reaches two weeks back).
pub const MAX_AGE: chrono::Duration = chrono::Duration::days(14);
/// Deliveries dated further ahead than this are refused.
pub const MAX_SKEW: chrono::Duration = chrono::Duration::minutes(5);

/// The parts of a delivery Fulcrum reads. Anything else in the body is ignored.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub event: String,
    pub triggered_at: i64,
    pub token: String,
    #[serde(default)]
    pub signature: Option<String>,
    #[serde(default)]
    pub data: Option<Value>,
}

impl Delivery {
    /// Lever's "Verify Connection" test sends a real event name with `"data": {}`.
    pub fn is_test(&self) -> bool {
        match &self.data {
            None | Some(Value::Null) => true,
            Some(Value::Object(map)) => map.is_empty(),
            _ => false,
        }
    }

    /// `opportunityId`, or its deprecated alias `candidateId`.
    pub fn opportunity_id(&self) -> Option<&str> {
        let data = self.data.as_ref()?;
        data.get("opportunityId").or_else(|| data.get("candidateId")).and_then(Value::as_str)
    }
}

/// True when `id` looks like a Lever id (UUIDs, or word ids such as `lead-new`): it ends
/// up in URL paths, so nothing else is let through.
pub fn is_lever_id(id: &str) -> bool {
    (1..=100).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `hex(HMAC-SHA256(signature_token, token + triggeredAt))`.
pub fn sign(signature_token: &str, token: &str, triggered_at: i64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(signature_token.as_bytes()).expect("HMAC takes any key length");
    mac.update(token.as_bytes());
    mac.update(triggered_at.to_string().as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Checks `signature` against each of `signature_tokens`, in constant time.
pub fn verify(signature_tokens: &[&str], token: &str, triggered_at: i64, signature: &str) -> bool {
    let Ok(given) = hex::decode(signature.trim()) else {
        return false;
    };
    signature_tokens.iter().any(|key| {
        let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes any key length");
        mac.update(token.as_bytes());
        mac.update(triggered_at.to_string().as_bytes());
        mac.verify_slice(&given).is_ok()
    })
}

/// The encryption context of a stored signature token.
pub fn token_context(org_id: Uuid, event: &str) -> String {
    format!("lever-signature:{event}:{org_id}")
}

/// An organization's webhook settings as the endpoint needs them, decrypted.
#[derive(Debug)]
pub struct OrgWebhook {
    pub org_id: Uuid,
    /// The signature token of each event that has one.
    pub tokens: Vec<(&'static str, String)>,
}

impl OrgWebhook {
    pub fn token_for(&self, event: &str) -> Option<&str> {
        self.tokens.iter().find(|(e, _)| *e == event).map(|(_, t)| t.as_str())
    }
}

/// Webhook key → settings, so a delivery costs no database read for them. Entries live a
/// few seconds; a failed signature check re-reads once (a token may have just been
/// pasted in another process).
/// When it was read, and the organization (`None`: no organization has this key).
type CacheEntry = (Instant, Option<Arc<OrgWebhook>>);

#[derive(Default)]
pub struct OrgCache {
    entries: Mutex<HashMap<String, CacheEntry>>,
}

/// How long a cached entry is trusted.
pub const CACHE_TTL: Duration = Duration::from_secs(5);

impl OrgCache {
    pub fn get(&self, key: &str, max_age: Duration) -> Option<Option<Arc<OrgWebhook>>> {
        let entries = self.entries.lock().expect("webhook cache poisoned");
        entries.get(key).filter(|(at, _)| at.elapsed() < max_age).map(|(_, entry)| entry.clone())
    }

    pub fn put(&self, key: &str, entry: Option<Arc<OrgWebhook>>) {
        let mut entries = self.entries.lock().expect("webhook cache poisoned");
        if entries.len() > 10_000 {
            entries.retain(|_, (at, _)| at.elapsed() < CACHE_TTL);
        }
        entries.insert(key.to_string(), (Instant::now(), entry));
    }

    pub fn forget_org(&self, org_id: Uuid) {
        let mut entries = self.entries.lock().expect("webhook cache poisoned");
        entries.retain(|_, (_, entry)| entry.as_ref().is_none_or(|e| e.org_id != org_id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_levers_documented_signature() {
        // token + triggeredAt, keyed by the signature token, hex encoded.
        let signature = sign("sig-token", "abc", 1431454330072);
        assert_eq!(signature.len(), 64);
        assert!(verify(&["sig-token"], "abc", 1431454330072, &signature));
        assert!(verify(&["sig-token"], "abc", 1431454330072, &signature.to_uppercase()));
        assert!(verify(&["old", "sig-token"], "abc", 1431454330072, &signature), "any of several tokens");
    }

    #[test]
    fn refuses_anything_else() {
        let signature = sign("sig-token", "abc", 1431454330072);
        assert!(!verify(&["other"], "abc", 1431454330072, &signature));
        assert!(!verify(&["sig-token"], "abd", 1431454330072, &signature));
        assert!(!verify(&["sig-token"], "abc", 1431454330073, &signature));
        assert!(!verify(&["sig-token"], "abc", 1431454330072, "not hex"));
        assert!(!verify(&["sig-token"], "abc", 1431454330072, &signature[..62]));
        assert!(!verify(&[], "abc", 1431454330072, &signature));
    }

    #[test]
    fn verify_connection_deliveries_are_tests() {
        let d: Delivery = serde_json::from_str(
            r#"{"event":"candidateStageChange","triggeredAt":1,"token":"t","signature":"s","data":{}}"#,
        )
        .unwrap();
        assert!(d.is_test());
        let d: Delivery = serde_json::from_str(
            r#"{"event":"candidateStageChange","triggeredAt":1,"token":"t","data":{"candidateId":"c-1"}}"#,
        )
        .unwrap();
        assert!(!d.is_test());
        assert_eq!(d.opportunity_id(), Some("c-1"));
    }

    #[test]
    fn lever_ids_are_plain() {
        assert!(is_lever_id("8d2c5ad4-7b53-4d9a-a2d2-3a9d1b6f5e11"));
        assert!(is_lever_id("lead-new"));
        assert!(!is_lever_id(""));
        assert!(!is_lever_id("../x"));
        assert!(!is_lever_id("a b"));
    }
}
