//! Fulcrum: the assessment vendor's side of a Lever integration, as a multi-tenant service.
//!
//! Data flows one way: an HTTP request or a Lever webhook → a domain decision → a row and a
//! job in one transaction → a worker → the Lever client. Start reading at `app` (how the
//! process runs), then `http::routes` (every URL), then `jobs` (the queue).

/// Links emailed about accounts (confirm an address, reset a password, join a team).
pub mod accounts;
pub mod app;
/// Exponential backoff with jitter, for every retry.
pub mod backoff;
/// Subcommands of the `fulcrum` binary.
pub mod cli;
/// Business time, movable in tests.
pub mod clock;
/// Typed settings: defaults file → `config/local.toml` → environment.
pub mod config;
/// Words people read in Lever notes and notices, filled into `templates/copy/`.
pub mod copy;
/// The secret key: encryption at rest, random tokens, hashes.
pub mod crypto;
/// PostgreSQL: pool, embedded default cluster, migrations.
pub mod db;
/// Pure logic: tag resolution, trigger stages, lifecycle, ratings.
pub mod domain;
/// Outgoing mail (SMTP or the outbox folder) and the invite templates.
pub mod email;
/// Routes, pages, the REST API and the webhook endpoint.
pub mod http;
/// Invitations and their lifecycle transitions.
pub mod invitations;
/// The durable job queue and one module per job kind.
pub mod jobs;
/// Everything that talks to Lever: OAuth, the API client, rate limit, webhook signatures.
pub mod lever;
/// Prometheus counters.
pub mod metrics;
/// Organizations, users, passwords and API keys.
pub mod orgs;
