//! What the integration tests stand on: the app on a real port, a fresh database, a fake
//! Lever, an SMTP sink, a browser stand-in, a real browser, and waiting on conditions with
//! deadlines.

#![allow(dead_code)]

pub mod accounts;
pub mod app;
pub mod browser;
pub mod chromium;
pub mod db;
pub mod fake_lever;
pub mod leftovers;
pub mod lever;
pub mod openapi;
pub mod org;
pub mod pdf;
pub mod smtp;
pub mod tab;
pub mod workflow;

use std::time::Duration;

pub use app::{Options, TestApp, spawn_app, spawn_with};

/// Polls `condition` until it holds or `timeout` passes (then panics with `what`). Used to
/// wait for effects of background work — never a fixed sleep.
pub async fn eventually<F, Fut>(what: &str, timeout: Duration, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if condition().await {
            return;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for: {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
