//! The `fulcrum` binary as an operator runs it: `org create`, `serve` on a shared database,
//! the embedded PostgreSQL default, graceful shutdown, `health`, the metrics listener of
//! `serve` and `worker`, and the request log.

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
    run(&["serve"], dir, port, database_url, &[])
}

/// `fulcrum {args}` with a clean environment apart from `FULCRUM_BIND`, the database and
/// `env`; standard error is kept.
fn run(args: &[&str], dir: &Path, port: u16, database_url: Option<&str>, env: &[(&str, &str)]) -> Child {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("FULCRUM_BIND", format!("127.0.0.1:{port}"))
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if !env.iter().any(|(k, _)| *k == "RUST_LOG") {
        command.env("RUST_LOG", "warn");
    }
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
fn terminate(child: Child) -> std::process::ExitStatus {
    terminate_with_output(child).0
}

/// SIGTERM, then the exit status and what the process wrote on standard error.
fn terminate_with_output(child: Child) -> (std::process::ExitStatus, String) {
    Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().unwrap();
    let output = child.wait_with_output().unwrap();
    (output.status, String::from_utf8_lossy(&output.stderr).into_owned())
}

/// `fulcrum health` with `args`, its environment holding only `FULCRUM_BIND`.
fn health(args: &[&str], bind_port: u16) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    Command::new(BIN)
        .arg("health")
        .args(args)
        .current_dir(dir.path())
        .env_clear()
        .env("FULCRUM_BIND", format!("0.0.0.0:{bind_port}"))
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

async fn get(url: &str) -> (u16, String) {
    let response = reqwest::get(url).await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
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

#[tokio::test]
async fn serve_logs_each_request_and_serves_metrics_only_on_its_own_listener() {
    fulcrum::app::install_tls_provider();
    let database = TestDatabase::empty().await;
    let dir = tempfile::tempdir().unwrap();
    let (port, metrics_port) = (free_port(), free_port());
    let metrics_bind = format!("127.0.0.1:{metrics_port}");
    let env = [("RUST_LOG", "info"), ("FULCRUM_METRICS_BIND", metrics_bind.as_str())];
    let server = run(&["serve"], dir.path(), port, Some(&database.url), &env);
    eventually("the server ready", Duration::from_secs(60), || ready(port)).await;
    let base = format!("http://127.0.0.1:{port}");

    // Metrics on the metrics listener only.
    let (status, text) = get(&format!("http://{metrics_bind}/metrics")).await;
    assert_eq!(status, 200);
    assert!(text.contains("# TYPE fulcrum_job_oldest_waiting_seconds gauge"), "{text}");
    assert!(text.contains("fulcrum_jobs{state=\"queued\"}"), "{text}");
    assert_eq!(get(&format!("{base}/metrics")).await.0, 404);

    // Requests whose paths carry secrets.
    let webhook_key = "k3y-0f-the-webhook-0123456789abcdef";
    let candidate_token = "t0ken-0f-the-candidate-0123456789";
    let oauth_code = "c0de-from-lever-0123456789";
    let webhook =
        reqwest::Client::new().post(format!("{base}/webhooks/lever/{webhook_key}")).body("{}").send().await.unwrap();
    assert_eq!(webhook.status(), 404);
    let candidate = reqwest::get(format!("{base}/a/{candidate_token}")).await.unwrap();
    assert!(candidate.status().is_client_error(), "{}", candidate.status());
    reqwest::get(format!("{base}/integrations/lever/callback?code={oauth_code}&state=x")).await.unwrap();
    reqwest::get(format!("{base}/no/{webhook_key}")).await.unwrap();

    let (status, log) = terminate_with_output(server);
    assert!(status.success(), "{log}");
    let answered: Vec<&str> = log.lines().filter(|l| l.contains("answered")).collect();
    let line_for = |route: &str| {
        answered
            .iter()
            .find(|l| l.contains(&format!("route={route} ")))
            .copied()
            .unwrap_or_else(|| panic!("no request line for {route} in:\n{log}"))
    };
    let webhook_line = line_for("/webhooks/lever/{key}");
    for part in ["INFO", "method=POST", "status=404", "latency_ms=", "request_id="] {
        assert!(webhook_line.contains(part), "{part} in {webhook_line}");
    }
    assert!(line_for("/a/{token}").contains("method=GET"));
    assert!(line_for("/integrations/lever/callback").contains("status="));
    assert!(line_for("unmatched").contains("status=404"));
    assert!(line_for("/readyz").contains("status=200"));
    for secret in [webhook_key, candidate_token, oauth_code] {
        assert!(!log.contains(secret), "{secret} was logged:\n{log}");
    }
}

#[tokio::test]
async fn health_exits_0_when_ready_and_1_with_a_reason_when_not() {
    fulcrum::app::install_tls_provider();
    let database = TestDatabase::empty().await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let server = serve(dir.path(), port, Some(&database.url));
    eventually("the server ready", Duration::from_secs(60), || ready(port)).await;

    // The default URL comes from FULCRUM_BIND (0.0.0.0 read as loopback); --url overrides it.
    let ok = health(&[], port);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let said = String::from_utf8_lossy(&ok.stdout).to_string();
    assert_eq!(said.lines().count(), 1, "{said}");
    assert!(said.contains(&format!("127.0.0.1:{port}/readyz")) && said.contains("200"), "{said}");
    let ok = health(&["--url", &format!("http://localhost:{port}")], free_port());
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));

    // Nothing listening.
    let closed = free_port();
    let down = health(&[], closed);
    assert_eq!(down.status.code(), Some(1));
    let said = String::from_utf8_lossy(&down.stderr).to_string();
    assert_eq!(said.trim().lines().count(), 1, "{said}");
    assert!(said.starts_with("fulcrum: not ready") && said.contains(&closed.to_string()), "{said}");
    // Something answering, but not 200: the status is in the message.
    let not_ready = health(&["--url", &format!("http://127.0.0.1:{port}/no-such-page/")], closed);
    assert_eq!(not_ready.status.code(), Some(1));
    let said = String::from_utf8_lossy(&not_ready.stderr).to_string();
    assert!(said.contains("404"), "{said}");
    // A URL that is not one is refused clearly.
    let bad = health(&["--url", "ftp://x"], closed);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("http(s)"));

    assert!(terminate(server).success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_says_why_when_the_database_is_gone() {
    let app = spawn_app().await;
    let output = Command::new(BIN)
        .args(["health", "--url", &app.url])
        .env_clear()
        .env("RUST_LOG", "warn")
        .current_dir(app.data_dir.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    app.db.close().await;
    let output = Command::new(BIN)
        .args(["health", "--url", &app.url])
        .env_clear()
        .env("RUST_LOG", "warn")
        .current_dir(app.data_dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("503") && said.contains("database unavailable"), "{said}");
}

#[tokio::test]
async fn a_worker_process_serves_metrics_too() {
    fulcrum::app::install_tls_provider();
    let database = TestDatabase::empty().await;
    let dir = tempfile::tempdir().unwrap();
    let metrics_bind = format!("127.0.0.1:{}", free_port());
    let worker =
        run(&["worker"], dir.path(), free_port(), Some(&database.url), &[("FULCRUM_METRICS_BIND", &metrics_bind)]);
    let url = format!("http://{metrics_bind}/metrics");
    eventually("the worker's metrics listener", Duration::from_secs(60), || async {
        matches!(reqwest::get(&url).await, Ok(r) if r.status() == 200)
    })
    .await;
    let (_, text) = get(&url).await;
    assert!(text.contains("fulcrum_job_oldest_waiting_seconds{kind=\"send_email\"}"), "{text}");
    let (status, log) = terminate_with_output(worker);
    assert!(status.success(), "{log}");
}
