//! Closes invitations whose time is up: unstarted ones at the deadline, started ones when
//! their time limit (plus a grace for the last answers, or a day for an external engine
//! to report) has passed. Scheduled at creation and again at start; runs on the app's
//! clock, so tests reach a deadline without waiting.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::follow_up;
use crate::{
    invitations::{self, InvitationStatus},
    jobs::{Job, JobContext, JobError},
};

#[derive(Debug, Serialize, Deserialize)]
pub struct CloseInvitation {
    pub invitation_id: Uuid,
}

impl Job for CloseInvitation {
    const KIND: &'static str = "close_invitation";

    fn unique_key(&self) -> Option<String> {
        Some(format!("close:{}", self.invitation_id))
    }

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        let env = &ctx.env;
        let now = env.clock.now();
        let mut tx = env.db.begin().await?;
        let Some(inv) = invitations::lock(&mut tx, self.invitation_id).await? else {
            return Ok(());
        };
        let reason = match inv.status {
            InvitationStatus::Invited if now >= inv.deadline => {
                "The candidate did not start the assessment before the deadline."
            }
            InvitationStatus::Invited => return Err(not_yet(inv.deadline - now)),
            InvitationStatus::Started => match inv.close_at() {
                Some(close_at) if now >= close_at => "The candidate started but did not submit within the time limit.",
                Some(close_at) => return Err(not_yet(close_at - now)),
                None => return Ok(()),
            },
            _ => return Ok(()),
        };
        let effects = invitations::expire(&mut tx, &inv, reason, now).await.map_err(anyhow::Error::from)?;
        follow_up(&mut tx, (&inv).into(), &effects, now).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Runs again when the time comes, without spending an attempt.
fn not_yet(wait: chrono::Duration) -> JobError {
    JobError::Defer(wait.to_std().unwrap_or_default(), "not due yet".into())
}
