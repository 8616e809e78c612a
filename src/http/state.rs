//! The web layer's own state: what handlers reach through `State<AppState>`. Built by
//! `app` (the composition root) from the same handles the workers get.

use std::{ops::Deref, sync::Arc};

use sqlx::PgPool;

use super::intake::Intake;
use crate::{clock::Clock, config::Settings, crypto::Cipher, jobs::Wakeup, lever::Lever, metrics::Metrics};

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub settings: Settings,
    pub db: PgPool,
    pub cipher: Cipher,
    pub clock: Clock,
    pub metrics: Arc<Metrics>,
    /// For OAuth and the integration settings; handlers never call Lever's API themselves.
    pub lever: Arc<Lever>,
    /// Stores accepted webhook deliveries in batches (see `intake`).
    pub intake: Intake,
}

impl AppState {
    pub fn new(
        settings: Settings,
        db: PgPool,
        cipher: Cipher,
        clock: Clock,
        metrics: Arc<Metrics>,
        lever: Arc<Lever>,
        wakeup: Wakeup,
    ) -> Self {
        let intake = Intake::new(db.clone(), clock.clone(), wakeup);
        Self(Arc::new(Inner { settings, db, cipher, clock, metrics, lever, intake }))
    }
}

impl Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}
