//! What every handler and job shares ([`AppState`]), and the two ways of running Fulcrum:
//! `serve` (HTTP and workers) and `worker` (workers only).

use std::{ops::Deref, sync::Arc};

use anyhow::Context;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::{clock::Clock, config::Settings, crypto::Cipher, db, email::Mailer, jobs, lever, metrics::Metrics};

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub settings: Settings,
    pub db: PgPool,
    pub cipher: Cipher,
    pub clock: Clock,
    pub metrics: Metrics,
    pub mailer: Mailer,
    pub lever: lever::Lever,
    pub webhook_cache: lever::webhook::OrgCache,
    /// Wakes job workers after commits that queue work in bulk (see `jobs::Wakeup`).
    pub job_wakeup: jobs::Wakeup,
    /// Stores accepted webhook deliveries in batches (see `http::intake`).
    pub intake: crate::http::intake::Intake,
}

impl Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub fn new(settings: Settings, db: PgPool, cipher: Cipher, clock: Clock) -> anyhow::Result<Self> {
        let mailer = Mailer::from_settings(&settings)?;
        let lever = lever::Lever::new(&settings)?;
        let job_wakeup = jobs::Wakeup::new(db.clone());
        let intake = crate::http::intake::Intake::new(db.clone(), clock.clone(), job_wakeup.clone());
        Ok(Self(Arc::new(Inner {
            settings,
            job_wakeup,
            intake,
            db,
            cipher,
            clock,
            metrics: Metrics::default(),
            mailer,
            lever,
            webhook_cache: Default::default(),
        })))
    }
}

/// Installs the process-wide TLS provider (ring) that reqwest and lettre use.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// `fulcrum serve`: migrate, then answer HTTP and run workers until SIGINT/SIGTERM.
pub async fn serve(settings: Settings, with_http: bool) -> anyhow::Result<()> {
    let cipher = Cipher::from_settings(&settings)?;
    let database = db::Database::connect(&settings).await?;
    let result = run(settings, &database, cipher, with_http).await;
    database.shutdown().await;
    result
}

async fn run(settings: Settings, database: &db::Database, cipher: Cipher, with_http: bool) -> anyhow::Result<()> {
    db::migrate(&database.pool).await?;
    let state = AppState::new(settings, database.pool.clone(), cipher, Clock::default())?;
    let shutdown = CancellationToken::new();
    tokio::spawn(signal_shutdown(shutdown.clone()));

    let workers = jobs::Worker::new(state.clone(), jobs::registry()).spawn(shutdown.clone());
    if with_http {
        let listener = tokio::net::TcpListener::bind(state.settings.server.bind)
            .await
            .with_context(|| format!("listening on {}", state.settings.server.bind))?;
        tracing::info!(address = %listener.local_addr()?, public_url = state.settings.public_url(), "serving");
        if state.settings.is_production() && !state.settings.public_url().starts_with("https://") {
            tracing::warn!(
                "FULCRUM_PUBLIC_URL is not https: production cookies are Secure, so browsers keep them only                  over https (or on localhost), and Lever only calls https webhook URLs"
            );
        }
        crate::http::serve(state.clone(), listener, shutdown.clone()).await?;
    }
    shutdown.cancelled().await;
    workers.await.context("the job workers panicked")?;
    tracing::info!("stopped");
    Ok(())
}

async fn signal_shutdown(token: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("installing the SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutting down: finishing requests and running jobs");
    token.cancel();
}
