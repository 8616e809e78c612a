//! `{brand}: Error` on a candidate in Lever, with a note saying exactly why Fulcrum could not
//! send the assessment and how to fix it. Written once per cause (`reference`), whatever
//! retries happen. Like every status tag it replaces the one before; it goes when a later
//! invitation moves on (see `sync`).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    copy,
    domain::lifecycle::StatusTags,
    jobs::Env,
    jobs::{Job, JobContext, JobError},
    lever::{
        Api,
        writes::{self, Payload, Write},
    },
};

/// Writes the error from a job that already talks to Lever.
pub async fn write(
    env: &Env,
    api: &mut Api<'_>,
    opportunity: &str,
    reference: &str,
    why: &str,
    fix: &str,
) -> Result<(), JobError> {
    // A candidate deleted or anonymized in Lever gets nothing more written.
    if crate::invitations::removed_in_lever(&mut *env.db.acquire().await?, api.org_id, opportunity).await? {
        return Ok(());
    }
    let brand = &env.settings.brand;
    let error_tag = StatusTags::new(brand).error;
    // Status tags are mutually exclusive: the Error tag replaces whichever Fulcrum put there.
    super::sync::set_status_tags(env, api, opportunity, std::slice::from_ref(&error_tag)).await?;
    let marker = writes::marker(brand, reference, "error");
    let key = format!("error-note:{reference}");
    let write = Write { key: &key, org_id: api.org_id, opportunity_id: opportunity, marker: &marker };
    let text = copy::text(&copy::ErrorNote { brand, why, fix, marker: &marker });
    writes::once(&env.lever, api, &write, Payload::Note { text: &text, score: None }).await?;
    Ok(())
}

/// The same, queued by work that does not talk to Lever itself (a refused email).
#[derive(Debug, Serialize, Deserialize)]
pub struct ErrorNote {
    pub org_id: Uuid,
    pub opportunity_id: String,
    pub reference: String,
    pub why: String,
    pub fix: String,
}

impl Job for ErrorNote {
    const KIND: &'static str = "lever_error_note";

    fn org_id(&self) -> Option<Uuid> {
        Some(self.org_id)
    }

    fn unique_key(&self) -> Option<String> {
        Some(format!("error-note:{}:{}", self.org_id, self.reference))
    }

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        let mut api = Api::for_org(&ctx.env.lever, self.org_id).await?;
        write(&ctx.env, &mut api, &self.opportunity_id, &self.reference, &self.why, &self.fix).await
    }
}
