//! Limits that keep one client from hurting others: failed sign-ins counted per account
//! from each client and per client (atomically, behind proxies too), sign-ups and API use
//! per client, and bounded password hashing.

use futures_util::future::join_all;
use serde_json::Value;

use crate::support::{Options, browser::Browser, org::PASSWORD, spawn_app, spawn_with};

const ATTACKER: &str = "127.0.0.2";
const OWNER: &str = "127.0.0.3";

fn with_env(pairs: &[(&str, &str)]) -> Options {
    Options { extra_env: pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(), ..Options::default() }
}

/// The process's resident memory, in bytes (the app runs inside the test process).
fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

async fn sign_in_statuses(browser: &Browser, email: &str, times: usize) -> Vec<u16> {
    let attempts = (0..times).map(|i| async move { browser.sign_in(email, &format!("wrong password {i}")).await });
    join_all(attempts).await.into_iter().map(|page| page.status).collect()
}

fn count(statuses: &[u16], status: u16) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_wrong_passwords_are_counted_one_by_one_and_hashing_stays_bounded() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let attacker = app.browser();
    attacker.csrf().await;
    let before = resident_bytes();

    let statuses = sign_in_statuses(&attacker, &org.admin_email, 25).await;

    let grown = resident_bytes().saturating_sub(before);
    eprintln!("25 concurrent wrong passwords: resident memory grew by {} KiB", grown / 1024);
    assert_eq!(count(&statuses, 401), 5, "only the limit's attempts are checked: {statuses:?}");
    assert_eq!(count(&statuses, 429), 20, "{statuses:?}");
    // Each Argon2 check works through 19 MiB; unbounded, 25 at once took ~480 MB.
    assert!(grown < 50 * 1024 * 1024, "resident memory grew by {} MiB", grown / (1024 * 1024));
    let refused = attacker.sign_in(&org.admin_email, PASSWORD).await;
    assert_eq!(refused.status, 429, "this client waits out the window, even with the right password");
    assert!(refused.text("p.error").contains("Too many failed sign-ins"));
    assert!(refused.headers.contains_key("retry-after"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attacker_without_the_password_cannot_keep_the_owner_out() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let attacker = Browser::from_address(&app.url, ATTACKER);
    let mut statuses = Vec::new();
    for i in 0..50 {
        statuses.push(attacker.sign_in(&org.admin_email, &format!("guess number {i}")).await.status);
    }
    assert_eq!(count(&statuses, 401), 5, "{statuses:?}");
    assert_eq!(count(&statuses, 429), 45, "{statuses:?}");

    let owner = Browser::from_address(&app.url, OWNER);
    let page = owner.sign_in(&org.admin_email, PASSWORD).await;
    assert_eq!(page.status, 303, "the owner signs in from elsewhere: {}", page.body);
    assert_eq!(owner.get("/app").await.status, 200);
    // A typo or two of the owner's own does not lock them out either, and a right password
    // forgives them.
    for _ in 0..4 {
        assert_eq!(owner.sign_in(&org.admin_email, "a typo in it").await.status, 401);
    }
    assert_eq!(owner.sign_in(&org.admin_email, PASSWORD).await.status, 303);
    assert_eq!(owner.sign_in(&org.admin_email, "a typo again").await.status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_failing_across_many_accounts_is_held_back_alone() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let sprayer = Browser::from_address(&app.url, ATTACKER);
    for i in 0..30 {
        let page = sprayer.sign_in(&format!("someone-{i}@acme.test"), "Summer2024!!").await;
        assert_eq!(page.status, 401, "attempt {i}");
    }
    let held = sprayer.sign_in(&org.admin_email, PASSWORD).await;
    assert_eq!(held.status, 429, "over the per-client limit, for every account");
    let owner = Browser::from_address(&app.url, OWNER);
    assert_eq!(owner.sign_in(&org.admin_email, PASSWORD).await.status, 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_each_forwarded_client_is_counted_alone() {
    let app = spawn_with(with_env(&[("FULCRUM_TRUSTED_PROXIES", "127.0.0.1/32, 10.0.0.0/8")])).await;
    let org = app.create_org("Acme").await;
    let browser = app.browser();
    let token = browser.csrf().await;
    let sign_in = |forwarded_for: &'static str, password: &'static str| {
        let request = browser.client.post(format!("{}/login", app.url)).header("x-forwarded-for", forwarded_for);
        let form = [("email", org.admin_email.as_str()), ("password", password), ("csrf_token", token.as_str())];
        async move { request.form(&form).send().await.unwrap().status().as_u16() }
    };
    // The attacker writes an address of their own choosing in front; the proxy appends
    // the one it saw. Only that one counts.
    let mut statuses = Vec::new();
    for spoofed in ["1.1.1.1, 203.0.113.66", "2.2.2.2, 203.0.113.66", "3.3.3.3, 203.0.113.66, 10.0.0.9"] {
        for _ in 0..2 {
            statuses.push(sign_in(spoofed, "not the password").await);
        }
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429]);
    assert_eq!(sign_in("203.0.113.77", PASSWORD).await, 303, "another client behind the same proxy");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_peers_forwarded_headers_are_ignored() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let browser = app.browser();
    let token = browser.csrf().await;
    let mut statuses = Vec::new();
    for i in 0..6 {
        let response = browser
            .client
            .post(format!("{}/login", app.url))
            .header("x-forwarded-for", format!("198.51.100.{i}"))
            .header("forwarded", format!("for=198.51.100.{i}"))
            .form(&[("email", org.admin_email.as_str()), ("password", "not the password"), ("csrf_token", &token)])
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429], "counted as the one peer it is");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_ups_are_limited_per_client() {
    let app = spawn_app().await;
    let busy = Browser::from_address(&app.url, ATTACKER);
    for i in 0..10 {
        let email = format!("owner-{i}@acme.test");
        let page = busy.post_form("/signup", &[("organization", "Acme"), ("email", &email), ("password", "x")]).await;
        assert_eq!(page.status, 422, "{}", page.body);
    }
    let email = "owner-10@acme.test";
    let held = busy.post_form("/signup", &[("organization", "Acme"), ("email", email), ("password", PASSWORD)]).await;
    assert_eq!(held.status, 429);
    assert!(held.text("main").contains("Too many sign-ups"), "{}", held.body);
    assert!(held.headers.contains_key("retry-after"));
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(&app.db).await.unwrap();
    assert_eq!(users, 0, "the refused sign-up created nothing");

    let elsewhere = Browser::from_address(&app.url, OWNER);
    let page =
        elsewhere.post_form("/signup", &[("organization", "Acme"), ("email", email), ("password", PASSWORD)]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(&app.db).await.unwrap();
    assert_eq!(users, 1, "another client signs up as usual");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_use_is_limited_per_client() {
    let app = spawn_with(with_env(&[("FULCRUM__SERVER__API_MAX_REQUESTS_PER_MINUTE", "5")])).await;
    let org = app.create_org("Acme").await;
    let from = |address: &str| {
        reqwest::Client::builder().local_address(address.parse::<std::net::IpAddr>().unwrap()).build().unwrap()
    };
    let call = |client: reqwest::Client, key: String| {
        let url = format!("{}/api/v1/organization", app.url);
        async move {
            let response = client.get(url).bearer_auth(key).send().await.unwrap();
            let retry_after = response.headers().get("retry-after").is_some();
            (response.status().as_u16(), retry_after, response.json::<Value>().await.unwrap())
        }
    };
    let busy = from(ATTACKER);
    let mut statuses = Vec::new();
    for key in ["fk_wrong", &org.api_key, "fk_wrong", &org.api_key, &org.api_key] {
        statuses.push(call(busy.clone(), key.to_string()).await.0);
    }
    assert_eq!(statuses, [401, 200, 401, 200, 200]);
    let (status, retry_after, body) = call(busy.clone(), org.api_key.clone()).await;
    assert_eq!((status, retry_after), (429, true), "{body}");
    assert_eq!(body["error"]["code"], "too_many_requests");
    assert!(body["error"]["message"].as_str().unwrap().contains("at most 5 a minute"), "{body}");
    assert_eq!(call(from(OWNER), org.api_key.clone()).await.0, 200, "another client is not held back");
}
