//! A job that does nothing, optionally for a while. For benchmarks (`benches/jobs.rs`
//! measures the queue itself with it) and for smoke tests of a deployment's workers:
//! enqueue one and watch it finish. It touches no organization and no outside service.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::jobs::{Job, JobContext, JobError};

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Noop {
    /// Milliseconds to sleep before finishing (0: finish at once).
    #[serde(default)]
    pub ms: u64,
}

impl Job for Noop {
    const KIND: &'static str = "noop";
    const MAX_ATTEMPTS: i32 = 3;

    async fn run(self, _ctx: JobContext) -> Result<(), JobError> {
        if self.ms > 0 {
            tokio::time::sleep(Duration::from_millis(self.ms)).await;
        }
        Ok(())
    }
}
