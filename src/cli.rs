//! The `fulcrum` binary's subcommands. Every subcommand and argument carries its help text
//! (`fulcrum help`, `fulcrum <command> --help`).

use std::time::Duration;

use anyhow::{Context, bail};
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
    /// HTTP server and job workers in one process (the default); applies pending migrations
    /// first. Listens on FULCRUM_BIND, and serves /metrics on FULCRUM_METRICS_BIND when set.
    Serve,
    /// Job workers only (no HTTP); applies pending migrations first. Serves /metrics on
    /// FULCRUM_METRICS_BIND when set.
    Worker,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage organizations.
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// Check that a running server is ready (its /readyz answers 200): exits 0 when it is,
    /// 1 when it is not, with a one-line message. For container health checks.
    Health {
        /// The server's base URL, e.g. http://127.0.0.1:8080 [default: http:// and
        /// FULCRUM_BIND, with an unspecified address such as 0.0.0.0 read as loopback]
        #[arg(long, value_name = "URL")]
        url: Option<String>,
    },
}

#[derive(Subcommand)]
enum OrgCommand {
    /// Create an organization and its first admin, with no verification email; prints one
    /// line of JSON with org_id, admin_user_id, admin_email and the first API key (shown
    /// only here).
    Create {
        /// The organization's name (1–200 characters).
        #[arg(long)]
        name: String,
        /// The first admin's email address; it must not belong to any account yet.
        #[arg(long, value_name = "EMAIL")]
        admin_email: String,
        /// The admin's password, at least 10 characters. Omitted: one is generated and
        /// printed as admin_password.
        #[arg(long, value_name = "PASSWORD")]
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
        Command::Health { url } => health(&settings, url.as_deref()).await,
    }
}

/// How long `fulcrum health` waits for an answer: well inside a container health check's
/// usual time-out.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(5);

/// `fulcrum health`: one GET of `/readyz`.
async fn health(settings: &Settings, url: Option<&str>) -> anyhow::Result<()> {
    let readyz = readyz_url(url, settings.server.bind)?;
    let client = reqwest::Client::builder()
        .timeout(HEALTH_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .context("building the HTTP client")?;
    let response = match client.get(readyz.clone()).send().await {
        Ok(response) => response,
        Err(e) if e.is_timeout() => bail!("not ready: {readyz} did not answer within {HEALTH_TIMEOUT:?}"),
        Err(e) if e.is_connect() => bail!("not ready: nothing answers at {readyz}"),
        Err(e) => bail!("not ready: {readyz}: {}", e.without_url()),
    };
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    // The body is one short line (`ready`, `database unavailable`); keep it that way.
    let said: String = body.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(200).collect();
    if status != reqwest::StatusCode::OK {
        bail!(
            "not ready: {readyz} answered {status}{}",
            if said.is_empty() { String::new() } else { format!(": {said}") }
        );
    }
    println!("ready: {readyz} answered {status}");
    Ok(())
}

/// `/readyz` under `url`, or under `http://{bind}` with an unspecified address (0.0.0.0,
/// [::]) replaced by loopback: a server listening everywhere answers there too.
fn readyz_url(url: Option<&str>, bind: std::net::SocketAddr) -> anyhow::Result<reqwest::Url> {
    let base = match url {
        Some(url) => url.to_string(),
        None => {
            let mut addr = bind;
            if addr.ip().is_unspecified() {
                addr.set_ip(match addr {
                    std::net::SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                    std::net::SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
                });
            }
            format!("http://{addr}")
        }
    };
    let parsed = reqwest::Url::parse(&base).with_context(|| format!("--url {base:?} is not a URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.cannot_be_a_base() {
        bail!("--url {base:?} must be an http(s) URL such as http://127.0.0.1:8080");
    }
    if parsed.path().trim_end_matches('/').ends_with("/readyz") {
        return Ok(parsed);
    }
    let path = format!("{}/readyz", parsed.path().trim_end_matches('/'));
    let mut readyz = parsed;
    readyz.set_path(&path);
    readyz.set_query(None);
    Ok(readyz)
}

async fn create_org(settings: &Settings, name: &str, email: &str, password: Option<String>) -> anyhow::Result<()> {
    orgs::check_org_name(name)?;
    let email = EmailAddress::parse(email).map_err(|e| anyhow::anyhow!("--admin-email: {e}"))?;
    let generated = password.is_none();
    let password = password.unwrap_or_else(|| crypto::random_token(18));
    orgs::check_password(&password).context("--admin-password")?;
    let hash = orgs::hash_password_blocking(&password);
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
    // Colours only for a person at a terminal: collected logs stay plain text.
    let colours = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(colours);
    if json {
        builder.json().flatten_event(true).init();
    } else {
        builder.init();
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    /// Every subcommand and argument explains itself in `--help`.
    #[test]
    fn every_command_and_argument_has_help() {
        fn check(command: &clap::Command, path: &str) {
            for arg in command.get_arguments() {
                let id = arg.get_id().as_str();
                if ["help", "version"].contains(&id) {
                    continue;
                }
                assert!(arg.get_help().is_some_and(|h| !h.to_string().is_empty()), "{path} --{id} has no help");
            }
            for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
                let path = format!("{path} {}", sub.get_name());
                assert!(sub.get_about().is_some_and(|h| !h.to_string().is_empty()), "`{path}` has no help");
                check(sub, &path);
            }
        }
        let cli = Cli::command();
        cli.clone().debug_assert();
        check(&cli, "fulcrum");
    }

    #[test]
    fn health_reads_readyz_from_the_bind_address_or_the_url() {
        let url = |u: Option<&str>, bind: &str| readyz_url(u, bind.parse().unwrap()).map(|u| u.to_string());
        assert_eq!(url(None, "127.0.0.1:8080").unwrap(), "http://127.0.0.1:8080/readyz");
        assert_eq!(url(None, "0.0.0.0:8080").unwrap(), "http://127.0.0.1:8080/readyz");
        assert_eq!(url(None, "[::]:9000").unwrap(), "http://[::1]:9000/readyz");
        assert_eq!(url(Some("http://app:8080"), "0.0.0.0:1").unwrap(), "http://app:8080/readyz");
        assert_eq!(url(Some("https://x.test/base/"), "0.0.0.0:1").unwrap(), "https://x.test/base/readyz");
        assert_eq!(url(Some("http://x.test/readyz"), "0.0.0.0:1").unwrap(), "http://x.test/readyz");
        assert!(url(Some("ftp://x.test"), "0.0.0.0:1").is_err());
        assert!(url(Some("not a url"), "0.0.0.0:1").is_err());
    }
}
