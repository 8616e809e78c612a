//! Exponential backoff with full jitter, for everything that retries: Lever calls within a
//! request, and jobs between attempts.

use std::time::Duration;

/// A random delay up to `base · 2^(attempt-1)`, capped, so retries of many callers spread
/// out instead of arriving together.
pub fn backoff(attempt: i32, base: Duration, cap: Duration) -> Duration {
    let exp = base.saturating_mul(2u32.saturating_pow(attempt.clamp(1, 30) as u32 - 1));
    let ceiling = exp.min(cap);
    ceiling.mul_f64(rand::random::<f64>()).max(Duration::from_millis(10))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_stays_under_the_cap() {
        let base = Duration::from_secs(1);
        let cap = Duration::from_secs(60);
        for attempt in 1..40 {
            let d = backoff(attempt, base, cap);
            let ceiling = base.saturating_mul(2u32.saturating_pow(attempt as u32 - 1)).min(cap);
            assert!(d <= ceiling.max(Duration::from_millis(10)), "attempt {attempt}: {d:?}");
        }
        let late: Vec<_> = (0..50).map(|_| backoff(10, base, cap)).collect();
        assert!(late.iter().any(|d| *d > Duration::from_secs(5)), "jitter spreads over the range");
    }
}
