//! Limits on how often a client may do something (sign in, sign up, call the API), counted
//! in PostgreSQL so that they hold across every process and under concurrency: counting is
//! one statement that takes each counter's row lock, so of any number of concurrent
//! requests exactly the first `max` are allowed.
//!
//! A counter counts attempts, before the work is done; a sign-in that turns out right is
//! taken back ([`forgive`]), so what stays counted are the failures.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// One counter: what is counted and for whom (`key`), how many are allowed (`max`) in a
/// window of `window_secs` from the first.
#[derive(Clone, Debug)]
pub struct Limit {
    pub key: String,
    pub max: i64,
    pub window_secs: i64,
}

/// A limit that was reached: until when it holds.
#[derive(Clone, Debug)]
pub struct Exceeded {
    pub key: String,
    pub until: DateTime<Utc>,
}

impl Exceeded {
    /// Seconds until the limit lifts, for `Retry-After`.
    pub fn retry_after_secs(&self) -> i64 {
        (self.until - Utc::now()).num_seconds().max(1)
    }
}

/// Counts one attempt against every limit, in one statement; the first limit the attempt
/// goes over, if any.
pub async fn count(db: &PgPool, limits: &[Limit]) -> sqlx::Result<Option<Exceeded>> {
    // Counters are locked in key order, so two requests sharing counters never deadlock.
    let mut limits = limits.to_vec();
    limits.sort_by(|a, b| a.key.cmp(&b.key));
    let keys: Vec<String> = limits.iter().map(|l| l.key.clone()).collect();
    let windows: Vec<f64> = limits.iter().map(|l| l.window_secs as f64).collect();
    let rows = sqlx::query!(
        r#"INSERT INTO throttles (key, count, window_ends)
           SELECT key, 1, now() + make_interval(secs => secs)
           FROM unnest($1::text[], $2::float8[]) WITH ORDINALITY AS t(key, secs, n) ORDER BY n
           ON CONFLICT (key) DO UPDATE SET
               count = CASE WHEN throttles.window_ends <= now() THEN 1 ELSE throttles.count + 1 END,
               window_ends = CASE WHEN throttles.window_ends <= now() THEN excluded.window_ends
                                  ELSE throttles.window_ends END
           RETURNING key, count, window_ends"#,
        &keys,
        &windows,
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().find_map(|row| {
        let limit = limits.iter().find(|l| l.key == row.key)?;
        (i64::from(row.count) > limit.max).then_some(Exceeded { key: row.key, until: row.window_ends })
    }))
}

/// Takes one attempt back from each of `keys`.
pub async fn forgive(db: &PgPool, keys: &[String]) -> sqlx::Result<()> {
    sqlx::query!("UPDATE throttles SET count = greatest(count - 1, 0) WHERE key = ANY($1)", keys).execute(db).await?;
    Ok(())
}

/// Forgets a counter altogether.
pub async fn reset(db: &PgPool, key: &str) -> sqlx::Result<()> {
    sqlx::query!("DELETE FROM throttles WHERE key = $1", key).execute(db).await?;
    Ok(())
}

/// Deletes counters whose window has passed.
pub async fn prune(db: &PgPool) -> sqlx::Result<u64> {
    Ok(sqlx::query!("DELETE FROM throttles WHERE window_ends < now()").execute(db).await?.rows_affected())
}

/// How a client address is named in keys. An IPv6 client is its /64: one subscriber
/// usually holds a whole /64, and counting single addresses in it would count nothing.
pub fn client_key(address: IpAddr) -> String {
    match address.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let net = ipnet::Ipv6Net::new(v6, 64).expect("64 is a valid prefix length").trunc();
            net.to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        assert_eq!(client_key("203.0.113.7".parse().unwrap()), "203.0.113.7");
        assert_eq!(client_key("::ffff:203.0.113.7".parse().unwrap()), "203.0.113.7");
        assert_eq!(client_key("2001:db8:1:2:3:4:5:6".parse().unwrap()), "2001:db8:1:2::/64");
    }
}
