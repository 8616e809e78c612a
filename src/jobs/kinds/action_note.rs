//! The note in Lever for what an admin did to an invitation: the invite sent again (once it
//! went out) or the deadline extended. Each action is its own note, written once: its key
//! and marker carry the action's number (`resends`, `extensions`), so a retry finds the
//! note it may have written and a later action writes another.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    copy, invitations,
    jobs::{Job, JobContext, JobError},
    lever::{
        Api,
        writes::{self, Payload, Write},
    },
};

#[derive(Debug, Serialize, Deserialize)]
pub struct ActionNote {
    pub org_id: Uuid,
    pub invitation_id: Uuid,
    pub action: Action,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Action {
    /// The invite went out again (the `nth` time), valid until `deadline`.
    Resent { nth: i32, reopened: bool, deadline: DateTime<Utc> },
    /// The deadline moved (the `nth` extension).
    Extended { nth: i32, from: DateTime<Utc>, to: DateTime<Utc> },
}

impl Action {
    /// Names this action among the invitation's: the write's key and the note's marker.
    fn name(&self) -> String {
        // The number comes first, so no action's name is found inside another's marker
        // ("1-resend" is not in "11-resend").
        match self {
            Self::Resent { nth, .. } => format!("{nth}-resend"),
            Self::Extended { nth, .. } => format!("{nth}-extend"),
        }
    }
}

impl Job for ActionNote {
    const KIND: &'static str = "lever_action_note";
    const MAX_ATTEMPTS: i32 = 12;

    fn org_id(&self) -> Option<Uuid> {
        Some(self.org_id)
    }

    fn unique_key(&self) -> Option<String> {
        Some(format!("action-note:{}:{}", self.invitation_id, self.action.name()))
    }

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        let env = &ctx.env;
        let mut conn = env.db.acquire().await?;
        let Some(inv) = invitations::get(&mut conn, self.org_id, self.invitation_id).await? else {
            return Ok(());
        };
        if invitations::removed_in_lever(&mut conn, self.org_id, &inv.opportunity_id).await? {
            return Ok(());
        }
        drop(conn);
        let brand = &env.settings.brand;
        let name = self.action.name();
        let marker = writes::marker(brand, inv.id, &name);
        let key = format!("inv:{}:{name}", inv.id);
        let report = invitations::report_url(env.settings.public_url(), inv.id);
        let who = inv.who();
        let text = match self.action {
            Action::Resent { reopened, deadline, .. } => copy::text(&copy::ResendNote {
                brand,
                assessment: &inv.assessment_name,
                who,
                email: &inv.candidate_email,
                reopened,
                deadline,
                report: &report,
                marker: &marker,
            }),
            Action::Extended { from, to, .. } => copy::text(&copy::ExtendNote {
                brand,
                assessment: &inv.assessment_name,
                who,
                from,
                to,
                report: &report,
                marker: &marker,
            }),
        };
        let mut api = Api::for_org(&env.lever, self.org_id).await?;
        let write = Write { key: &key, org_id: self.org_id, opportunity_id: &inv.opportunity_id, marker: &marker };
        writes::once(&env.lever, &mut api, &write, Payload::Note { text: &text, score: None }).await?;
        Ok(())
    }
}
