//! A fresh PostgreSQL database per test, cloned from a template that has every migration
//! applied. The server is `DATABASE_URL` when set, else an embedded cluster started once
//! per test run (and stopped when the test process exits).

use std::sync::OnceLock;

use sqlx::{Connection, PgConnection};

struct Server {
    /// A URL to the server's maintenance database, for CREATE/DROP DATABASE.
    admin_url: String,
    template: String,
}

static SERVER: OnceLock<Server> = OnceLock::new();

/// Runs async set-up on its own runtime: the test runtimes come and go, the server stays.
fn block_on<T: Send + 'static>(work: impl Future<Output = T> + Send + 'static) -> T {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime").block_on(work)
    })
    .join()
    .expect("database set-up panicked")
}

fn server() -> &'static Server {
    SERVER.get_or_init(|| block_on(start()))
}

async fn start() -> Server {
    let admin_url = match std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()) {
        Some(url) => url,
        None => {
            let root = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("fulcrum-test-pg");
            let cluster = tokio::task::spawn_blocking(move || fulcrum::db::EmbeddedPostgres::start(&root))
                .await
                .unwrap()
                .expect("starting the embedded PostgreSQL for tests");
            cluster.stop_at_exit().expect("arranging the cluster's stop");
            fulcrum::db::embedded::wait_until_ready(&cluster.maintenance_url()).await.unwrap();
            let url = cluster.maintenance_url();
            // The watcher stops it at exit; this process keeps using it until then.
            std::mem::forget(cluster);
            url
        }
    };
    let template = prepare_template(&admin_url).await;
    Server { admin_url, template }
}

/// A template database named after the migrations it holds, so a changed migration gets a
/// new template rather than a stale one.
async fn prepare_template(admin_url: &str) -> String {
    let checksum: String = fulcrum::db::MIGRATOR
        .iter()
        .map(|m| format!("{}:{}", m.version, hex_prefix(&m.checksum)))
        .collect::<Vec<_>>()
        .join(",");
    let digest = fulcrum::crypto::hash_token(&checksum);
    let name = format!("fulcrum_tpl_{}", &digest[..16]);
    let mut admin = PgConnection::connect(admin_url).await.expect("connecting to the test PostgreSQL");
    // Several test processes may start at once: one builds the template, the others wait.
    sqlx::query("SELECT pg_advisory_lock(7215001)").execute(&mut admin).await.unwrap();
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(&name)
        .fetch_one(&mut admin)
        .await
        .unwrap();
    drop_leftovers(&mut admin).await;
    if !exists {
        exec(&mut admin, &format!("CREATE DATABASE \"{name}\"")).await;
        let url = with_database(admin_url, &name);
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        fulcrum::db::migrate(&pool).await.expect("migrating the template database");
        pool.close().await;
    }
    sqlx::query("SELECT pg_advisory_unlock(7215001)").execute(&mut admin).await.unwrap();
    name
}

/// Test databases an earlier run left behind (a killed run, or drops still pending when
/// the process exited), only those over an hour old since another run may be going on.
/// Templates of other migrations are kept: a run of another checkout (another branch) may
/// be cloning from one at this moment.
async fn drop_leftovers(admin: &mut PgConnection) {
    let names: Vec<String> = sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'fulcrum\\_t\\_%'")
        .fetch_all(&mut *admin)
        .await
        .unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let stale = names.into_iter().filter(|name| {
        let created: u64 = name.split('_').nth(2).and_then(|t| t.parse().ok()).unwrap_or(0);
        created + 3600 < now
    });
    for name in stale {
        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS \"{name}\"")))
            .execute(&mut *admin)
            .await;
    }
}

fn hex_prefix(bytes: &[u8]) -> String {
    bytes.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

async fn exec(conn: &mut PgConnection, sql: &str) {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string())).execute(conn).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
}

fn with_database(url: &str, name: &str) -> String {
    let mut parsed = url::Url::parse(url).expect("DATABASE_URL is a URL");
    parsed.set_path(&format!("/{name}"));
    parsed.to_string()
}

/// A database of its own for one test; dropped when this is dropped.
pub struct TestDatabase {
    pub name: String,
    pub url: String,
    /// The server's maintenance database.
    admin_url: String,
}

impl TestDatabase {
    /// A database cloned from the migrated template.
    pub async fn create() -> Self {
        Self::make(true).await
    }

    /// An empty database, for testing migrations themselves.
    pub async fn empty() -> Self {
        Self::make(false).await
    }

    async fn make(migrated: bool) -> Self {
        let server = tokio::task::spawn_blocking(server).await.unwrap();
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let name = format!("fulcrum_t_{now}_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let mut admin = PgConnection::connect(&server.admin_url).await.unwrap();
        let template = if migrated { format!(" TEMPLATE \"{}\"", server.template) } else { String::new() };
        exec(&mut admin, &format!("CREATE DATABASE \"{name}\"{template}")).await;
        admin.close().await.ok();
        let url = with_database(&server.admin_url, &name);
        Self { name, url, admin_url: server.admin_url.clone() }
    }

    /// A migrated database on another server (one the test owns, such as a cluster it
    /// crashes), given its maintenance database's URL.
    pub async fn create_on(admin_url: &str) -> Self {
        let name = format!("fulcrum_own_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let mut admin = PgConnection::connect(admin_url).await.expect("connecting to the test's own PostgreSQL");
        exec(&mut admin, &format!("CREATE DATABASE \"{name}\"")).await;
        admin.close().await.ok();
        let url = with_database(admin_url, &name);
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        fulcrum::db::migrate(&pool).await.expect("migrating the test database");
        pool.close().await;
        Self { name, url, admin_url: admin_url.to_string() }
    }
}

impl TestDatabase {
    /// The database as an operator can make it: refusing new connections, its current ones
    /// terminated (as during a failover or maintenance).
    pub async fn refuse_connections(&self) {
        let mut admin = PgConnection::connect(&self.admin_url).await.unwrap();
        exec(&mut admin, &format!("ALTER DATABASE \"{}\" ALLOW_CONNECTIONS false", self.name)).await;
        sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
            .bind(&self.name)
            .execute(&mut admin)
            .await
            .unwrap();
        admin.close().await.ok();
    }
}

impl Drop for TestDatabase {
    /// Dropped from a detached thread: blocking here would stall the test's runtime while
    /// its pool may still be mid-handshake with the server, and DROP ... WITH (FORCE) would
    /// then wait on those half-open connections.
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(async move {
                if let Ok(mut admin) = PgConnection::connect(&admin_url).await {
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut admin).await;
                }
            });
        });
    }
}
