//! Typed settings: `config/default.toml` (compiled in), then `config/local.toml`, then the
//! environment. Validated once at start so a typo fails loudly instead of silently.

use std::{fmt, net::SocketAddr, path::PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;

/// The defaults, compiled in so the binary runs from any directory.
const DEFAULTS: &str = include_str!("../config/default.toml");

/// The environment variables that are part of Fulcrum's contract, and the key each sets.
const ENV_KEYS: &[(&str, &str)] = &[
    ("DATABASE_URL", "database.url"),
    ("FULCRUM_BIND", "server.bind"),
    ("FULCRUM_METRICS_BIND", "server.metrics_bind"),
    ("FULCRUM_PUBLIC_URL", "server.public_url"),
    ("FULCRUM_SECRET_KEY", "secret_key"),
    ("FULCRUM_ENV", "env"),
    ("FULCRUM_BRAND", "brand"),
    ("LEVER_CLIENT_ID", "lever.client_id"),
    ("LEVER_CLIENT_SECRET", "lever.client_secret"),
    ("LEVER_AUTH_URL", "lever.auth_url"),
    ("LEVER_API_URL", "lever.api_url"),
    ("LEVER_AUDIENCE", "lever.audience"),
    ("SMTP_URL", "email.smtp_url"),
    ("FULCRUM_EMAIL_FROM", "email.from"),
];

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub env: Environment,
    pub brand: String,
    #[serde(default)]
    pub secret_key: Option<Secret>,
    pub previous_secret_keys: Vec<Secret>,
    pub server: ServerSettings,
    pub accounts: AccountSettings,
    pub database: DatabaseSettings,
    pub lever: LeverSettings,
    pub email: EmailSettings,
    pub jobs: JobSettings,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Development,
    Production,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub bind: SocketAddr,
    /// The metrics listener's address; `None`: no metrics listener.
    #[serde(default)]
    pub metrics_bind: Option<SocketAddr>,
    pub public_url: String,
    pub request_timeout_secs: u64,
    pub trusted_proxies: TrustedProxies,
    pub login_max_failures: i64,
    pub login_max_failures_per_ip: i64,
    pub login_window_secs: i64,
    pub signup_max_per_ip: i64,
    pub signup_window_secs: i64,
    pub api_max_requests_per_minute: i64,
    pub session_days: i64,
}

