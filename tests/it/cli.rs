//! The `fulcrum` binary as an operator runs it: `org create`, `serve` on a shared database,
//! the embedded PostgreSQL default, graceful shutdown.

use std::{
    path::Path,
    process::{Child, Command, Stdio},
    time::Duration,
};

use crate::support::{db::TestDatabase, eventually, org::PASSWORD, spawn_app};

const BIN: &str = env!("CARGO_BIN_EXE_fulcrum");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `fulcrum serve` with a clean environment apart from what is given.
fn serve(dir: &Path, port: u16, database_url: Option<&str>) -> Child {
    let mut command = Command::new(BIN);
    command
        .arg("serve")
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("FULCRUM_BIND", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(url) = database_url {
        command.env("DATABASE_URL", url);
    }
    command.spawn().expect("starting fulcrum serve")
}

async fn ready(port: u16) -> bool {
    let url = format!("http://127.0.0.1:{port}/readyz");
    matches!(reqwest::get(&url).await, Ok(r) if r.status() == 200)
}

/// SIGTERM, then the exit status (graceful shutdown exits 0).
fn terminate(mut child: Child) -> std::process::ExitStatus {
    Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().unwrap();
    child.wait().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn org_create_prints_json_and_its_admin_signs_in() {
    let app = spawn_app().await;
    let output = Command::new(BIN)
        .args(["org", "create", "--name", "Acme", "--admin-email", "a@acme.test", "--admin-password", PASSWORD])
        .env("DATABASE_URL", app.database_url())
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let printed: serde_json::Value = serde_json::from_slice(&output.stdout).expect("one JSON object on stdout");
    for key in ["org_id", "admin_user_id", "api_key"] {
        assert!(printed[key].is_string(), "{key} in {printed}");
    }
    let browser = app.browser();
    let page = browser.sign_in("a@acme.test", PASSWORD).await;
    assert_eq!(page.status, 303);
    assert_eq!(browser.get("/app").await.status, 200);
    let (status, org) = app.api(printed["api_key"].as_str().unwrap()).get("/organization").await;
    assert_eq!((status, org["name"].as_str()), (200, Some("Acme")));

    let bad = Command::new(BIN)
        .args(["org", "create", "--name", "X", "--admin-email", "nope", "--admin-password", PASSWORD])
        .env("DATABASE_URL", app.database_url())
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--admin-email"));
}

#[tokio::test]
async fn two_servers_starting_together_migrate_once_and_both_become_ready() {
    let database = TestDatabase::empty().await;
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (free_port(), free_port());
    let first = serve(dir.path(), a, Some(&database.url));
    let second = serve(dir.path(), b, Some(&database.url));
    eventually("both servers ready", Duration::from_secs(60), || async { ready(a).await && ready(b).await }).await;
    let pool = sqlx::PgPool::connect(&database.url).await.unwrap();
    let (rows, distinct): (i64, i64) =
        sqlx::query_as("SELECT count(*), count(DISTINCT version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(rows, fulcrum::db::MIGRATOR.iter().count() as i64);
    assert_eq!(rows, distinct);
    pool.close().await;
    assert!(terminate(first).success(), "graceful shutdown exits cleanly");
    assert!(terminate(second).success());
}

#[tokio::test]
async fn without_database_url_it_runs_its_own_postgres_and_reuses_it() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let first = serve(dir.path(), port, None);
    eventually("the embedded default ready", Duration::from_secs(90), || ready(port)).await;
    assert!(dir.path().join(".data/postgres/PG_VERSION").exists());
    assert!(dir.path().join(".data/secret.key").exists());
    assert!(terminate(first).success());
    // Stopped with the last process that used it.
    assert!(!dir.path().join(".data/postgres/postmaster.pid").exists());

    let port = free_port();
    let second = serve(dir.path(), port, None);
    eventually("ready again on the same cluster", Duration::from_secs(60), || ready(port)).await;
    assert!(terminate(second).success());
}
