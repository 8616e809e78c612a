//! Lever's per-account rate limit and the failures tests inject.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// Lever's documented bucket: bursts of 20, refilled at 10 per second.
const BUCKET_CAPACITY: f64 = 20.0;
const REFILL_PER_SECOND: f64 = 10.0;

pub(super) struct TokenBucket {
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    pub fn full() -> Self {
        Self { tokens: BUCKET_CAPACITY, last: Instant::now() }
    }

    /// Takes one token if there is one; refills continuously since the last call.
    pub fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * REFILL_PER_SECOND).min(BUCKET_CAPACITY);
        self.last = self.last.max(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Probabilistic faults; a per-account plan overrides the global one field by field.
#[derive(Clone, Copy, Default)]
pub(super) struct FaultPlan {
    pub error: Option<(u16, f64)>,
    pub slow: Option<(f64, Duration)>,
    /// A write is applied, then answered with this status (a proxy giving up on Lever).
    pub lost_answer: Option<(u16, f64)>,
}

pub(super) struct Faults {
    pub global: FaultPlan,
    pub per_account: HashMap<String, FaultPlan>,
    pub fail_next: HashMap<String, VecDeque<u16>>,
    pub latency: Duration,
    pub retry_after: Option<u64>,
    pub token_endpoint_error: Option<u16>,
    rng: StdRng,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            global: FaultPlan::default(),
            per_account: HashMap::new(),
            fail_next: HashMap::new(),
            latency: Duration::ZERO,
            retry_after: None,
            token_endpoint_error: None,
            rng: rand::make_rng(),
        }
    }
}

impl Faults {
    pub fn seed(&mut self, seed: u64) {
        self.rng = StdRng::seed_from_u64(seed);
    }

    fn plan(&self, account: &str) -> FaultPlan {
        let own = self.per_account.get(account).copied().unwrap_or_default();
        FaultPlan {
            error: own.error.or(self.global.error),
            slow: own.slow.or(self.global.slow),
            lost_answer: own.lost_answer.or(self.global.lost_answer),
        }
    }

    /// The status to fail this request with before it is applied, if any.
    pub fn failure(&mut self, account: &str) -> Option<u16> {
        if let Some(status) = self.fail_next.get_mut(account).and_then(VecDeque::pop_front) {
            return Some(status);
        }
        let (status, p) = self.plan(account).error?;
        self.roll(p).then_some(status)
    }

    /// How long to hold back the answer to an applied write, if at all.
    pub fn slow_write(&mut self, account: &str) -> Option<Duration> {
        let (p, delay) = self.plan(account).slow?;
        self.roll(p).then_some(delay)
    }

    /// The error status to answer an applied write with, if any.
    pub fn lost_answer(&mut self, account: &str) -> Option<u16> {
        let (status, p) = self.plan(account).lost_answer?;
        self.roll(p).then_some(status)
    }

    /// Draws only for a non-zero probability, so a seeded run stays reproducible.
    fn roll(&mut self, p: f64) -> bool {
        p > 0.0 && self.rng.random_bool(p.min(1.0))
    }
}

/// Largest number of arrivals in any half-open window `[t, t + window)`.
pub(super) fn max_in_window(mut arrivals: Vec<Instant>, window: Duration) -> usize {
    arrivals.sort();
    let mut best = 0;
    let mut start = 0;
    for end in 0..arrivals.len() {
        while arrivals[end].duration_since(arrivals[start]) >= window {
            start += 1;
        }
        best = best.max(end - start + 1);
    }
    best
}