/// Links emailed about accounts, and how often they may go out.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSettings {
    pub verify_link_hours: i64,
    pub invite_link_days: i64,
    pub reset_link_minutes: i64,
    pub email_cooldown_secs: i64,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: Secret,
    pub data_dir: PathBuf,
    pub max_connections: u32,
    pub acquire_timeout_ms: u64,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeverSettings {
    pub client_id: String,
    pub client_secret: Secret,
    pub auth_url: String,
    pub api_url: String,
    pub audience: String,
    pub request_timeout_ms: u64,
    pub requests_per_second: u32,
    pub burst: u32,
    pub cache_ttl_secs: i64,
    pub keepalive_days: i64,
    pub expiry_warning_days: i64,
    pub sweep_minutes: i64,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailSettings {
    pub smtp_url: Secret,
    pub from: String,
    pub reminder_hours_before_deadline: i64,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSettings {
    pub concurrency: usize,
    pub lease_secs: u64,
    pub poll_interval_ms: u64,
    pub retention_days: i64,
    pub delivery_retention_days: i64,
}

impl Settings {
    /// Defaults, then `config/local.toml` (if present), then the environment.
    pub fn load() -> anyhow::Result<Self> {
        let local = std::path::Path::new("config/local.toml");
        let local = match std::fs::read_to_string(local) {
            Ok(text) => Some(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e).context("reading config/local.toml"),
        };
        Self::from_sources(local.as_deref(), std::env::vars())
    }

    /// The same layering from explicit sources; tests use it to avoid the process
    /// environment.
    pub fn from_sources(local: Option<&str>, env: impl IntoIterator<Item = (String, String)>) -> anyhow::Result<Self> {
        let mut merged: toml::Table = DEFAULTS.parse().context("parsing the default settings")?;
        if let Some(local) = local {
            let local: toml::Table = local.parse().context("parsing config/local.toml")?;
            merge(&mut merged, local);
        }
        for (name, value) in env {
            if value.is_empty() {
                continue;
            }
            if let Some((_, key)) = ENV_KEYS.iter().find(|(var, _)| *var == name) {
                set_key(&mut merged, key, toml::Value::String(value));
            } else if name == "FULCRUM_SECRET_KEY_PREVIOUS" {
                let keys = value.split(',').map(|k| toml::Value::String(k.trim().into()));
                set_key(&mut merged, "previous_secret_keys", toml::Value::Array(keys.collect()));
            } else if name == "FULCRUM_TRUSTED_PROXIES" {
                let proxies = value.split(',').map(str::trim).filter(|p| !p.is_empty());
                let proxies = proxies.map(|p| toml::Value::String(p.into())).collect();
                set_key(&mut merged, "server.trusted_proxies", toml::Value::Array(proxies));
            } else if let Some(path) = name.strip_prefix("FULCRUM__") {
                let key = path.to_lowercase().replace("__", ".");
                let value = typed_like(get_key(&merged, &key), &value);
                set_key(&mut merged, &key, value);
            }
        }
        let settings: Settings = toml::Value::Table(merged).try_into().context("invalid settings")?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> anyhow::Result<()> {
        let url = reqwest::Url::parse(&self.server.public_url)
            .with_context(|| format!("FULCRUM_PUBLIC_URL {:?} is not a URL", self.server.public_url))?;
        if !matches!(url.scheme(), "http" | "https") {
            bail!("FULCRUM_PUBLIC_URL must be an http(s) URL");
        }
        for (name, value) in [("LEVER_AUTH_URL", &self.lever.auth_url), ("LEVER_API_URL", &self.lever.api_url)] {
            reqwest::Url::parse(value).with_context(|| format!("{name} {value:?} is not a URL"))?;
        }
        if self.email.from.parse::<lettre::message::Mailbox>().is_err() {
            bail!("FULCRUM_EMAIL_FROM {:?} is not a mailbox such as `Acme <no-reply@acme.example>`", self.email.from);
        }
        if self.lever.requests_per_second == 0 || self.jobs.concurrency == 0 || self.lever.sweep_minutes <= 0 {
            bail!("lever.requests_per_second, lever.sweep_minutes and jobs.concurrency must be positive");
        }
        let accounts = &self.accounts;
        if [accounts.verify_link_hours, accounts.invite_link_days, accounts.reset_link_minutes].iter().any(|n| *n <= 0)
            || accounts.email_cooldown_secs < 0
        {
            bail!("accounts: link lifetimes must be positive and email_cooldown_secs not negative");
        }
        if self.env == Environment::Production && self.secret_key.is_none() {
            bail!(
                "FULCRUM_SECRET_KEY is required in production: 32 random bytes as hex or base64, \
                 e.g. from `openssl rand -hex 32`"
            );
        }
        Ok(())
    }

    /// `public_url` without a trailing slash, ready for `format!("{}/path", ..)`.
    pub fn public_url(&self) -> &str {
        self.server.public_url.trim_end_matches('/')
    }

    pub fn is_production(&self) -> bool {
        self.env == Environment::Production
    }

    /// Secure cookies in production, and whenever the public URL is https.
    pub fn secure_cookies(&self) -> bool {
        self.is_production() || self.server.public_url.starts_with("https://")
    }

    /// How often each connected account is swept (`lever.sweep_minutes`).
    pub fn sweep_every(&self) -> chrono::Duration {
        chrono::Duration::minutes(self.lever.sweep_minutes)
    }

    pub fn lever_configured(&self) -> bool {
        !self.lever.client_id.is_empty() && !self.lever.client_secret.expose().is_empty()
    }
}

/// An environment value as the setting it replaces is typed: `12345` stays text for a text
/// setting (an OAuth client id) and becomes a number for a number. Text the type does not
/// fit stays text, so the error names the setting and what it expects.
fn typed_like(current: Option<&toml::Value>, value: &str) -> toml::Value {
    let text = || toml::Value::String(value.to_string());
    match current {
        Some(toml::Value::Integer(_)) => value.parse().map_or_else(|_| text(), toml::Value::Integer),
        Some(toml::Value::Float(_)) => value.parse().map_or_else(|_| text(), toml::Value::Float),
        Some(toml::Value::Boolean(_)) => value.parse().map_or_else(|_| text(), toml::Value::Boolean),
        Some(toml::Value::Array(_)) => {
            let items = value.split(',').map(str::trim).filter(|i| !i.is_empty());
            toml::Value::Array(items.map(|i| toml::Value::String(i.to_string())).collect())
        }
        _ => text(),
    }
}

fn get_key<'a>(table: &'a toml::Table, dotted: &str) -> Option<&'a toml::Value> {
    let mut parts = dotted.split('.');
    let mut current = table.get(parts.next()?)?;
    for part in parts {
        current = current.as_table()?.get(part)?;
    }
    Some(current)
}

fn merge(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

fn set_key(table: &mut toml::Table, dotted: &str, value: toml::Value) {
    let mut parts: Vec<&str> = dotted.split('.').collect();
    let last = parts.pop().expect("split yields at least one part");
    let mut current = table;
    for part in parts {
        current = current
            .entry(part)
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .expect("settings sections are tables");
    }
    current.insert(last.to_string(), value);
}

/// Reverse proxies whose `X-Forwarded-For` or `Forwarded` header names the client: addresses
/// or CIDR ranges (`FULCRUM_TRUSTED_PROXIES`, comma separated).
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Vec<ipnet::IpNet>);

impl TrustedProxies {
    pub fn parse<'a>(entries: impl IntoIterator<Item = &'a str>) -> Result<Self, String> {
        let parse = |entry: &str| {
            let entry = entry.trim();
            entry
                .parse::<ipnet::IpNet>()
                .or_else(|_| entry.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| format!("FULCRUM_TRUSTED_PROXIES: {entry:?} is not an IP address or CIDR range"))
        };
        entries.into_iter().map(parse).collect::<Result<_, _>>().map(Self)
    }

    pub fn contains(&self, address: std::net::IpAddr) -> bool {
        let address = address.to_canonical();
        self.0.iter().any(|net| net.contains(&address))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl<'de> Deserialize<'de> for TrustedProxies {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let entries = Vec::<String>::deserialize(deserializer)?;
        Self::parse(entries.iter().map(String::as_str)).map_err(serde::de::Error::custom)
    }
}

/// A configuration value that must never be printed: Debug shows `[redacted]`, and there
/// is no Display.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn defaults_load() {
        let s = Settings::from_sources(None, env(&[])).unwrap();
        assert_eq!(s.server.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(s.public_url(), "http://localhost:8080");
        assert_eq!(s.brand, "Fulcrum");
        assert!(s.database.url.is_empty());
        assert!(!s.lever_configured());
        assert_eq!(s.server.metrics_bind, None);
    }

    #[test]
    fn the_metrics_listener_is_set_by_its_variable() {
        let s = Settings::from_sources(None, env(&[("FULCRUM_METRICS_BIND", "127.0.0.1:9464")])).unwrap();
        assert_eq!(s.server.metrics_bind.map(|a| a.to_string()).as_deref(), Some("127.0.0.1:9464"));
        assert!(Settings::from_sources(None, env(&[("FULCRUM_METRICS_BIND", "9464")])).is_err());
    }

    #[test]
    fn local_file_then_environment_override() {
        let local = "brand = \"Acme\"\n[jobs]\nconcurrency = 3\n";
        let s = Settings::from_sources(
            Some(local),
            env(&[
                ("FULCRUM_BRAND", "Quiz"),
                ("FULCRUM_BIND", "0.0.0.0:9000"),
                ("FULCRUM__JOBS__LEASE_SECS", "5"),
                ("LEVER_CLIENT_ID", "id"),
                ("LEVER_CLIENT_SECRET", "secret"),
                ("DATABASE_URL", ""),
            ]),
        )
        .unwrap();
        assert_eq!(s.brand, "Quiz");
        assert_eq!(s.jobs.concurrency, 3);
        assert_eq!(s.jobs.lease_secs, 5);
        assert_eq!(s.server.bind.port(), 9000);
        assert!(s.lever_configured());
        assert!(s.database.url.is_empty(), "an empty variable counts as unset");
    }

    #[test]
    fn production_requires_a_secret_key() {
        let err = Settings::from_sources(None, env(&[("FULCRUM_ENV", "production")])).err().unwrap();
        assert!(err.to_string().contains("FULCRUM_SECRET_KEY"));
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        assert!(Settings::from_sources(Some("[jobs]\nconcurency = 3\n"), env(&[])).is_err());
        assert!(Settings::from_sources(None, env(&[("FULCRUM_BIND", "nope")])).is_err());
        assert!(Settings::from_sources(None, env(&[("FULCRUM_ENV", "staging")])).is_err());
        assert!(Settings::from_sources(None, env(&[("FULCRUM_EMAIL_FROM", "not a mailbox")])).is_err());
        assert!(Settings::from_sources(Some("[lever]\nsweep_minutes = 0\n"), env(&[])).is_err());
    }

    #[test]
    fn environment_values_take_the_type_of_their_setting() {
        let s = Settings::from_sources(
            None,
            env(&[
                ("FULCRUM__LEVER__CLIENT_ID", "12345"),
                ("FULCRUM__BRAND", "true"),
                ("FULCRUM__JOBS__CONCURRENCY", "7"),
                ("FULCRUM_TRUSTED_PROXIES", "10.0.0.1, 192.168.0.0/16,"),
            ]),
        )
        .unwrap();
        assert_eq!(s.lever.client_id, "12345");
        assert_eq!(s.brand, "true");
        assert_eq!(s.jobs.concurrency, 7);
        assert_eq!(s.server.trusted_proxies.len(), 2);
        let err = Settings::from_sources(None, env(&[("FULCRUM__JOBS__CONCURRENCY", "many")])).err().unwrap();
        assert!(format!("{err:#}").contains("concurrency"), "{err:#}");
        let err = Settings::from_sources(None, env(&[("FULCRUM_TRUSTED_PROXIES", "10.0.0.300")])).err().unwrap();
        assert!(format!("{err:#}").contains("FULCRUM_TRUSTED_PROXIES"), "{err:#}");
    }

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "[redacted]");
    }
}
