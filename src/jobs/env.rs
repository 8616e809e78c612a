//! What the workers and every running job get: handles to the outside world, built once by
//! `app` (the composition root). Nothing here knows the web layer.

use std::{ops::Deref, sync::Arc};

use sqlx::PgPool;

use crate::{clock::Clock, config::Settings, crypto::Cipher, email::Mailer, lever::Lever, metrics::Metrics};

#[derive(Clone)]
pub struct Env(Arc<Handles>);

pub struct Handles {
    pub settings: Settings,
    pub db: PgPool,
    pub cipher: Cipher,
    pub clock: Clock,
    pub metrics: Arc<Metrics>,
    pub mailer: Arc<Mailer>,
    /// Every Lever call goes through this: HTTP client, token cache, rate limit.
    pub lever: Arc<Lever>,
}

impl Env {
    pub fn new(handles: Handles) -> Self {
        Self(Arc::new(handles))
    }
}

impl Deref for Env {
    type Target = Handles;

    fn deref(&self) -> &Handles {
        &self.0
    }
}
