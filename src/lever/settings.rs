//! An organization's Lever integration settings: webhook URL and signature tokens
//! (encrypted, write-only), trigger stages, the webhooks Fulcrum created, and the stage list
//! cached from Lever. Shared by the settings page and `/api/v1/integrations/lever`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{Lever, connection, types::Stage, webhook};
use crate::crypto;

#[derive(Debug, Serialize)]
pub struct Overview {
    /// `connected`, `needs_reconnect` or `not_connected`.
    pub status: &'static str,
    pub connected: bool,
    pub needs_reconnect: bool,
    pub account_id: Option<String>,
    pub problem: Option<String>,
    pub webhook_url: String,
    pub verified_at: Option<DateTime<Utc>>,
    pub signature_tokens: TokensConfigured,
    pub trigger_stage_ids: Vec<String>,
    /// Stages read from Lever, for picking trigger stages.
    pub stages: Vec<Stage>,
    pub created_webhooks: serde_json::Value,
}

/// Which events have a signature token, by Lever's event name.
pub type TokensConfigured = std::collections::BTreeMap<&'static str, bool>;

pub async fn overview(lever: &Lever, org_id: Uuid) -> sqlx::Result<Overview> {
    let connection = connection::get(&lever.db, org_id).await?;
    let row = sqlx::query!(
        r#"SELECT o.webhook_key, s.application_created_token IS NOT NULL AS "app_set!",
                  s.stage_change_token IS NOT NULL AS "stage_set!", s.hired_token IS NOT NULL AS "hired_set!",
                  s.archive_change_token IS NOT NULL AS "archive_set!", s.deleted_token IS NOT NULL AS "deleted_set!",
                  s.verified_at,
                  coalesce(s.trigger_stage_ids, '{}') AS "trigger_stage_ids!",
                  coalesce(s.created_webhooks, '[]') AS "created_webhooks!"
           FROM organizations o LEFT JOIN lever_settings s ON s.org_id = o.id WHERE o.id = $1"#,
        org_id
    )
    .fetch_one(&lever.db)
    .await?;
    let stages = match &connection {
        Some(c) => cached_stages(&lever.db, &c.account_id).await?.unwrap_or_default(),
        None => Vec::new(),
    };
    let status = match &connection {
        Some(c) if c.connected() => "connected",
        Some(_) => "needs_reconnect",
        None => "not_connected",
    };
    Ok(Overview {
        status,
        connected: status == "connected",
        needs_reconnect: status == "needs_reconnect",
        account_id: connection.as_ref().map(|c| c.account_id.clone()),
        problem: connection.and_then(|c| c.problem),
        webhook_url: webhook_url(lever, &row.webhook_key),
        verified_at: row.verified_at,
        signature_tokens: webhook::EVENTS
            .into_iter()
            .zip([row.app_set, row.stage_set, row.hired_set, row.archive_set, row.deleted_set])
            .collect(),
        trigger_stage_ids: row.trigger_stage_ids,
        stages,
        created_webhooks: row.created_webhooks,
    })
}

pub fn webhook_url(lever: &Lever, key: &str) -> String {
    format!("{}/webhooks/lever/{key}", lever.public_url)
}

/// The trigger stages an admin picked (empty: stages named after the brand trigger).
pub async fn picked_stages(db: &PgPool, org_id: Uuid) -> sqlx::Result<Vec<String>> {
    let picked = sqlx::query_scalar!("SELECT trigger_stage_ids FROM lever_settings WHERE org_id = $1", org_id)
        .fetch_optional(db)
        .await?;
    Ok(picked.unwrap_or_default())
}

/// The account's stages as last read from Lever, if ever.
pub async fn cached_stages(db: &PgPool, account_id: &str) -> sqlx::Result<Option<Vec<Stage>>> {
    let stages = sqlx::query_scalar!("SELECT stages FROM lever_accounts WHERE account_id = $1", account_id)
        .fetch_optional(db)
        .await?
        .flatten();
    Ok(stages.and_then(|s| serde_json::from_value(s).ok()))
}

