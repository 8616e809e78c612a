//! Many tenants on one database, one of them noisy, on real processes: two `fulcrum serve`
//! and two `fulcrum worker` (the binary cargo builds alongside the bench, in release for
//! `cargo bench`) share one fresh PostgreSQL database, the fake Lever (10/s, burst 20 per
//! account) and the SMTP sink, which this process runs. Organizations are made with
//! `fulcrum org create`, connected through the OAuth flow and set up over the REST API;
//! webhooks go to the two servers in turn.
//!
//! A "big" organization moves a backlog of candidates into a trigger stage at once; while it
//! drains, each of the other organizations moves one candidate every few seconds. Reports
//! the small tenants' webhook → invite email and webhook → invited tag in Lever (p50/p99),
//! the big tenant's Lever requests per second (mean, busiest second), its drain time, 429s,
//! invites per second, whether every candidate was invited exactly once, the CPU time of
//! the four Fulcrum processes and of this one, and the database connections in use at most.
//!
//! `cargo bench --bench tenants` — sizes from the environment: `TENANTS_ORGS` (200),
//! `TENANTS_BIG` (2000 candidates), `TENANTS_EVERY_SECS` (5: each small tenant's pace). The
//! database server is `DATABASE_URL`'s, else PostgreSQL on 127.0.0.1:5432 as `postgres`.
//! The processes' logs are left in `tenants-bench/` under cargo's `target/tmp`.

#[allow(unused_imports)]
#[path = "../tests/it/support/mod.rs"]
mod support;

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use futures_util::{StreamExt, stream};
use serde_json::{Value, json};
use sqlx::{Connection, PgConnection};
use support::{
    browser::Browser,
    fake_lever::{self, FakeLever, NewOpportunity, NewPosting},
    lever::{
        ADMIN_USER, APP_TOKEN, ARCHIVE_TOKEN, ASSESS_STAGE, DELETED_TOKEN, HIRED_TOKEN, RECRUITER, SCREEN_STAGE,
        STAGE_TOKEN,
    },
    smtp::SmtpSink,
    workflow::POSTING,
};

const INVITED: &str = "Fulcrum: Candidate Invited";
const PASSWORD: &str = "tenants-bench-password-1";
/// Organizations set up at once: each is a `fulcrum org create` process and a sign-in.
const SETUP_AT_ONCE: usize = 8;

fn size(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    fulcrum::app::install_tls_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(run());
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64()
}

/// User + system CPU seconds of a process (`self` or a pid), from `/proc/<pid>/stat`.
fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A fresh database, left empty for `fulcrum serve` to migrate. Named like the test
/// databases, so one left behind by a run that died is dropped by a later test run.
struct BenchDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl BenchDatabase {
    async fn create() -> Self {
        let admin_url = std::env::var("DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let name = format!("fulcrum_t_{now}_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let mut admin = PgConnection::connect(&admin_url).await.expect("connecting to DATABASE_URL's server");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\""))).execute(&mut admin).await.unwrap();
        let mut url = url::Url::parse(&admin_url).expect("DATABASE_URL is a URL");
        url.set_path(&format!("/{name}"));
        Self { admin_url, name, url: url.to_string() }
    }

    async fn drop_now(self) {
        let mut admin = PgConnection::connect(&self.admin_url).await.unwrap();
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut admin).await.unwrap();
    }
}

/// The Fulcrum processes, killed when this is dropped (a failed run included).
struct Fleet {
    children: Vec<(String, Child)>,
    logs: PathBuf,
}

