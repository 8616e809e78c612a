//! Keeps idle Lever connections alive: a refresh token unused for 90 days dies, so a
//! connection with no work for a while is refreshed on purpose.

use chrono::Duration;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    jobs::{Job, JobContext, JobError},
    lever::connection::{self, Refresh},
};

#[derive(Debug, Serialize, Deserialize)]
pub struct KeepAlive {
    pub org_id: Uuid,
}

impl Job for KeepAlive {
    const KIND: &'static str = "lever_keepalive";
    const MAX_ATTEMPTS: i32 = 20;

    fn org_id(&self) -> Option<Uuid> {
        Some(self.org_id)
    }

    fn unique_key(&self) -> Option<String> {
        Some(format!("keepalive:{}", self.org_id))
    }

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        let env = &ctx.env;
        let cutoff = env.clock.now() - Duration::days(env.settings.lever.keepalive_days);
        connection::refresh(&env.lever, self.org_id, Refresh::IdleSince(cutoff)).await?;
        Ok(())
    }
}
