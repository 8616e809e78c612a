//! Sending email.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::jobs::{Job, JobContext, JobError};

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SendEmail {
    ReconnectNeeded { org_id: Uuid },
}

impl Job for SendEmail {
    const KIND: &'static str = "send_email";

    async fn run(self, _ctx: JobContext) -> Result<(), JobError> {
        Ok(())
    }
}