impl Fleet {
    async fn start(env: &[(String, String)], serve_urls: &[String], logs: &Path, db: &mut PgConnection) -> Self {
        let mut fleet = Fleet { children: Vec::new(), logs: logs.to_path_buf() };
        // The first server applies the migrations; the others start on a migrated database.
        fleet.spawn("serve", env, Some(&serve_urls[0]));
        fleet.wait_ready(&serve_urls[0]).await;
        fleet.spawn("serve", env, Some(&serve_urls[1]));
        fleet.spawn("worker", env, None);
        fleet.spawn("worker", env, None);
        fleet.wait_ready(&serve_urls[1]).await;
        // Each process's job worker LISTENs for wake-ups once it runs.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let listening: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'",
            )
            .fetch_one(&mut *db)
            .await
            .unwrap();
            if listening >= 4 {
                return fleet;
            }
            fleet.check_alive();
            assert!(Instant::now() < deadline, "the workers did not start (logs in {})", logs.display());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn spawn(&mut self, role: &str, env: &[(String, String)], url: Option<&str>) {
        let name = format!("{role}-{}", self.children.iter().filter(|(n, _)| n.starts_with(role)).count());
        let log = std::fs::File::create(self.logs.join(format!("{name}.log"))).expect("a log file");
        let mut command = Command::new(env!("CARGO_BIN_EXE_fulcrum"));
        command.arg(role).current_dir(&self.logs).envs(env.iter().map(|(k, v)| (k, v)));
        if let Some(url) = url {
            command.env("FULCRUM_BIND", url.trim_start_matches("http://"));
        }
        let child = command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(log).spawn().expect("starting fulcrum");
        self.children.push((name, child));
    }

    async fn wait_ready(&mut self, url: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(answer) = reqwest::get(format!("{url}/readyz")).await
                && answer.status() == 200
            {
                return;
            }
            self.check_alive();
            assert!(Instant::now() < deadline, "{url}/readyz did not answer 200 (logs in {})", self.logs.display());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn check_alive(&mut self) {
        for (name, child) in &mut self.children {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("fulcrum {name} exited ({status}); see {}", self.logs.join(format!("{name}.log")).display());
            }
        }
    }

