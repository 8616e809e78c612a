//! Webhook deliveries as Lever sends them. Posting them to Fulcrum is the test's job; these
//! build and sign the bodies.

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::FakeLever;
use super::state::{new_id, now_ms, random_alnum};

/// Lever's signature: `hex(HMAC-SHA256(key = signature token, message = token + triggeredAt))`,
/// with `triggeredAt` written as its decimal digits.
pub fn sign(signature_token: &str, token: &str, triggered_at: i64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(signature_token.as_bytes()).expect("HMAC takes any key length");
    mac.update(token.as_bytes());
    mac.update(triggered_at.to_string().as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// A full delivery body; without a signature token there is no `signature` field, as when a
/// webhook has no token yet.
pub fn delivery(event: &str, data: Value, signature_token: Option<&str>, triggered_at_ms: i64) -> Value {
    let token = random_alnum(48);
    let mut body = json!({
        "id": new_id(),
        "event": event,
        "triggeredAt": triggered_at_ms,
        "token": token,
        "data": data,
    });
    if let Some(key) = signature_token {
        body["signature"] = json!(sign(key, &token, triggered_at_ms));
    }
    body
}

/// Sends a delivery the way Lever does. Takes the test's client, so that whichever TLS setup
/// the test crate has (a rustls provider may need installing) stays the test's business.
pub async fn post_delivery(client: &reqwest::Client, url: &str, body: &Value) -> reqwest::Result<reqwest::Response> {
    client
        .post(url)
        .header(reqwest::header::USER_AGENT, "Lever-Webhooks")
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.to_string())
        .send()
        .await
}

impl FakeLever {
    /// A `candidateStageChange` delivery for a seeded opportunity, triggered now.
    pub fn stage_change_delivery(
        &self,
        account_id: &str,
        opportunity_id: &str,
        from_stage: &str,
        to_stage: &str,
        signature_token: Option<&str>,
    ) -> Value {
        let opp = self.opportunity(account_id, opportunity_id);
        let data = json!({
            "opportunityId": opportunity_id,
            "candidateId": opportunity_id,
            "contactId": opp["contact"],
            "fromStageId": from_stage,
            "toStageId": to_stage,
        });
        delivery("candidateStageChange", data, signature_token, now_ms())
    }

    /// An `applicationCreated` delivery for a seeded opportunity, triggered now.
    pub fn application_created_delivery(
        &self,
        account_id: &str,
        opportunity_id: &str,
        signature_token: Option<&str>,
    ) -> Value {
        let opp = self.opportunity_expanded(account_id, opportunity_id);
        let application = &opp["applications"][0];
        let mut data = json!({
            "opportunityId": opportunity_id,
            "candidateId": opportunity_id,
            "contactId": opp["contact"],
            "applicationId": application["id"],
        });
        // Which other fields Lever sends is unsure (lever-api.md); postingId is the likely one.
        if let Some(posting) = application["posting"].as_str() {
            data["postingId"] = json!(posting);
        }
        delivery("applicationCreated", data, signature_token, now_ms())
    }

    /// A `candidateHired` delivery, triggered now.
    pub fn hired_delivery(&self, opportunity_id: &str, signature_token: Option<&str>) -> Value {
        let data = json!({ "opportunityId": opportunity_id, "candidateId": opportunity_id, "contactId": new_id() });
        delivery("candidateHired", data, signature_token, now_ms())
    }

    /// A `candidateArchiveChange` delivery for the opportunity as it is now (archived with
    /// its reason, or unarchived), triggered now.
    pub fn archive_change_delivery(
        &self,
        account_id: &str,
        opportunity_id: &str,
        signature_token: Option<&str>,
    ) -> Value {
        let opp = self.opportunity(account_id, opportunity_id);
        let archived = &opp["archived"];
        let (from, to) = if archived.is_null() {
            (json!({ "reason": "reason-underqualified", "archivedAt": now_ms() - 1000 }), Value::Null)
        } else {
            (Value::Null, archived.clone())
        };
        let data = json!({
            "opportunityId": opportunity_id,
            "candidateId": opportunity_id,
            "contactId": opp["contact"],
            "fromArchived": from,
            "toArchived": to,
        });
        delivery("candidateArchiveChange", data, signature_token, now_ms())
    }

    /// A `candidateDeleted` delivery, triggered now.
    pub fn deleted_delivery(&self, opportunity_id: &str, signature_token: Option<&str>) -> Value {
        let data = json!({ "opportunityId": opportunity_id, "candidateId": opportunity_id, "contactId": new_id() });
        delivery("candidateDeleted", data, signature_token, now_ms())
    }
}
