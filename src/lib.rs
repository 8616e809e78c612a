//! Fulcrum: the assessment vendor's side of a Lever integration, as a multi-tenant service.
//!
//! Data flows one way: an HTTP request or a Lever webhook → a domain decision → a row and a
//! job in one transaction → a worker → the Lever client. Start reading at `app` (how the
//! process runs), then `http::routes` (every URL), then `jobs` (the queue).
//!
//! The modules form layers, each using only those below it: `app` and `cli` at the top;
//! then `http`; then `integration_health`; then `jobs`; then `report`, `invitations`, `stage_entries`, `sweeps`, `lever`, `email`, `orgs`, `copy`; then
//! `db`, `crypto`, `config`, `metrics`, `clock`, `backoff`; and `domain`, pure, at the bottom.

/// Links emailed about accounts (confirm an address, reset a password, join a team).
pub mod accounts;
/// The composition root: builds everything once, hands each layer its narrow handles.
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
/// Pure logic: the invitation state machine, whom to invite, tag resolution, ratings.
pub mod deliveries;
pub mod domain;
/// Outgoing mail (SMTP or the outbox folder) and the invite templates.
pub mod email;
/// Routes, pages, the REST API and the webhook endpoint.
pub mod http;
/// The integration health checks: what is wrong with an organization's Lever set-up and
/// how to fix it.
pub mod integration_health;
/// The `invitations` table: the one writer of invitation state.
pub mod invitations;
/// The durable job queue and one module per job kind.
pub mod jobs;
/// The Lever service: OAuth, the API client, rate limit, webhook signatures. It reports;
/// callers decide.
pub mod lever;
/// Prometheus counters.
pub mod metrics;
/// Organizations, users and API keys.
pub mod orgs;
/// Which passwords are acceptable, and hashing them at a bounded cost.
pub mod passwords;
/// An invitation's report: what it says, and the PDF attached in Lever and downloaded.
pub mod report;
/// Which moves of candidates into trigger stages were handled, by whichever report came first.
pub mod stage_entries;
/// When each organization's next sweep of Lever is due and what the last one found.
pub mod sweeps;
/// Limits on how often a client may sign in, sign up or call the API.
pub mod throttle;
