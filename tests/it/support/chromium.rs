//! One headless Chromium and one chromedriver for the whole test binary, started by the
//! first browser test and ended when the binary exits, however it exits. Each test attaches
//! a WebDriver session and a window of its own to that browser (see `tab`).
//!
//! A machine without Chromium skips the browser tests, saying so on stderr; CI sets
//! `FULCRUM_REQUIRE_BROWSER=1`, which turns the skip into a failure.

use std::{
    fs::File,
    io::Write,
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::OnceLock,
    time::{Duration, Instant},
};

/// Chromium's flags: headless, and quiet on a closed network (no background fetches,
/// updates or sync that would only meet refused connections).
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--remote-debugging-port=0",
];

const START_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Chromium {
    /// chromedriver's address, where each test opens its WebDriver session.
    pub driver_url: String,
    /// The browser's DevTools address, which every session attaches to.
    pub debugger_address: String,
}

enum Unavailable {
    /// Not installed: a skip, unless the run requires the browser.
    Missing(String),
    /// Installed but would not start: always a failure.
    Broken(String),
}

static SHARED: OnceLock<Result<Chromium, Unavailable>> = OnceLock::new();

/// The browser shared by the test binary, started on first use. `None`, after one line on
/// stderr saying why, when the machine has no Chromium and the run does not require one.
pub fn shared() -> Option<&'static Chromium> {
    match SHARED.get_or_init(start) {
        Ok(chromium) => Some(chromium),
        Err(Unavailable::Missing(why)) if !required() => {
            let test = std::thread::current().name().unwrap_or("a browser test").to_string();
            let line = format!(
                "browser tests skipped ({test}): {why}; install chromium chromium-driver or set CHROMIUM=… and CHROMEDRIVER=…\n"
            );
            // Straight to stderr, in one write: the test harness hides what tests print
            // unless they fail.
            let _ = std::io::stderr().write_all(line.as_bytes());
            None
        }
        Err(Unavailable::Missing(why)) => {
            panic!("{why}, and FULCRUM_REQUIRE_BROWSER is set: install chromium chromium-driver")
        }
        Err(Unavailable::Broken(why)) => panic!("{why}"),
    }
}

fn required() -> bool {
    std::env::var("FULCRUM_REQUIRE_BROWSER").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Where the browser tests leave what a person may want to look at: screenshots and the
/// browser's logs (`target/browser/`).
pub fn artifacts_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).parent().expect("the target directory").join("browser")
}

fn program(variable: &str, default: &str) -> PathBuf {
    std::env::var_os(variable).filter(|v| !v.is_empty()).map_or_else(|| PathBuf::from(default), PathBuf::from)
}

fn start() -> Result<Chromium, Unavailable> {
    let browser = program("CHROMIUM", "/usr/bin/chromium");
    let driver = program("CHROMEDRIVER", "/usr/bin/chromedriver");
    for path in [&browser, &driver] {
        if !path.is_file() {
            return Err(Unavailable::Missing(format!("{} not found", path.display())));
        }
    }
    let broken = |what: &str, e: &dyn std::fmt::Display| Unavailable::Broken(format!("{what}: {e}"));
    let artifacts = artifacts_dir();
    // Screenshots of an earlier run would pass for this one's.
    let _ = std::fs::remove_dir_all(artifacts.join("screenshots"));
    std::fs::create_dir_all(artifacts.join("screenshots")).map_err(|e| broken("creating target/browser", &e))?;

    let profile = tempfile::Builder::new()
        .prefix("fulcrum-chromium-")
        .tempdir()
        .map_err(|e| broken("creating a profile directory", &e))?
        .keep();
    let mut args: Vec<String> = FLAGS.iter().map(|f| f.to_string()).collect();
    args.push(format!("--user-data-dir={}", profile.display()));
    args.push("about:blank".into());
    run_until_exit(&browser, &args, &artifacts.join("chromium.log"), Some(&profile))
        .map_err(|e| broken(&format!("starting {}", browser.display()), &e))?;
    // Chromium writes the DevTools port it picked into the profile once it listens.
    let port_file = profile.join("DevToolsActivePort");
    let port = wait_for(START_TIMEOUT, || {
        std::fs::read_to_string(&port_file).ok().and_then(|text| text.lines().next()?.trim().parse::<u16>().ok())
    })
    .ok_or_else(|| {
        Unavailable::Broken(format!(
            "Chromium did not open its DevTools port; see {}",
            artifacts.join("chromium.log").display()
        ))
    })?;

    let driver_port = free_port().map_err(|e| broken("finding a port for chromedriver", &e))?;
    run_until_exit(&driver, &[format!("--port={driver_port}")], &artifacts.join("chromedriver.log"), None)
        .map_err(|e| broken(&format!("starting {}", driver.display()), &e))?;
    wait_for(START_TIMEOUT, || TcpStream::connect(("127.0.0.1", driver_port)).ok()).ok_or_else(|| {
        Unavailable::Broken(format!(
            "chromedriver did not listen; see {}",
            artifacts.join("chromedriver.log").display()
        ))
    })?;
    Ok(Chromium {
        driver_url: format!("http://127.0.0.1:{driver_port}"),
        debugger_address: format!("127.0.0.1:{port}"),
    })
}

/// Runs `program` under a small shell that ends it, with its helper processes, and removes
/// `remove` when this process exits: the shell reads a pipe whose other end only this
/// process holds, so the read returns at our exit — normal, panic or kill alike.
fn run_until_exit(program: &Path, args: &[String], log: &Path, remove: Option<&Path>) -> std::io::Result<()> {
    const WATCH: &str = r#"program=$1; remove=$2; shift 2
setsid "$program" "$@" &
child=$!
read _ignored
kill -TERM -"$child" 2>/dev/null
wait "$child"
for _ in 1 2 3 4 5; do
    [ -n "$remove" ] && rm -rf "$remove" 2>/dev/null
    [ -z "$remove" ] || [ ! -e "$remove" ] && break
    sleep 1
done"#;
    let log = File::create(log)?;
    let watcher = Command::new("sh")
        .arg("-c")
        .arg(WATCH)
        .arg("sh")
        .arg(program)
        .arg(remove.unwrap_or(Path::new("")))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()?;
    // Leaked on purpose: the pipe must stay open for the life of the process.
    std::mem::forget(watcher);
    Ok(())
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Polls `probe` until it yields something or `timeout` passes. Only for starting the
/// processes above, outside any async runtime.
fn wait_for<T>(timeout: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(found) = probe() {
            return Some(found);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