/// A change to the settings: what is not named stays as it is.
#[derive(Debug, Default)]
pub struct Change {
    /// Signature tokens by event: `Some` sets one, `None` clears it.
    pub tokens: Vec<(&'static str, Option<String>)>,
    pub trigger_stage_ids: Option<Vec<String>>,
}

impl Change {
    pub fn token(&mut self, event: &'static str, token: Option<String>) {
        self.tokens.retain(|(e, _)| *e != event);
        self.tokens.push((event, token));
    }
}

/// Checks a pasted signature token: Lever's are 48 characters; anything reasonable goes.
pub fn check_token(field: &str, token: &str) -> Result<String, (String, String)> {
    let token = token.trim();
    if token.is_empty() || token.len() > 200 || token.chars().any(char::is_whitespace) {
        return Err((
            field.to_string(),
            "a signature token is the text Lever shows for the webhook: up to 200 characters, no spaces".into(),
        ));
    }
    Ok(token.to_string())
}

/// Checks picked trigger stages: Lever stage ids, and — once the account's stage list has
/// been read — stages the account has. A stage that does not exist would trigger nothing.
pub async fn check_stage_ids(
    lever: &Lever,
    org_id: Uuid,
    ids: &[String],
) -> sqlx::Result<Result<(), (String, String)>> {
    let field = || "trigger_stage_ids".to_string();
    if ids.len() > 100 || !ids.iter().all(|id| webhook::is_lever_id(id)) {
        return Ok(Err((field(), "trigger stages must be Lever stage ids".into())));
    }
    let known = match connection::get(&lever.db, org_id).await? {
        Some(c) => cached_stages(&lever.db, &c.account_id).await?,
        None => None,
    };
    let Some(known) = known else { return Ok(Ok(())) };
    let unknown: Vec<&str> = ids.iter().filter(|id| !known.iter().any(|s| s.id == **id)).map(String::as_str).collect();
    if unknown.is_empty() {
        return Ok(Ok(()));
    }
    let names: Vec<String> = known.iter().map(|s| format!("{} ({})", s.id, s.text)).collect();
    Ok(Err((
        field(),
        format!(
            "the Lever account has no stage {}; its stages are: {}",
            unknown.join(", "),
            if names.is_empty() { "none".to_string() } else { names.join(", ") }
        ),
    )))
}

pub async fn apply(lever: &Lever, org_id: Uuid, change: &Change) -> sqlx::Result<()> {
    let seal = |token: &Option<String>, event: &str| {
        token.as_ref().map(|t| lever.cipher.encrypt(t, &webhook::token_context(org_id, event)))
    };
    // Per event: whether it changes, and its sealed token (NULL clears it).
    let [a, s, h, r, d] = webhook::EVENTS.map(|event| {
        let change = change.tokens.iter().find(|(e, _)| *e == event);
        (change.is_some(), change.and_then(|(_, token)| seal(token, event)))
    });
    let mut tx = lever.db.begin().await?;
    ensure_row(&mut tx, org_id).await?;
    sqlx::query!(
        "UPDATE lever_settings
         SET application_created_token = CASE WHEN $2 THEN $3 ELSE application_created_token END,
             stage_change_token = CASE WHEN $4 THEN $5 ELSE stage_change_token END,
             hired_token = CASE WHEN $6 THEN $7 ELSE hired_token END,
             archive_change_token = CASE WHEN $8 THEN $9 ELSE archive_change_token END,
             deleted_token = CASE WHEN $10 THEN $11 ELSE deleted_token END
         WHERE org_id = $1",
        org_id,
        a.0,
        a.1,
        s.0,
        s.1,
        h.0,
        h.1,
        r.0,
        r.1,
        d.0,
        d.1,
    )
    .execute(&mut *tx)
    .await?;
    if let Some(ids) = &change.trigger_stage_ids {
        sqlx::query!("UPDATE lever_settings SET trigger_stage_ids = $2 WHERE org_id = $1", org_id, ids)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    lever.webhook_cache.forget_org(org_id);
    Ok(())
}

pub async fn ensure_row(conn: &mut PgConnection, org_id: Uuid) -> sqlx::Result<()> {
    sqlx::query!("INSERT INTO lever_settings (org_id) VALUES ($1) ON CONFLICT DO NOTHING", org_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Gives the organization a new webhook URL; the old one stops working.
pub async fn regenerate_key(lever: &Lever, org_id: Uuid) -> sqlx::Result<()> {
    sqlx::query!("UPDATE organizations SET webhook_key = $2 WHERE id = $1", org_id, crypto::random_token(24))
        .execute(&lever.db)
        .await?;
    lever.webhook_cache.forget_org(org_id);
    Ok(())
}
