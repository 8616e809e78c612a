//! The composition root: builds every long-lived part once ([`App`]) and hands each layer
//! the narrow handles it needs — the web layer its `http::AppState`, the workers their
//! `jobs::Env` — and the two ways of running Fulcrum: `serve` (HTTP and workers) and
//! `worker` (workers only).

use std::{ops::Deref, sync::Arc};

use anyhow::Context;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::{
    clock::Clock,
    config::Settings,
    crypto::Cipher,
    db,
    email::Mailer,
    http, integration_health,
    jobs::{self, Env, Handles},
    lever::Lever,
    metrics::Metrics,
};

/// Everything one process shares between its web server and its workers: the workers'
/// environment (read through `Deref`), and the wake-up for bulk commits.
#[derive(Clone)]
pub struct App {
    env: Env,
    /// Wakes job workers after commits that queue work in bulk (see `jobs::Wakeup`).
    pub job_wakeup: jobs::Wakeup,
}

impl App {
    pub fn new(settings: Settings, db: PgPool, cipher: Cipher, clock: Clock) -> anyhow::Result<Self> {
        let metrics = Arc::new(Metrics::default());
        let mailer = Arc::new(Mailer::from_settings(&settings)?);
        let lever = Arc::new(Lever::new(&settings, db.clone(), cipher.clone(), metrics.clone())?);
        let job_wakeup = jobs::Wakeup::new(db.clone());
        let env = Env::new(Handles { settings, db, cipher, clock, metrics, mailer, lever });
        Ok(Self { env, job_wakeup })
    }

    /// The web layer's state.
    pub fn web(&self) -> http::AppState {
        http::AppState::new(
            self.settings.clone(),
            self.db.clone(),
            self.cipher.clone(),
            self.clock.clone(),
            self.metrics.clone(),
            self.lever.clone(),
            self.job_wakeup.clone(),
        )
    }

    /// The workers' environment.
    pub fn jobs(&self) -> Env {
        self.env.clone()
    }

    /// What the integration health checks read.
    pub fn health_handles(&self) -> integration_health::Handles<'_> {
        integration_health::Handles::new(&self.db, &self.lever, &self.clock, &self.settings)
    }

    /// What the metrics listener reads.
    pub fn metrics_endpoint(&self) -> http::metrics::MetricsState {
        http::metrics::MetricsState::new(self.metrics.clone(), self.db.clone(), self.clock.clone())
    }
}

impl Deref for App {
    type Target = Handles;

    fn deref(&self) -> &Handles {
        &self.env
    }
}

/// Installs the process-wide TLS provider (ring) that reqwest and lettre use.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// `fulcrum serve`: migrate, then answer HTTP and run workers until SIGINT/SIGTERM; with
/// `FULCRUM_METRICS_BIND`, serve `/metrics` there too (`worker` as well).
pub async fn serve(settings: Settings, with_http: bool) -> anyhow::Result<()> {
    let cipher = Cipher::from_settings(&settings)?;
    let database = db::Database::connect(&settings).await?;
    let result = run(settings, &database, cipher, with_http).await;
    database.shutdown().await;
    result
}

async fn run(settings: Settings, database: &db::Database, cipher: Cipher, with_http: bool) -> anyhow::Result<()> {
    db::migrate(&database.pool).await?;
    let app = App::new(settings, database.pool.clone(), cipher, Clock::default())?;
    let shutdown = CancellationToken::new();
    tokio::spawn(signal_shutdown(shutdown.clone()));

    let metrics = match app.settings.server.metrics_bind {
        Some(bind) => {
            let listener = tokio::net::TcpListener::bind(bind)
                .await
                .with_context(|| format!("listening for metrics on {bind}"))?;
            tracing::info!(address = %listener.local_addr()?, "serving /metrics");
            Some(tokio::spawn(http::metrics::serve(app.metrics_endpoint(), listener, shutdown.clone())))
        }
        None => None,
    };
    let workers = jobs::Worker::new(app.jobs(), jobs::registry()).spawn(shutdown.clone());
    tokio::spawn(health_upkeep(app.clone(), shutdown.clone()));
    if with_http {
        let bind = app.settings.server.bind;
        let listener = tokio::net::TcpListener::bind(bind).await.with_context(|| format!("listening on {bind}"))?;
        tracing::info!(address = %listener.local_addr()?, public_url = app.settings.public_url(), "serving");
        if app.settings.is_production() && !app.settings.public_url().starts_with("https://") {
            tracing::warn!(
                "FULCRUM_PUBLIC_URL is not https: production cookies are Secure, so browsers keep them only \
                 over https (or on localhost), and Lever only calls https webhook URLs"
            );
        }
        http::serve(app.web(), listener, shutdown.clone()).await?;
    }
    shutdown.cancelled().await;
    workers.await.context("the job workers panicked")?;
    if let Some(metrics) = metrics {
        metrics.await.context("the metrics listener panicked")??;
    }
    tracing::info!("stopped");
    Ok(())
}

/// Every few minutes, checks the integration health of connected organizations whose last
/// check is over an hour old, a few at a time (each check reads Lever within the account's
/// budget), so every page's banner tells of a problem nobody went looking for.
async fn health_upkeep(app: App, shutdown: CancellationToken) {
    const EVERY: std::time::Duration = std::time::Duration::from_secs(300);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(EVERY) => {}
            _ = shutdown.cancelled() => return,
        }
        let handles = app.health_handles();
        if let Err(e) = integration_health::refresh_stale(&handles, chrono::Duration::hours(1), 20).await {
            tracing::warn!(error = %format!("{e:#}"), "refreshing integration health failed");
        }
    }
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
