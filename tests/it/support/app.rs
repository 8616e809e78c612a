//! `spawn_app`: the real server on port 0 with a fresh database, a fake Lever, a real SMTP
//! sink, and workers — everything a test drives through real HTTP. Dropped, it fails the
//! test over jobs left failed, paused or unprocessed (`leftovers`).

use std::{
    net::{Ipv4Addr, SocketAddr},
    time::Duration,
};

use fulcrum::{
    app::App,
    clock::Clock,
    config::Settings,
    crypto::Cipher,
    jobs::{Registry, Worker, WorkerOptions},
};
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{
    browser::Browser,
    db::TestDatabase,
    fake_lever::FakeLever,
    leftovers::{Check, Expected},
    smtp::SmtpSink,
};

pub struct TestApp {
    pub url: String,
    /// The metrics listener's base URL, when [`Options::metrics`] asked for one.
    pub metrics_url: Option<String>,
    pub addr: SocketAddr,
    pub state: App,
    pub db: PgPool,
    pub lever: FakeLever,
    pub smtp: SmtpSink,
    pub data_dir: tempfile::TempDir,
    shutdown: CancellationToken,
    workers: Vec<AppWorker>,
    server: Option<JoinHandle<()>>,
    /// Jobs the test leaves behind on purpose; any others fail it on drop.
    expected: Expected,
    // Dropped last: the pools above must close first.
    _database: TestDatabase,
}

struct AppWorker {
    stop: CancellationToken,
    handle: JoinHandle<()>,
    /// The job kinds it runs.
    kinds: Vec<String>,
    /// Killed workers run nothing more.
    live: bool,
}

#[derive(Clone)]
pub struct Options {
    /// Run a worker inside the app (most tests want jobs to run). Without one, due work
    /// left at the end had nobody to run it, and is not held against the test.
    pub worker: bool,
    pub lever_configured: bool,
    pub lease: Duration,
    pub extra_env: Vec<(String, String)>,
    /// The loopback address the app listens on. Browsers keep cookies per host, not per port:
    /// apps that share one browser each need their own.
    pub host: Ipv4Addr,
    /// The maintenance URL of a PostgreSQL server the test owns (to crash it, say); the
    /// shared test server when `None`.
    pub database_server: Option<String>,
    /// Start the metrics listener (`FULCRUM_METRICS_BIND`) on a port of its own.
    pub metrics: bool,
    /// No `SMTP_URL`: mail is written to the outbox folder, as in development.
    pub mail_to_outbox: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            worker: true,
            lever_configured: true,
            lease: Duration::from_secs(30),
            extra_env: Vec::new(),
            host: Ipv4Addr::LOCALHOST,
            database_server: None,
            metrics: false,
            mail_to_outbox: false,
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_with(Options::default()).await
}

pub async fn spawn_with(options: Options) -> TestApp {
    assert_eq!(
        tokio::runtime::Handle::current().runtime_flavor(),
        tokio::runtime::RuntimeFlavor::MultiThread,
        "a TestApp needs #[tokio::test(flavor = \"multi_thread\", worker_threads = 2)]: its drop waits for \
         the app's workers, which must keep running meanwhile"
    );
    fulcrum::app::install_tls_provider();
    init_test_tracing();
    let database = match &options.database_server {
        Some(admin_url) => TestDatabase::create_on(admin_url).await,
        None => TestDatabase::create().await,
    };
    let lever = FakeLever::start().await;
    let smtp = SmtpSink::start().await;
    let listener = tokio::net::TcpListener::bind((options.host, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let url = format!("http://{addr}");
    let data_dir = tempfile::tempdir().unwrap();

    let mut env = vec![
        ("DATABASE_URL", database.url.clone()),
        ("FULCRUM_PUBLIC_URL", url.clone()),
        ("FULCRUM_SECRET_KEY", hex::encode(rand::random::<[u8; 32]>())),
        ("LEVER_AUTH_URL", lever.auth_url()),
        ("LEVER_API_URL", lever.api_url()),
        ("LEVER_AUDIENCE", FakeLever::audience().to_string()),
        ("SMTP_URL", smtp.url()),
        ("FULCRUM_EMAIL_FROM", "Fulcrum <no-reply@fulcrum.test>".to_string()),
        ("FULCRUM__DATABASE__DATA_DIR", data_dir.path().display().to_string()),
        ("FULCRUM__JOBS__LEASE_SECS", options.lease.as_secs().max(1).to_string()),
        ("FULCRUM__JOBS__POLL_INTERVAL_MS", "200".to_string()),
        ("FULCRUM__LEVER__REQUEST_TIMEOUT_MS", "3000".to_string()),
    ];
    if options.mail_to_outbox {
        env.retain(|(key, _)| *key != "SMTP_URL");
    }
    if options.lever_configured {
        env.push(("LEVER_CLIENT_ID", super::fake_lever::CLIENT_ID.to_string()));
        env.push(("LEVER_CLIENT_SECRET", super::fake_lever::CLIENT_SECRET.to_string()));
    }
    let mut env: Vec<(String, String)> = env.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    env.extend(options.extra_env.iter().cloned());
    let settings = Settings::from_sources(None, env).expect("test settings");
    lever.set_redirect_uri(&format!("{url}/integrations/lever/callback"));

    let db = fulcrum::db::pool(&database.url, 8, 5_000).unwrap();
    let cipher = Cipher::from_settings(&settings).unwrap();
    let state = App::new(settings, db.clone(), cipher, Clock::default()).unwrap();
    let shutdown = CancellationToken::new();
    let server = tokio::spawn({
        let (state, shutdown) = (state.clone(), shutdown.clone());
        async move { fulcrum::http::serve(state.web(), listener, shutdown).await.expect("server failed") }
    });
    let metrics_url = if options.metrics {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let metrics_url = format!("http://{}", listener.local_addr().unwrap());
        let (endpoint, shutdown) = (state.metrics_endpoint(), shutdown.clone());
        tokio::spawn(async move { fulcrum::http::metrics::serve(endpoint, listener, shutdown).await.unwrap() });
        Some(metrics_url)
    } else {
        None
    };
    let mut app = TestApp {
        url,
        metrics_url,
        addr,
        state,
        db,
        lever,
        smtp,
        data_dir,
        shutdown,
        workers: Vec::new(),
        server: Some(server),
        expected: Expected::default(),
        _database: database,
    };
    if options.worker {
        app.start_worker(options.lease);
    }
    app
}

fn init_test_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("TEST_LOG").unwrap_or_else(|_| "off".into()))
        .with_test_writer()
        .try_init();
}

