//! The embedded default: with no `DATABASE_URL`, Fulcrum runs a private PostgreSQL cluster
//! under `{data_dir}/postgres` with the machine's own `initdb`/`pg_ctl`, reuses it on the
//! next start and stops it when the last Fulcrum process using it shuts down.
//!
//! PostgreSQL refuses to run as root. When Fulcrum itself runs as root, the cluster runs in
//! a user namespace (`unshare --user`) mapped to an unprivileged user: PostgreSQL sees
//! itself as that user while its files stay owned by root, so it works even when the
//! project lives in a directory only root can enter.

use std::{
    fs::File,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Duration,
};

use anyhow::{Context, bail};

const SUPERUSER: &str = "fulcrum";

/// A running cluster this process uses. Holding it holds a shared lock on
/// `postgres.users`; [`EmbeddedPostgres::stop`] stops the server only when no other
/// process holds that lock.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    data_dir: PathBuf,
    root: PathBuf,
    bin_dir: PathBuf,
    port: u16,
    password: String,
    users_lock: Option<File>,
}

impl EmbeddedPostgres {
    /// Starts (or joins) the cluster under `root/postgres`. Blocking: call it from
    /// `spawn_blocking` inside async code.
    pub fn start(root: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(root).with_context(|| format!("creating {}", root.display()))?;
        let root = root.canonicalize()?;
        let data_dir = root.join("postgres");
        let bin_dir = find_bin_dir()?;

        // Serialise set-up between processes starting at the same moment.
        let setup = lock_file(&root.join("postgres.lock"))?;
        setup.lock()?;

        if !data_dir.join("PG_VERSION").exists() {
            init_cluster(&bin_dir, &root, &data_dir)?;
        }
        let password = std::fs::read_to_string(password_path(&root))
            .context("reading the embedded cluster's password file")?
            .trim()
            .to_string();
        let port = match running_port(&bin_dir, &data_dir)? {
            Some(port) => port,
            None => start_server(&bin_dir, &root, &data_dir)?,
        };
        let users_lock = lock_file(&root.join("postgres.users"))?;
        users_lock.lock_shared()?;
        setup.unlock()?;

        Ok(Self { data_dir, root, bin_dir, port, password, users_lock: Some(users_lock) })
    }

    /// URL of the cluster's `postgres` maintenance database.
    pub fn maintenance_url(&self) -> String {
        self.url_for("postgres")
    }

