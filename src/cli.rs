use anyhow::Context;
use clap::{Parser, Subcommand};
use serde_json::json;

use crate::{app, config::Settings, crypto, db, domain::email::EmailAddress, orgs};

#[derive(Parser)]
#[command(name = "fulcrum", version, about = "Assessments for candidates in Lever, invited and scored automatically")]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// HTTP server and job workers in one process (the default).
    Serve,
    /// Job workers only.
    Worker,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage organizations.
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
}

#[derive(Subcommand)]
enum OrgCommand {
    /// Create an organization and its first admin; prints JSON with the first API key.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        admin_email: String,
        /// At least 10 characters. Omitted: one is generated and printed.
        #[arg(long)]
        admin_password: Option<String>,
    },
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::load()?;
    init_tracing(settings.is_production());
    app::install_tls_provider();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => app::serve(settings, true).await,
        Command::Worker => app::serve(settings, false).await,
        Command::Migrate => with_database(&settings, |pool| async move { db::migrate(&pool).await }).await,
        Command::Org { command: OrgCommand::Create { name, admin_email, admin_password } } => {
            create_org(&settings, &name, &admin_email, admin_password).await
        }
    }
}

async fn create_org(settings: &Settings, name: &str, email: &str, password: Option<String>) -> anyhow::Result<()> {
    orgs::check_org_name(name)?;
    let email = EmailAddress::parse(email).map_err(|e| anyhow::anyhow!("--admin-email: {e}"))?;
    let generated = password.is_none();
    let password = password.unwrap_or_else(|| crypto::random_token(18));
    orgs::check_password(&password).context("--admin-password")?;
    let hash = orgs::hash_password(&password)?;
    let admin = &email;
    let created = with_database(settings, |pool| async move {
        db::migrate(&pool).await?;
        let mut tx = pool.begin().await?;
        let created = orgs::create_org(&mut tx, name, admin, &hash, orgs::Verification::Verified).await?;
        tx.commit().await?;
        Ok(created)
    })
    .await?;
    let mut out = json!({
        "org_id": created.org_id,
        "admin_user_id": created.admin_user_id,
        "admin_email": email.as_str(),
        "api_key": created.api_key,
    });
    if generated {
        out["admin_password"] = json!(password);
    }
    println!("{out}");
    Ok(())
}

/// Runs `work` against the configured database (starting and stopping the embedded one if
/// need be).
async fn with_database<T, F, Fut>(settings: &Settings, work: F) -> anyhow::Result<T>
where
    F: FnOnce(sqlx::PgPool) -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    let database = db::Database::connect(settings).await?;
    let result = work(database.pool.clone()).await;
    database.shutdown().await;
    result
}

fn init_tracing(json: bool) {
    use tracing_subscriber::{EnvFilter, fmt};
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if json {
        builder.json().flatten_event(true).init();
    } else {
        builder.init();
    }
}
