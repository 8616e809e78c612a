//! Closes invitations whose time is up: unstarted ones at the deadline, started ones when
//! their time limit (plus a grace for the last answers, or a day for an external engine
//! to report) has passed. Scheduled at creation and again at start; runs on the app's
//! clock, so tests reach a deadline without waiting.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    invitations,
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
        let state = &ctx.state;
        let now = state.clock.now();
        let mut tx = state.db.begin().await?;
        let Some(inv) = invitations::lock(&mut tx, self.invitation_id).await? else {
            return Ok(());
        };
        match inv.status.as_str() {
            "invited" if now >= inv.deadline => {
                invitations::expire(
                    state,
                    &mut tx,
                    &inv,
                    "The candidate did not start the assessment before the deadline.",
                )
                .await?;
            }
            "invited" => return Err(not_yet(inv.deadline - now)),
            "started" => match inv.close_at() {
                Some(close_at) if now >= close_at => {
                    let reason = "The candidate started but did not submit within the time limit.";
                    invitations::expire(state, &mut tx, &inv, reason).await?;
                }
                Some(close_at) => return Err(not_yet(close_at - now)),
                None => {}
            },
            _ => {}
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Runs again when the time comes, without spending an attempt.
fn not_yet(wait: chrono::Duration) -> JobError {
    JobError::Defer(wait.to_std().unwrap_or_default(), "not due yet".into())
}