    pub fn url_for(&self, database: &str) -> String {
        format!("postgres://{SUPERUSER}:{}@127.0.0.1:{}/{database}", self.password, self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server unless another process still uses it.
    pub fn stop(mut self) -> anyhow::Result<()> {
        let setup = lock_file(&self.root.join("postgres.lock"))?;
        setup.lock()?;
        drop(self.users_lock.take());
        let users = lock_file(&self.root.join("postgres.users"))?;
        if users.try_lock().is_ok() {
            tracing::info!("stopping the embedded PostgreSQL cluster");
            let status = pg_command(&self.bin_dir, "pg_ctl")
                .args(["stop", "-w", "-t", "300", "-m", "fast", "-D"])
                .arg(&self.data_dir)
                .stdout(Stdio::null())
                .status()
                .context("running pg_ctl stop")?;
            if !status.success() {
                bail!("pg_ctl stop failed ({status})");
            }
        } else {
            tracing::info!("the embedded PostgreSQL cluster is still in use by another process");
        }
        Ok(())
    }

    /// Stops the server at once, as a power cut would (`pg_ctl stop -m immediate`): no
    /// checkpoint, open connections cut; the next start replays the WAL. For crash tests.
    pub fn crash(&self) -> anyhow::Result<()> {
        let status = pg_command(&self.bin_dir, "pg_ctl")
            .args(["stop", "-w", "-m", "immediate", "-D"])
            .arg(&self.data_dir)
            .stdout(Stdio::null())
            .status()
            .context("running pg_ctl stop")?;
        if !status.success() {
            bail!("pg_ctl stop -m immediate failed ({status})");
        }
        Ok(())
    }

    /// Starts the server again after [`Self::crash`], on the same port, so clients that
    /// hold its URL reconnect by themselves.
    pub fn restart(&self) -> anyhow::Result<()> {
        start_server_on(&self.bin_dir, &self.root, &self.data_dir, self.port)
    }

    /// Stops the server when this process exits, however it exits (tests use this: the
    /// test harness has no teardown hook). A child shell waits for end-of-file on a pipe
    /// whose writing end only this process holds.
    pub fn stop_at_exit(&self) -> anyhow::Result<()> {
        let mut command = pg_command(&self.bin_dir, "sh");
        command
            .arg("-c")
            .arg(r#"read _ignored; exec "$0" stop -w -m fast -D "$1" >/dev/null 2>&1"#)
            .arg(self.bin_dir.join("pg_ctl"))
            .arg(&self.data_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = command.spawn().context("starting the cluster's exit watcher")?;
        // Leaked on purpose: the pipe must stay open for the life of the process.
        std::mem::forget(child);
        Ok(())
    }
}

fn lock_file(path: &Path) -> anyhow::Result<File> {
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))
}

fn password_path(root: &Path) -> PathBuf {
    root.join("postgres.password")
}

/// `initdb` and `pg_ctl` from PATH, else the newest `/usr/lib/postgresql/*/bin`.
fn find_bin_dir() -> anyhow::Result<PathBuf> {
    find_bin_dir_in(std::env::var_os("PATH"), Path::new("/usr/lib/postgresql"))
}

fn find_bin_dir_in(path: Option<std::ffi::OsString>, versions_root: &Path) -> anyhow::Result<PathBuf> {
    let has_both = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(path) = path {
        for dir in std::env::split_paths(&path) {
            if has_both(&dir) {
                return Ok(dir);
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(versions_root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            has_both(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    match versions.pop() {
        Some((_, dir)) => Ok(dir),
        None => bail!(
            "DATABASE_URL is not set, and PostgreSQL's server programs (initdb, pg_ctl) were not \
             found on PATH or in /usr/lib/postgresql/*/bin, so Fulcrum cannot start its own \
             database.\n  Install them (Debian/Ubuntu: `apt install postgresql`; Fedora: `dnf \
             install postgresql-server`; macOS: `brew install postgresql@16`),\n  or point Fulcrum \
             at an existing database: DATABASE_URL=postgres://user:password@localhost:5432/fulcrum"
        ),
    }
}

/// A command for one of the cluster's programs, run as an unprivileged user when we are
/// root (see the module docs).
fn pg_command(bin_dir: &Path, program: &str) -> Command {
    let program = if program.contains('/') || program == "sh" { PathBuf::from(program) } else { bin_dir.join(program) };
    if !rustix::process::geteuid().is_root() {
        return Command::new(program);
    }
    let (uid, gid) = unprivileged_ids();
    let mut command = Command::new("unshare");
    command.arg("--user").arg(format!("--map-user={uid}")).arg(format!("--map-group={gid}")).arg("--").arg(program);
    command
}

/// The ids of `postgres`, else `nobody`: an existing account, so PostgreSQL can look up
/// its own user name.
fn unprivileged_ids() -> (u32, u32) {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let find = |name: &str| {
        passwd.lines().find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            (fields.first() == Some(&name) && fields.len() > 3)
                .then(|| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))
                .flatten()
        })
    };
    find("postgres").or_else(|| find("nobody")).unwrap_or((65534, 65534))
}

fn init_cluster(bin_dir: &Path, root: &Path, data_dir: &Path) -> anyhow::Result<()> {
    tracing::info!(dir = %data_dir.display(), "creating the embedded PostgreSQL cluster");
    // A previous attempt may have died half-way: initdb wants an empty directory.
    if data_dir.exists() {
        std::fs::remove_dir_all(data_dir)?;
    }
    let password = crate::crypto::random_token(24);
    let _ = std::fs::remove_file(password_path(root));
    crate::crypto::write_private(&password_path(root), &password)?;
    let pwfile = root.join("postgres.pwfile");
    let _ = std::fs::remove_file(&pwfile);
    crate::crypto::write_private(&pwfile, &password)?;
    let output = pg_command(bin_dir, "initdb")
        .arg("-D")
        .arg(data_dir)
        .args(["-U", SUPERUSER, "-A", "scram-sha-256", "-E", "UTF8", "--locale=C"])
        .arg(format!("--pwfile={}", pwfile.display()))
        .output()
        .context("running initdb")?;
    let _ = std::fs::remove_file(&pwfile);
    if !output.status.success() {
        bail!("initdb failed ({}):\n{}", output.status, String::from_utf8_lossy(&output.stderr));
    }
    Ok(())
}

/// The port of an already running server for this data directory, if any.
fn running_port(bin_dir: &Path, data_dir: &Path) -> anyhow::Result<Option<u16>> {
    let status = pg_command(bin_dir, "pg_ctl")
        .arg("status")
        .arg("-D")
        .arg(data_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .context("running pg_ctl status")?;
    if !status.success() {
        return Ok(None);
    }
    // postmaster.pid: pid, data directory, start time, port, socket dir, listen address,
    // shared memory key, status.
    let pid_file = data_dir.join("postmaster.pid");
    let contents = std::fs::read_to_string(&pid_file).unwrap_or_default();
    if contents.lines().nth(7).is_some_and(|status| status.trim() == "stopping") {
        // Its last user is stopping it: let it go, then start afresh.
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while pid_file.exists() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        return Ok(None);
    }
    Ok(contents.lines().nth(3).and_then(|l| l.trim().parse().ok()))
}

fn start_server(bin_dir: &Path, root: &Path, data_dir: &Path) -> anyhow::Result<u16> {
    let port = free_port()?;
    start_server_on(bin_dir, root, data_dir, port)?;
    Ok(port)
}

fn start_server_on(bin_dir: &Path, root: &Path, data_dir: &Path, port: u16) -> anyhow::Result<()> {
    tracing::info!(port, "starting the embedded PostgreSQL cluster");
    let options = format!(
        "-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' \
         -c max_connections=300 -c shared_buffers=128MB"
    );
    let output = pg_command(bin_dir, "pg_ctl")
        .args(["start", "-w", "-t", "60", "-D"])
        .arg(data_dir)
        .arg("-l")
        .arg(root.join("postgres.log"))
        .arg("-o")
        .arg(options)
        .stdin(Stdio::null())
        .output()
        .context("running pg_ctl start")?;
    if !output.status.success() {
        let log = std::fs::read_to_string(root.join("postgres.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(10).collect();
        bail!(
            "the embedded PostgreSQL did not start ({}): {}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim(),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    Ok(())
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Waits until the server accepts connections (right after `pg_ctl start -w` it does, but
/// a server found running may still be recovering).
pub async fn wait_until_ready(url: &str) -> anyhow::Result<()> {
    use sqlx::Connection;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        match sqlx::PgConnection::connect(url).await {
            Ok(conn) => {
                conn.close().await.ok();
                return Ok(());
            }
            Err(e) if tokio::time::Instant::now() > deadline => {
                return Err(e).context("the embedded PostgreSQL does not accept connections");
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_postgres_programs_it_says_what_to_install_or_set() {
        let nowhere = std::env::temp_dir().join("fulcrum-no-such-postgres");
        let error = find_bin_dir_in(Some("/nonexistent".into()), &nowhere).unwrap_err().to_string();
        assert!(error.contains("apt install postgresql"), "{error}");
        assert!(error.contains("DATABASE_URL=postgres://"), "{error}");
    }

    #[test]
    fn the_newest_installed_version_is_used() {
        let root = tempfile::tempdir().unwrap();
        for version in ["13", "15", "notes"] {
            let bin = root.path().join(version).join("bin");
            std::fs::create_dir_all(&bin).unwrap();
            std::fs::write(bin.join("initdb"), "").unwrap();
            std::fs::write(bin.join("pg_ctl"), "").unwrap();
        }
        assert_eq!(find_bin_dir_in(None, root.path()).unwrap(), root.path().join("15").join("bin"));
    }
}
