//! PostgreSQL: the pool, the embedded default, migrations, and the queries of each table.
//!
//! Queries take `&mut PgConnection` (or an executor) so callers can run them inside their
//! own transaction.

pub mod assessments;
pub mod embedded;

use std::{str::FromStr, time::Duration};

use anyhow::Context;
use sqlx::{
    ConnectOptions, Connection, PgPool,
    migrate::Migrator,
    postgres::{PgConnectOptions, PgPoolOptions},
};

use crate::config::Settings;
pub use embedded::EmbeddedPostgres;

pub static MIGRATOR: Migrator = sqlx::migrate!();

/// The database in use: a pool, plus the embedded cluster when Fulcrum runs its own.
pub struct Database {
    pub pool: PgPool,
    pub embedded: Option<EmbeddedPostgres>,
}

impl Database {
    /// Connects to `DATABASE_URL`, or starts the embedded cluster when it is unset.
    pub async fn connect(settings: &Settings) -> anyhow::Result<Self> {
        let (url, embedded) = if settings.database.url.is_empty() {
            let root = settings.database.data_dir.clone();
            let cluster = tokio::task::spawn_blocking(move || EmbeddedPostgres::start(&root)).await??;
            embedded::wait_until_ready(&cluster.maintenance_url()).await?;
            create_database_if_missing(&cluster.maintenance_url(), "fulcrum").await?;
            (cluster.url_for("fulcrum"), Some(cluster))
        } else {
            (settings.database.url.expose().to_string(), None)
        };
        let pool = pool(&url, settings.database.max_connections, settings.database.acquire_timeout_ms)?;
        Ok(Self { pool, embedded })
    }

    /// Closes the pool and stops the embedded cluster if this was its last user.
    pub async fn shutdown(self) {
        self.pool.close().await;
        if let Some(cluster) = self.embedded {
            match tokio::task::spawn_blocking(move || cluster.stop()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(error = %format!("{e:#}"), "stopping the embedded cluster"),
                Err(e) => tracing::warn!(error = %e, "stopping the embedded cluster"),
            }
        }
    }
}

/// A lazily connecting pool: the process starts even when the database is briefly down,
/// and requests then get 503 rather than the process crashing.
pub fn pool(url: &str, max_connections: u32, acquire_timeout_ms: u64) -> anyhow::Result<PgPool> {
    let options = PgConnectOptions::from_str(url)
        .context("DATABASE_URL is not a valid PostgreSQL URL")?
        .application_name("fulcrum")
        .log_statements(tracing::log::LevelFilter::Trace)
        .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_secs(1));
    Ok(PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_millis(acquire_timeout_ms))
        .connect_lazy_with(options))
}

/// Applies pending migrations. sqlx takes a PostgreSQL advisory lock around them, so
/// several processes starting at once migrate exactly once and the others wait.
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    MIGRATOR.run(pool).await.context("applying database migrations")
}

/// True when every migration this binary knows has been applied.
pub async fn migrations_applied(pool: &PgPool) -> Result<bool, sqlx::Error> {
    let latest = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
    let applied: Option<i64> =
        sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success").fetch_one(pool).await?;
    Ok(applied.unwrap_or(0) >= latest)
}

pub async fn create_database_if_missing(maintenance_url: &str, name: &str) -> anyhow::Result<()> {
    let mut conn = sqlx::PgConnection::connect(maintenance_url).await?;
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(name)
        .fetch_one(&mut conn)
        .await?;
    if !exists {
        let sql = format!("CREATE DATABASE \"{name}\"");
        match sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await {
            Ok(_) => {}
            // Another process created it between our check and our CREATE.
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P04") => {}
            Err(e) => return Err(e.into()),
        }
    }
    conn.close().await?;
    Ok(())
}

/// True for errors that mean "the database is not there right now" (answered 503), as
/// opposed to a bug in a query.
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    // SQLSTATE classes: 08 connection exception, 57P operator intervention (shutdown,
    // terminated), 53 insufficient resources (too many connections), 28 refused login,
    // 3D000 no such database, 55000 not accepting connections (ALTER DATABASE ... CONNECTION
    // LIMIT / allow_connections).
    let unavailable_code =
        |c: &str| ["08", "57P", "53", "28"].iter().any(|class| c.starts_with(class)) || c == "3D000" || c == "55000";
    matches!(error, sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed | sqlx::Error::Tls(_))
        || matches!(error, sqlx::Error::Database(e) if e.code().is_some_and(|c| unavailable_code(&c)))
}

/// The name of the constraint a statement violated, if it was a unique violation.
pub fn unique_violation(error: &sqlx::Error) -> Option<&str> {
    match error {
        sqlx::Error::Database(e) if e.code().as_deref() == Some("23505") => e.constraint(),
        _ => None,
    }
}
