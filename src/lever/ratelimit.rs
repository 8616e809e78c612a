//! Fulcrum's request budget per Lever account, held in PostgreSQL so that it is one budget
//! however many processes run.
//!
//! Each request reserves a send time ("slot") in one statement: the slot after the last
//! reserved one, `interval = 1/rate` later, but never earlier than `now - (burst-1)·interval`.
//! After a quiet spell up to `burst` requests go at once; under load requests are spaced
//! exactly `interval` apart. So no one-second window ever holds more than
//! `rate + burst - 1` requests (14 with the defaults, against Lever's 20) and the long-run
//! rate is `rate` (Lever's 10/s) — unlike a copy of Lever's own bucket, which allows 30 in a
//! second. Reservations are first come, first served across processes.
//!
//! A request never waits long for its slot: one that would have to wait more than
//! [`MAX_WAIT`] reserves nothing and is told when to come back, so its job gives its worker
//! slot back (`JobError::Defer`) instead of sleeping in it while other tenants' work waits.
//! The claim query keeps this rare: it does not hand out jobs of an account whose budget
//! is spoken for over the next second.
//!
//! When Lever says "not now" (429, 503) the account pauses ([`back_off`]): no slot is handed
//! out before the pause ends, and requests that reserved theirs earlier and are still
//! waiting for it find the pause when they wake and reserve again after it.

use std::time::Duration;

use sqlx::PgPool;

#[derive(Clone, Copy, Debug)]
pub struct Budget {
    pub interval: Duration,
    pub burst: u32,
}

impl Budget {
    pub fn new(requests_per_second: u32, burst: u32) -> Self {
        Self { interval: Duration::from_secs(1) / requests_per_second.max(1), burst: burst.max(1) }
    }

    fn lead(&self) -> Duration {
        self.interval * (self.burst - 1)
    }
}

/// The longest a request sleeps for its slot, holding its job's worker slot.
pub const MAX_WAIT: Duration = Duration::from_secs(2);

/// Whether a request may go.
#[derive(Debug, PartialEq)]
pub enum Slot {
    /// Its slot has come.
    Go,
    /// The budget is spoken for further ahead than [`MAX_WAIT`]: nothing was reserved; come
    /// back after this long.
    Later(Duration),
}

/// Reserves the next slot for `account_id` and waits until it comes, unless that is more
/// than [`MAX_WAIT`] away.
pub async fn acquire(db: &PgPool, account_id: &str, budget: Budget) -> Result<Slot, sqlx::Error> {
    loop {
        let wait_secs = reserve(db, account_id, budget).await?;
        if wait_secs > MAX_WAIT.as_secs_f64() {
            // Not reserved: the wait is until the budget is back within reach.
            return Ok(Slot::Later(Duration::from_secs_f64(wait_secs - MAX_WAIT.as_secs_f64())));
        }
        if wait_secs <= 0.0 {
            return Ok(Slot::Go);
        }
        tokio::time::sleep(Duration::from_secs_f64(wait_secs)).await;
        if !paused(db, account_id).await? {
            return Ok(Slot::Go);
        }
    }
}

/// Seconds until the slot just reserved; when that would be more than [`MAX_WAIT`] away,
/// nothing is reserved and the answer is how far the next free slot is.
async fn reserve(db: &PgPool, account_id: &str, budget: Budget) -> Result<f64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"WITH reserved AS (
               INSERT INTO lever_rate (account_id, next_slot)
               VALUES ($1, clock_timestamp() - make_interval(secs => $3))
               ON CONFLICT (account_id) DO UPDATE SET next_slot = greatest(
                   lever_rate.next_slot + make_interval(secs => $2),
                   clock_timestamp() - make_interval(secs => $3))
               WHERE lever_rate.next_slot + make_interval(secs => $2) <= clock_timestamp() + make_interval(secs => $4)
               RETURNING next_slot
           )
           SELECT extract(epoch FROM coalesce(
                      (SELECT next_slot FROM reserved),
                      (SELECT next_slot + make_interval(secs => $2) FROM lever_rate WHERE account_id = $1))
                  - clock_timestamp())::float8 AS "wait!""#,
        account_id,
        budget.interval.as_secs_f64(),
        budget.lead().as_secs_f64(),
        MAX_WAIT.as_secs_f64(),
    )
    .fetch_one(db)
    .await
}

/// Whether Lever asked for a pause that has not ended yet.
async fn paused(db: &PgPool, account_id: &str) -> Result<bool, sqlx::Error> {
    let paused = sqlx::query_scalar!(
        r#"SELECT paused_until > clock_timestamp() AS "paused!" FROM lever_rate
           WHERE account_id = $1 AND paused_until IS NOT NULL"#,
        account_id
    )
    .fetch_optional(db)
    .await?;
    Ok(paused.unwrap_or(false))
}

/// After a 429 or 503: no request for this account before `pause` from now, in any
/// process, whenever its slot was reserved.
pub async fn back_off(db: &PgPool, account_id: &str, pause: Duration) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE lever_rate SET
             next_slot = greatest(next_slot, clock_timestamp() + make_interval(secs => $2)),
             paused_until = greatest(paused_until, clock_timestamp() + make_interval(secs => $2))
         WHERE account_id = $1",
        account_id,
        pause.as_secs_f64(),
    )
    .execute(db)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_budget_stays_inside_levers_window() {
        let b = Budget::new(10, 5);
        assert_eq!(b.interval, Duration::from_millis(100));
        // Requests in one second at most: the burst, plus one per interval after it.
        let worst = b.burst as u128 + (Duration::from_secs(1).as_millis() / b.interval.as_millis()) - 1;
        assert!(worst <= 20, "{worst}");
    }
}
