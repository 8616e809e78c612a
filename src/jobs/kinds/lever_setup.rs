//! Jobs behind the integration settings page: read the account's stages, register the
//! webhooks in Lever, disconnect. They run in the queue like everything that calls Lever,
//! so the rate limit, token refresh and retries apply to them too.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    jobs::{Job, JobContext, JobError},
    lever::{Api, LeverError, connection, feedback, settings, webhook},
};

/// Reads the account's stage list into the cache the settings page and trigger-stage
/// checks use.
#[derive(Debug, Serialize, Deserialize)]
pub struct RefreshStages {
    pub org_id: Uuid,
}

impl Job for RefreshStages {
    const KIND: &'static str = "lever_refresh_stages";
    const MAX_ATTEMPTS: i32 = 5;

    fn org_id(&self) -> Option<Uuid> {
        Some(self.org_id)
    }

    fn unique_key(&self) -> Option<String> {
        Some(format!("stages:{}", self.org_id))
    }

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        let mut api = Api::for_org(&ctx.env.lever, self.org_id).await?;
        crate::lever::cache::refresh_stages(&ctx.env.lever, &mut api).await?;
        Ok(())
    }
}

/// Finds or creates Fulcrum's feedback template in the account. Result syncs wait for it
/// rather than each racing to create one.
#[derive(Debug, Serialize, Deserialize)]
pub struct EnsureFeedbackTemplate {
    pub org_id: Uuid,
}

impl Job for EnsureFeedbackTemplate {
    const KIND: &'static str = "lever_feedback_template";
    const MAX_ATTEMPTS: i32 = 10;

    fn org_id(&self) -> Option<Uuid> {
        Some(self.org_id)
    }

    fn unique_key(&self) -> Option<String> {
        Some(format!("feedback-template:{}", self.org_id))
    }

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        let mut api = Api::for_org(&ctx.env.lever, self.org_id).await?;
        if let feedback::Known::Unknown = feedback::known(&ctx.env.db, &api.account_id).await? {
            feedback::ensure(&ctx.env.lever, &mut api).await?;
        }
        Ok(())
    }
}

/// Registers the Application Created and Candidate Stage Change webhooks and keeps their
/// signature tokens. Webhooks already registered for this URL are reused, so a retry
/// after a crash does not register twice.
#[derive(Debug, Serialize, Deserialize)]
pub struct CreateWebhooks {
    pub org_id: Uuid,
}

impl Job for CreateWebhooks {
    const KIND: &'static str = "lever_create_webhooks";
    const MAX_ATTEMPTS: i32 = 3;

    fn org_id(&self) -> Option<Uuid> {
        Some(self.org_id)
    }

    fn unique_key(&self) -> Option<String> {
        Some(format!("create-webhooks:{}", self.org_id))
    }

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        let env = &ctx.env;
        let key = sqlx::query_scalar!("SELECT webhook_key FROM organizations WHERE id = $1", self.org_id)
            .fetch_one(&env.db)
            .await?;
        let url = settings::webhook_url(&env.lever, &key);
        let mut api = Api::for_org(&env.lever, self.org_id).await?;
        let existing = api.list("/webhooks", &[]).await?;
        let mut created = Vec::new();
        let mut change = settings::Change::default();
        for event in webhook::EVENTS {
            let found = existing.iter().find(|w| w["url"] == url && w["event"] == event);
            let hook = match found.filter(|w| signature_token(w).is_some()) {
                Some(hook) => hook.clone(),
                None => {
                    if let Some(stale) = found.and_then(|w| w["id"].as_str()) {
                        api.delete_webhook(stale).await?;
                    }
                    api.create_webhook(&url, event).await?
                }
            };
            let token = signature_token(&hook)
                .ok_or_else(|| JobError::Fail(anyhow::anyhow!("Lever created the {event} webhook without a token")))?;
            created.push(json!({ "id": hook["id"], "event": event }));
            change.token(event, Some(token.to_string()));
        }
        settings::apply(&env.lever, self.org_id, &change).await?;
        let mut tx = env.db.begin().await?;
        sqlx::query!("UPDATE lever_settings SET created_webhooks = $2 WHERE org_id = $1", self.org_id, json!(created))
            .execute(&mut *tx)
            .await?;
        super::sweep::set_up_changed(&mut tx, self.org_id, &env.settings, env.clock.now()).await?;
        tx.commit().await?;
        Ok(())
    }
}

fn signature_token(hook: &Value) -> Option<&str> {
    hook["configuration"]["signatureToken"].as_str().or_else(|| hook["signatureToken"].as_str())
}

/// Removes the webhooks Fulcrum registered (when Lever still lets us), then forgets the
/// tokens and parks the organization's work.
#[derive(Debug, Serialize, Deserialize)]
pub struct Disconnect {
    pub org_id: Uuid,
}

impl Job for Disconnect {
    const KIND: &'static str = "lever_disconnect";
    const MAX_ATTEMPTS: i32 = 3;

    fn org_id(&self) -> Option<Uuid> {
        Some(self.org_id)
    }

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        let env = &ctx.env;
        let hooks = sqlx::query_scalar!("SELECT created_webhooks FROM lever_settings WHERE org_id = $1", self.org_id)
            .fetch_optional(&env.db)
            .await?
            .unwrap_or_else(|| json!([]));
        match Api::for_org(&env.lever, self.org_id).await {
            Ok(mut api) => {
                let mut change = settings::Change::default();
                for hook in hooks.as_array().into_iter().flatten() {
                    if let Some(id) = hook["id"].as_str() {
                        api.delete_webhook(id).await?;
                    }
                    // The deleted webhook's signature token can never sign anything again:
                    // the settings page must not call it set.
                    if let Some(event) = webhook::EVENTS.into_iter().find(|e| hook["event"] == *e) {
                        change.token(event, None);
                    }
                }
                settings::apply(&env.lever, self.org_id, &change).await?;
            }
            // Access is gone already: the webhooks stay in Lever; the page says so.
            Err(LeverError::NeedsReconnect(_) | LeverError::Revoked(_)) => {}
            Err(e) => return Err(e.into()),
        }
        connection::disconnect(&env.lever, self.org_id).await?;
        sqlx::query!("UPDATE lever_settings SET created_webhooks = '[]' WHERE org_id = $1", self.org_id)
            .execute(&env.db)
            .await?;
        // Work that was waiting for Lever waits for a reconnect now.
        let mut conn = env.db.acquire().await?;
        crate::jobs::park_org(&mut conn, self.org_id).await?;
        Ok(())
    }
}

/// What the settings page should say about set-up work in progress or failed.
pub async fn pending_work(db: &PgPool, org_id: Uuid) -> sqlx::Result<Option<String>> {
    let latest = crate::jobs::latest_of_kinds(db, org_id, &[CreateWebhooks::KIND, Disconnect::KIND]).await?;
    Ok(latest.map(|(kind, state, last_error)| {
        let what = if kind == CreateWebhooks::KIND { "Creating the webhooks in Lever" } else { "Disconnecting" };
        match state {
            crate::jobs::JobState::Failed => format!("{what} failed: {}", last_error.unwrap_or_default()),
            _ => format!("{what}… (reload this page in a moment)"),
        }
    }))
}