pub fn worker_options(lease: Duration) -> WorkerOptions {
    WorkerOptions {
        concurrency: 16,
        per_org_claim: 4,
        lease,
        poll_interval: Duration::from_millis(200),
        shutdown_grace: Duration::from_secs(5),
        maintenance_interval: (lease / 6).clamp(Duration::from_millis(100), Duration::from_secs(2)),
    }
}

impl TestApp {
    /// Starts one more worker on the app's database (as a second process would).
    pub fn start_worker(&mut self, lease: Duration) -> usize {
        self.start_worker_with(self.state.clone(), fulcrum::jobs::registry(), worker_options(lease)).0
    }

    /// Starts a worker running `registry`'s job kinds on `state` (the app's own, or a
    /// [`Self::second_process`]); returns its index and its id (`jobs.locked_by`).
    pub fn start_worker_with(&mut self, state: App, registry: Registry, options: WorkerOptions) -> (usize, String) {
        let stop = CancellationToken::new();
        let kinds = registry.kinds();
        let worker = Worker::with_options(state.jobs(), registry, options);
        let id = worker.id().to_string();
        self.workers.push(AppWorker { stop: stop.clone(), handle: worker.spawn(stop), kinds, live: true });
        (self.workers.len() - 1, id)
    }

    /// Kills a worker without any clean-up, as a crashed process would leave it: its
    /// claimed jobs stay claimed until their leases run out.
    pub fn kill_worker(&mut self, index: usize) {
        let worker = &mut self.workers[index];
        worker.handle.abort();
        worker.live = false;
    }

    /// Stops every worker cleanly; due work left then had nobody to run it, and is not
    /// held against the test.
    pub async fn stop_workers(&mut self) {
        for worker in self.workers.drain(..) {
            worker.stop.cancel();
            let _ = worker.handle.await;
        }
    }

    /// The metrics listener's `/metrics` text (the app must be spawned with
    /// [`Options::metrics`]).
    pub async fn scrape_metrics(&self) -> String {
        let base = self.metrics_url.as_deref().expect("spawned with Options { metrics: true, .. }");
        let response = self.http().get(format!("{base}/metrics")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.text().await.unwrap()
    }

    /// The test leaves failed jobs on purpose: they do not fail it on drop.
    pub fn expect_failed_jobs(&self) {
        self.expected.failed();
    }

    /// The test leaves paused or unprocessed jobs on purpose: they do not fail it on drop.
    pub fn expect_leftover_jobs(&self) {
        self.expected.leftover();
    }

    pub fn database_url(&self) -> &str {
        &self._database.url
    }

    /// The database stops taking connections and drops the ones it has.
    pub async fn take_database_away(&self) {
        // The queue cannot be read at the end, so it is not judged.
        self.expected.unreadable();
        self._database.refuse_connections().await;
    }

    /// Another process on the same database: its own pool, token cache and HTTP client.
    pub fn second_process(&self) -> App {
        let db = fulcrum::db::pool(&self._database.url, 4, 5_000).unwrap();
        App::new(self.state.settings.clone(), db, self.state.cipher.clone(), self.state.clock.clone()).unwrap()
    }

    pub fn browser(&self) -> Browser {
        Browser::new(&self.url)
    }

    /// A reqwest client with no cookies and no redirects followed.
    pub fn http(&self) -> reqwest::Client {
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
    }

    pub fn clock(&self) -> &Clock {
        &self.state.clock
    }

    /// Wakes the workers (as an enqueue would): after moving the clock, scheduled jobs are due.
    pub async fn wake_workers(&self) {
        sqlx::query("SELECT pg_notify($1, '')").bind(fulcrum::jobs::CHANNEL).execute(&self.db).await.unwrap();
    }
}

impl TestApp {
    fn leftover_jobs(&self) -> Vec<super::leftovers::Leftover> {
        let mut live_kinds: Vec<String> =
            self.workers.iter().filter(|w| w.live).flat_map(|w| w.kinds.iter().cloned()).collect();
        live_kinds.sort();
        live_kinds.dedup();
        let check = Check { database_url: self._database.url.clone(), clock: self.clock().clone(), live_kinds };
        check.run(&self.expected)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Judged while the workers still run, so they can finish what is due. A test that
        // already failed reports its own failure, not a second one.
        let leftovers = if std::thread::panicking() { Vec::new() } else { self.leftover_jobs() };
        self.shutdown.cancel();
        for worker in &self.workers {
            worker.stop.cancel();
            worker.handle.abort();
        }
        if let Some(server) = self.server.take() {
            server.abort();
        }
        if !leftovers.is_empty() {
            let list: Vec<String> = leftovers.iter().map(|job| format!("  {job}")).collect();
            panic!(
                "the test left {} job(s) behind:\n{}\nA test that means to says so: \
                 app.expect_failed_jobs() or app.expect_leftover_jobs().",
                leftovers.len(),
                list.join("\n")
            );
        }
    }
}
