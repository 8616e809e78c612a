//! Fulcrum's integration tests: one binary, real HTTP, a real PostgreSQL (a fresh database
//! per test), a fake Lever server and a real SMTP sink; `ui` drives the pages in Chromium.

mod support;

mod accounts;
mod api;
mod assessments;
mod auth;
mod cli;
mod connect;
mod email_template;
mod hardening;
mod health;
mod integration_health;
mod jobs;
mod limits;
mod metrics;
mod pages;
mod report;
mod ui;
mod webhooks;
mod workflow;