    /// Each process's name and CPU seconds so far.
    fn cpu(&self) -> Vec<(String, f64)> {
        self.children.iter().map(|(name, child)| (name.clone(), cpu_seconds(&child.id().to_string()))).collect()
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for (_, child) in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// What set-up needs: the processes' environment, the fake and the servers.
struct Setup {
    env: Vec<(String, String)>,
    logs: PathBuf,
    lever: FakeLever,
    serve_urls: Vec<String>,
    http: reqwest::Client,
    /// The fake has one approver at a time (the user who "clicks Accept"): one authorize
    /// request at a time.
    authorize: tokio::sync::Mutex<()>,
}

struct Tenant {
    account: String,
    /// `/webhooks/lever/{key}`, served by either server.
    webhook_path: String,
}

/// `fulcrum org create`, a Lever account connected through OAuth (the admin signs in on the
/// public server), the five signature tokens and an assessment set over the API, and a
/// posting tagged for it in Lever.
async fn set_up_tenant(i: usize, setup: &Setup) -> Tenant {
    let (account, email) = (format!("acct-{i}"), format!("admin@tenant-{i}.test"));
    let name = format!("Tenant {i}");
    let created = tokio::process::Command::new(env!("CARGO_BIN_EXE_fulcrum"))
        .args(["org", "create", "--name", &name, "--admin-email", &email, "--admin-password", PASSWORD])
        .envs(setup.env.iter().map(|(k, v)| (k, v)))
        .current_dir(&setup.logs)
        .output()
        .await
        .expect("running fulcrum org create");
    assert!(created.status.success(), "fulcrum org create: {}", String::from_utf8_lossy(&created.stderr));
    let created: Value = serde_json::from_slice(&created.stdout).expect("org create prints JSON");
    let key = created["api_key"].as_str().expect("an api_key").to_string();

    let lever = &setup.lever;
    lever.add_account(&account);
    lever.add_stage(&account, SCREEN_STAGE, "Phone Screen");
    lever.add_stage(&account, ASSESS_STAGE, "Fulcrum Assessment");
    lever.add_user(&account, ADMIN_USER, "Sam Admin", "sam@lever.test", "super admin");
    lever.add_user(&account, RECRUITER, "Rita Recruiter", "rita@lever.test", "team member");
    let posting = NewPosting::new(POSTING, "Backend Engineer").tags(["Fulcrum Backend Engineer", "Remote"]);
    lever.add_posting(&account, posting.owner(RECRUITER));

    let browser = Browser::new(&setup.serve_urls[0]);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let page = browser.sign_in(&email, PASSWORD).await;
        if page.status == 303 {
            break;
        }
        // Sign-ins share a few password-hashing slots; a busy server says 503: try again.
        assert!(page.status == 503 && Instant::now() < deadline, "sign-in: {} {}", page.status, page.body);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let connect = browser.get("/integrations/lever/connect").await;
    assert_eq!(connect.status, 303, "{}", connect.body);
    let authorize = connect.location.expect("Connect redirects to Lever");
    let callback = {
        let _turn = setup.authorize.lock().await;
        lever.set_approver(&account, ADMIN_USER);
        let answer = setup.http.get(&authorize).send().await.unwrap();
        assert_eq!(answer.status(), 302, "{}", answer.text().await.unwrap());
        answer.headers()["location"].to_str().unwrap().to_string()
    };
    let page = browser.get(&callback).await;
    assert_eq!(page.status, 200, "connecting failed: {}", page.body);

    let api = format!("{}/api/v1", setup.serve_urls[i % 2]);
    let tokens = json!({"signature_tokens": {
        "applicationCreated": APP_TOKEN,
        "candidateStageChange": STAGE_TOKEN,
        "candidateHired": HIRED_TOKEN,
        "candidateArchiveChange": ARCHIVE_TOKEN,
        "candidateDeleted": DELETED_TOKEN,
    }});
    let answer = setup.http.put(format!("{api}/integrations/lever")).bearer_auth(&key).json(&tokens).send().await;
    let answer = answer.unwrap();
    assert_eq!(answer.status(), 200, "{}", answer.text().await.unwrap());
    let overview: Value = answer.json().await.unwrap();
    let webhook_url = overview["webhook_url"].as_str().expect("a webhook_url");
    let webhook_path = webhook_url[webhook_url.find("/webhooks/").expect("a webhook path")..].to_string();
    let assessment = json!({
        "name": "Backend Engineer", "pass_mark": 60, "time_limit_minutes": 30,
        "instructions": "Answer all three.",
        "questions": [
            {"prompt": "2 + 2 = ?", "choices": ["3", "4", "5"], "answer": 1},
            {"prompt": "Which is a prime?", "choices": ["7", "8", "9"], "answer": 0},
            {"prompt": "HTTP status for Not Found?", "choices": ["200", "500", "404"], "answer": 2}
        ]
    });
    let answer = setup.http.post(format!("{api}/assessments")).bearer_auth(&key).json(&assessment).send().await;
    let answer = answer.unwrap();
    assert_eq!(answer.status(), 201, "{}", answer.text().await.unwrap());
    Tenant { account, webhook_path }
}

/// A candidate in the phone screen of the posting, as `support`'s `add_candidate` makes one.
fn add_candidate(lever: &FakeLever, account: &str, id: &str, email: &str) -> String {
    let new = NewOpportunity::new(id).name("Ada Lovelace").emails([email]).stage(SCREEN_STAGE).posting(POSTING);
    lever.add_opportunity(account, new.owner(RECRUITER))
}

/// Moves the candidate into the trigger stage in Lever; returns the webhook Lever sends.
fn move_candidate(lever: &FakeLever, account: &str, opportunity: &str) -> Value {
    lever.move_to_stage(account, opportunity, ASSESS_STAGE, RECRUITER);
    lever.stage_change_delivery(account, opportunity, SCREEN_STAGE, ASSESS_STAGE, Some(STAGE_TOKEN))
}

async fn deliver(http: &reqwest::Client, url: &str, body: &Value) -> u16 {
    fake_lever::post_delivery(http, url, body).await.map_or(0, |r| r.status().as_u16())
}

async fn queue_idle(db: &mut PgConnection) -> bool {
    let busy: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM jobs WHERE state = 'running' OR (state = 'queued' AND run_at <= now())",
    )
    .fetch_one(db)
    .await
    .unwrap();
    busy == 0
}

async fn wait_idle(db: &mut PgConnection, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while !queue_idle(db).await {
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    true
}

fn invited(lever: &FakeLever, account: &str, opportunity: &str) -> bool {
    lever.tags(account, opportunity).iter().any(|t| t == INVITED)
}

/// A small tenant's candidate, from the webhook on.
struct Sent {
    tenant: usize,
    opportunity: String,
    at: Instant,
}

async fn run() {
    let (orgs, big, every) = (size("TENANTS_ORGS", 200), size("TENANTS_BIG", 2000), size("TENANTS_EVERY_SECS", 5));
    assert!(orgs >= 2, "TENANTS_ORGS counts the big organization and at least one other");
    let logs = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tenants-bench");
    let _ = std::fs::remove_dir_all(&logs);
    std::fs::create_dir_all(&logs).unwrap();
    let database = BenchDatabase::create().await;
    let lever = FakeLever::start().await;
    let smtp = SmtpSink::start().await;
    let serve_urls: Vec<String> = (0..2).map(|_| format!("http://127.0.0.1:{}", free_port())).collect();
    lever.set_redirect_uri(&format!("{}/integrations/lever/callback", serve_urls[0]));
    let env: Vec<(String, String)> = [
        ("DATABASE_URL", database.url.clone()),
        ("FULCRUM_PUBLIC_URL", serve_urls[0].clone()),
        ("FULCRUM_SECRET_KEY", hex::encode(rand::random::<[u8; 32]>())),
        ("LEVER_CLIENT_ID", fake_lever::CLIENT_ID.to_string()),
        ("LEVER_CLIENT_SECRET", fake_lever::CLIENT_SECRET.to_string()),
        ("LEVER_AUTH_URL", lever.auth_url()),
        ("LEVER_API_URL", lever.api_url()),
        ("LEVER_AUDIENCE", FakeLever::audience().to_string()),
        ("SMTP_URL", smtp.url()),
        ("FULCRUM_EMAIL_FROM", "Fulcrum <no-reply@fulcrum.test>".to_string()),
        ("FULCRUM__DATABASE__DATA_DIR", logs.display().to_string()),
        // Set-up sends a few hundred API requests from one address in a minute or two.
        ("FULCRUM__SERVER__API_MAX_REQUESTS_PER_MINUTE", "100000".to_string()),
        ("RUST_LOG", "warn".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let mut db = PgConnection::connect(&database.url).await.expect("connecting to the bench database");
    let fleet = Fleet::start(&env, &serve_urls, &logs, &mut db).await;

    let set_up_started = Instant::now();
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let setup = Setup {
        env,
        logs: logs.clone(),
        lever: lever.clone(),
        serve_urls: serve_urls.clone(),
        http: http.clone(),
        authorize: tokio::sync::Mutex::new(()),
    };
    let tenants: Vec<Tenant> =
        stream::iter(0..orgs).map(|i| set_up_tenant(i, &setup)).buffered(SETUP_AT_ONCE).collect().await;
    let big_account = tenants[0].account.clone();
    let backlog: Vec<String> =
        (0..big).map(|i| add_candidate(&lever, &big_account, &format!("big-{i}"), &format!("big{i}@c.test"))).collect();
    assert!(wait_idle(&mut db, Duration::from_secs(600)).await, "the queue did not settle after set-up");
    let set_up = set_up_started.elapsed();
    let calls_before = lever.calls_for(&big_account).len();
    let mails_before = smtp.messages().len();
    let cpu_before = fleet.cpu();
    let own_cpu_before = cpu_seconds("self");

    // The noisy neighbour moves its whole pipeline at once.
    let started = Instant::now();
    let big_sender = tokio::spawn({
        let (http, lever, urls) = (http.clone(), lever.clone(), serve_urls.clone());
        let (account, path, backlog) = (big_account.clone(), tenants[0].webhook_path.clone(), backlog.clone());
        async move {
            let mut refused = 0;
            for (n, opportunity) in backlog.iter().enumerate() {
                let body = move_candidate(&lever, &account, opportunity);
                if deliver(&http, &format!("{}{path}", urls[n % 2]), &body).await != 200 {
                    refused += 1;
                }
            }
            refused
        }
    });
    // Meanwhile each small tenant moves one candidate every `every` seconds, spread out.
    let small = orgs - 1;
    let spacing = Duration::from_secs(every as u64) / small as u32;
    let mut deliveries = tokio::task::JoinSet::new();
    let mut sent: HashMap<String, Sent> = HashMap::new();
    let mut emailed: HashMap<String, Duration> = HashMap::new();
    let mut tagged: HashMap<String, Duration> = HashMap::new();
    let mut untagged: Vec<String> = Vec::new();
    let mut per_recipient: HashMap<String, usize> = HashMap::new();
    let mut mails_seen = mails_before;
    let mut big_left = backlog.clone();
    let (mut round, mut next, mut next_look) = (0, Instant::now(), Instant::now());
    let mut drained: Option<Duration> = None;
    let mut connections = 0i64;
    // The big tenant gets 10 requests/s and spends about 3 per candidate.
    let deadline = started + Duration::from_secs(120 + big as u64 * 3 / 5);
    loop {
        while drained.is_none() && Instant::now() >= next {
            let (tenant, n) = (1 + round % small, round / small);
            let email = format!("s{tenant}-{n}@c.test");
            let account = &tenants[tenant].account;
            let opportunity = add_candidate(&lever, account, &format!("t{tenant}-small-{n}"), &email);
            let body = move_candidate(&lever, account, &opportunity);
            let url = format!("{}{}", serve_urls[round % 2], tenants[tenant].webhook_path);
            sent.insert(email.clone(), Sent { tenant, opportunity, at: Instant::now() });
            untagged.push(email);
            let http = http.clone();
            deliveries.spawn(async move { deliver(&http, &url, &body).await });
            round += 1;
            next += spacing;
        }
        for mail in smtp.messages_after(mails_seen) {
            mails_seen += 1;
            for to in mail.to {
                if let Some(s) = sent.get(&to) {
                    emailed.entry(to.clone()).or_insert_with(|| s.at.elapsed());
                }
                *per_recipient.entry(to).or_default() += 1;
            }
        }
        untagged.retain(|email| {
            let s = &sent[email];
            let done = invited(&lever, &tenants[s.tenant].account, &s.opportunity);
            if done {
                tagged.insert(email.clone(), s.at.elapsed());
            }
            !done
        });
        if Instant::now() >= next_look {
            next_look += Duration::from_millis(500);
            big_left.retain(|opportunity| !invited(&lever, &big_account, opportunity));
            if big_left.is_empty() && drained.is_none() {
                drained = Some(started.elapsed());
            }
            let now: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
                 AND backend_type = 'client backend' AND pid <> pg_backend_pid()",
            )
            .fetch_one(&mut db)
            .await
            .unwrap();
            connections = connections.max(now);
        }
        if drained.is_some() && untagged.is_empty() && emailed.len() == sent.len() {
            break;
        }
        if Instant::now() > deadline {
            println!(
                "gave up waiting: {} of the big tenant's candidates and {} others not tagged",
                big_left.len(),
                untagged.len()
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let big_refused: usize = big_sender.await.unwrap();
    let small_refused = deliveries.join_all().await.iter().filter(|status| **status != 200).count();
    let settled = wait_idle(&mut db, Duration::from_secs(120)).await;
    let elapsed = started.elapsed();
    let cpu: Vec<(String, f64)> =
        fleet.cpu().into_iter().zip(&cpu_before).map(|((name, after), (_, before))| (name, after - before)).collect();
    let own_cpu = cpu_seconds("self") - own_cpu_before;
    let failed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM jobs WHERE state = 'failed'").fetch_one(&mut db).await.unwrap();
    drop(fleet);
    db.close().await.ok();
    database.drop_now().await;
    // Mail that arrived after the loop's last look.
    for mail in smtp.messages_after(mails_seen) {
        for to in mail.to {
            *per_recipient.entry(to).or_default() += 1;
        }
    }

    let big_calls: Vec<_> = lever.calls_for(&big_account)[calls_before..].to_vec();
    let first = big_calls.iter().map(|c| c.at).min().unwrap();
    let last = big_calls.iter().map(|c| c.at).max().unwrap();
    let rate = (big_calls.len() - 1) as f64 / (last - first).as_secs_f64();
    let too_many = lever.calls().iter().filter(|c| c.status == 429).count();
    let busiest = lever.max_requests_in_window(&big_account, Duration::from_secs(1));
    let mails = smtp.messages().len() - mails_before;
    let repeated = per_recipient.values().filter(|n| **n > 1).count();
    let candidates: Vec<String> = (0..big).map(|i| format!("big{i}@c.test")).chain(sent.keys().cloned()).collect();
    let once = candidates.iter().filter(|c| per_recipient.get(*c) == Some(&1)).count();
    let never = candidates.iter().filter(|c| !per_recipient.contains_key(*c)).count();
    let mut to_email: Vec<Duration> = emailed.values().copied().collect();
    let mut to_tag: Vec<Duration> = tagged.values().copied().collect();
    to_email.sort();
    to_tag.sort();
    let fulcrum_cpu: f64 = cpu.iter().map(|(_, s)| s).sum();
    let each: Vec<String> = cpu.iter().map(|(name, s)| format!("{name} {s:.1} s")).collect();
    let seconds = elapsed.as_secs_f64();

    println!(
        "tenants: {orgs} organizations on 2 `fulcrum serve` + 2 `fulcrum worker` processes; the big one moves {big} \
         candidates at once; the other {small} move one each every {every} s (set-up {:.1} s)",
        set_up.as_secs_f64()
    );
    println!(
        "small tenants ({} invitations): webhook → invite email p50 {:.2} s, p99 {:.2} s; webhook → invited tag p50 {:.2} s, p99 {:.2} s",
        sent.len(),
        percentile(&to_email, 0.5),
        percentile(&to_email, 0.99),
        percentile(&to_tag, 0.5),
        percentile(&to_tag, 0.99)
    );
    println!(
        "big tenant: {} Lever requests, {rate:.2}/s mean, busiest second {busiest}; drained in {:.1} s",
        big_calls.len(),
        drained.unwrap_or_default().as_secs_f64()
    );
    println!(
        "429s: {too_many}; invites: {mails} in {seconds:.1} s = {:.1}/s; recipients emailed more than once: {repeated}; \
         candidates invited exactly once: {once} of {}, never: {never}",
        mails as f64 / seconds,
        candidates.len()
    );
    println!(
        "webhooks refused: {}; failed jobs: {failed}; queue idle at the end: {settled}",
        big_refused + small_refused
    );
    println!(
        "CPU: Fulcrum {fulcrum_cpu:.1} s over {seconds:.1} s = {:.2} cores ({}); this process (fake Lever, SMTP sink, \
         senders) {own_cpu:.1} s = {:.2} cores; Fulcrum's database connections at most {connections}",
        fulcrum_cpu / seconds,
        each.join(", "),
        own_cpu / seconds
    );
}
