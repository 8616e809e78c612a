//! Fulcrum's integration tests: one binary, real HTTP, a real PostgreSQL (a fresh database
//! per test), a fake Lever server and a real SMTP sink.

mod support;

mod accounts;
mod assessments;
mod auth;
mod cli;
mod connect;
mod health;
mod jobs;
mod pages;
mod webhooks;
mod workflow;
