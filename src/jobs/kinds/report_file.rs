//! Attaches an invitation's report PDF to the opportunity in Lever once its result is in
//! (`{brand} report - {assessment}.pdf`), as the user the feedback form is written as,
//! exactly once: the upload goes through `lever::writes`, which after an uncertain answer
//! reads the opportunity's files back and looks for the file's name before uploading again.
//!
//! Without the `files:write:admin` scope (accounts connected before Fulcrum asked for it)
//! nothing is tried: the feedback form's report link remains, and the integration health
//! page says why there is no file.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    invitations::InvitationStatus,
    jobs::{Job, JobContext, JobError},
    lever::{
        Api, FILES_SCOPE, LeverError, connection,
        writes::{self, Payload, Write},
    },
    report,
};

#[derive(Debug, Serialize, Deserialize)]
pub struct AttachReport {
    pub org_id: Uuid,
    pub invitation_id: Uuid,
}

impl Job for AttachReport {
    const KIND: &'static str = "lever_attach_report";
    const MAX_ATTEMPTS: i32 = 12;

    fn org_id(&self) -> Option<Uuid> {
        Some(self.org_id)
    }

    fn unique_key(&self) -> Option<String> {
        Some(format!("report-file:{}", self.invitation_id))
    }

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        let env = &ctx.env;
        let Some(connection) = connection::get(&env.db, self.org_id).await? else { return Ok(()) };
        if !connection.scopes.split_whitespace().any(|s| s == FILES_SCOPE) {
            tracing::info!(invitation = %self.invitation_id, "no {FILES_SCOPE} scope: the report is not attached in Lever");
            return Ok(());
        }
        let mut conn = env.db.acquire().await?;
        let loaded = report::load(&mut conn, &env.settings.brand, self.org_id, self.invitation_id).await?;
        // Nothing more goes to a candidate deleted or anonymized in Lever.
        let Some(mut report) = loaded.filter(|r| r.invitation.status == InvitationStatus::Completed) else {
            return Ok(());
        };
        if crate::invitations::removed_in_lever(&mut conn, self.org_id, &report.invitation.opportunity_id).await? {
            return Ok(());
        }
        drop(conn);
        report.fetch_logo(report::logo::Reach::for_production(env.settings.is_production())).await;
        let inv = &report.invitation;
        // The feedback form's authors, in the same order (see `sync::result`).
        let authors: Vec<String> = inv.perform_as.iter().chain(connection.lever_user_id.iter()).cloned().collect();
        if authors.is_empty() {
            return Err(JobError::Fail(anyhow::anyhow!("no Lever user to upload the report as")));
        }
        let name = report::file_name(&report.brand, &inv.assessment_name);
        let (opportunity, id) = (inv.opportunity_id.clone(), inv.id);
        let pdf = tokio::task::spawn_blocking(move || report::pdf::render(&report))
            .await
            .map_err(|e| JobError::Fail(anyhow::Error::new(e).context("rendering the report")))?
            .map_err(JobError::Fail)?;

        let mut api = Api::for_org(&env.lever, self.org_id).await?;
        let key = format!("inv:{id}:report-file");
        let write = Write { key: &key, org_id: self.org_id, opportunity_id: &opportunity, marker: &name };
        let mut answer = Err(LeverError::Rejected { status: 400, message: "no author".into() });
        for author in &authors {
            let payload = Payload::File { perform_as: author, content_type: "application/pdf", bytes: &pdf };
            answer = writes::once(&env.lever, &mut api, &write, payload).await;
            // A deactivated or unknown user is refused with 400: try the next author.
            if !matches!(answer, Err(LeverError::Rejected { status: 400, .. })) {
                break;
            }
        }
        match answer {
            // The scope was granted but Lever still refuses (a permission of the user):
            // retrying will not help, and the report link in the feedback form remains.
            Err(LeverError::Forbidden(why)) => {
                tracing::warn!(invitation = %id, why = %why, "Lever refused the report file");
                Ok(())
            }
            answer => Ok(answer?),
        }
    }
}
