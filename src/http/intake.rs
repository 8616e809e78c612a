//! Stores accepted webhook deliveries, each with the job that handles it, in batches.
//!
//! Every delivery must be committed before Lever gets its 200, and at Lever's busiest that
//! is thousands a second. One statement and one commit per delivery spends most of the
//! database's time starting statements and waiting for flushes, so deliveries that arrive
//! together are stored together: a few writers each take whatever has queued up since
//! their last transaction and store it in one (every delivery with its job, so a delivery
//! is never without its job), then answer each request. Alone, a delivery is stored at
//! once; a request never waits longer than the transaction before its own. Duplicates are
//! recognised per delivery exactly as one at a time would.

use std::{
    collections::HashSet,
    sync::{Arc, Once},
};

use chrono::{DateTime, Utc};
use sqlx::{Connection, PgConnection, PgPool, Postgres, pool::PoolConnection};
use tokio::sync::{Mutex, mpsc, oneshot};
use uuid::Uuid;

pub use crate::deliveries::NewDelivery;
use crate::{
    clock::Clock,
    deliveries,
    jobs::{self, Wakeup, kinds::delivery::HandleDelivery},
};

/// Transactions storing deliveries at once; each one's commit waits for its flush. Two, so
/// one batch's flush never holds up the next; more contend inside PostgreSQL (the jobs
/// table's indexes, WAL insertion) and store fewer a second: `cargo bench --bench
/// webhooks` on 2 cores gave 8,900–9,200/s with two, 8,400–9,900 with one (and a higher p50
/// at 1,000/s), 8,500 with four, 6,900 with eight and 4,500 with sixteen.
const WRITERS: usize = 2;
/// Deliveries in one statement at most.
const BATCH: usize = 256;
/// A writer gives its connection back to the pool after this long without deliveries.
const KEEP_CONNECTION: std::time::Duration = std::time::Duration::from_secs(1);

struct Pending {
    delivery: NewDelivery,
    /// True when stored now, false for a delivery already received.
    answer: oneshot::Sender<Result<bool, sqlx::Error>>,
}

#[derive(Clone)]
pub struct Intake(Arc<Inner>);

struct Inner {
    db: PgPool,
    clock: Clock,
    wakeup: Wakeup,
    queue: mpsc::UnboundedSender<Pending>,
    receiver: Arc<Mutex<mpsc::UnboundedReceiver<Pending>>>,
    writers: Once,
}

impl Intake {
    pub fn new(db: PgPool, clock: Clock, wakeup: Wakeup) -> Self {
        let (queue, receiver) = mpsc::unbounded_channel();
        let receiver = Arc::new(Mutex::new(receiver));
        Self(Arc::new(Inner { db, clock, wakeup, queue, receiver, writers: Once::new() }))
    }

    /// Stores `delivery` and queues its job, committed when this returns. False when the
    /// delivery was already received (its repeat is counted).
    pub async fn store(&self, delivery: NewDelivery) -> Result<bool, sqlx::Error> {
        let inner = &self.0;
        inner.writers.call_once(|| {
            for _ in 0..WRITERS {
                let writer = Writer { db: inner.db.clone(), clock: inner.clock.clone(), wakeup: inner.wakeup.clone() };
                tokio::spawn(writer.run(inner.receiver.clone()));
            }
        });
        let (answer, stored) = oneshot::channel();
        if inner.queue.send(Pending { delivery, answer }).is_err() {
            return Err(sqlx::Error::PoolClosed);
        }
        stored.await.unwrap_or(Err(sqlx::Error::PoolClosed))
    }
}

/// Takes deliveries off the queue and stores them, a batch per statement.
struct Writer {
    db: PgPool,
    clock: Clock,
    wakeup: Wakeup,
}

impl Writer {
    async fn run(self, receiver: Arc<Mutex<mpsc::UnboundedReceiver<Pending>>>) {
        let mut taken = Vec::with_capacity(BATCH);
        // Held while deliveries keep coming: a connection taken from the pool is checked
        // first, one more round trip for every batch.
        let mut conn: Option<PoolConnection<Postgres>> = None;
        loop {
            let next = async { receiver.lock().await.recv_many(&mut taken, BATCH).await };
            let received = if conn.is_some() {
                match tokio::time::timeout(KEEP_CONNECTION, next).await {
                    Ok(received) => received,
                    Err(_) => {
                        conn = None;
                        continue;
                    }
                }
            } else {
                next.await
            };
            if received == 0 {
                return;
            }
            while !taken.is_empty() {
                // A delivery repeated within one batch waits for the next statement, which
                // then sees it as the duplicate it is.
                let mut seen = HashSet::new();
                let (batch, later): (Vec<Pending>, Vec<Pending>) =
                    taken.drain(..).partition(|p| seen.insert((p.delivery.org_id, p.delivery.token.clone())));
                taken = later;
                let stored = self.insert(&mut conn, &batch).await;
                if self.answer(batch, stored).await {
                    self.wakeup.wake();
                }
            }
        }
    }

    /// Stores `batch` on the writer's connection, taking one from the pool when it has
    /// none; a connection that failed goes back. A kept connection the database dropped
    /// meanwhile (a restart) is replaced and the batch tried once more, as the pool's own
    /// check would have done.
    async fn insert(
        &self,
        conn: &mut Option<PoolConnection<Postgres>>,
        batch: &[Pending],
    ) -> Result<HashSet<(Uuid, String)>, sqlx::Error> {
        let kept = conn.is_some();
        let held = match conn {
            Some(held) => held,
            None => conn.insert(self.db.acquire().await?),
        };
        let stored = insert(held, batch, self.clock.now()).await;
        if stored.is_err() {
            *conn = None;
        }
        match stored {
            Err(e) if kept && crate::db::is_unavailable(&e) => Box::pin(self.insert(conn, batch)).await,
            stored => stored,
        }
    }

    /// Answers a batch's requests from how storing it went; true when any delivery was new.
    async fn answer(&self, batch: Vec<Pending>, stored: Result<HashSet<(Uuid, String)>, sqlx::Error>) -> bool {
        match stored {
            Ok(stored) => {
                let mut any = false;
                for pending in batch {
                    let d = &pending.delivery;
                    let new = stored.contains(&(d.org_id, d.token.clone()));
                    let answer = if new {
                        Ok(true)
                    } else {
                        deliveries::count_repeat(&self.db, d.org_id, &d.token).await.map(|()| false)
                    };
                    any |= new;
                    let _ = pending.answer.send(answer);
                }
                any
            }
            // The database is away: every request in the batch gets the 503 Lever retries on.
            Err(e) if crate::db::is_unavailable(&e) => {
                let message = e.to_string();
                for pending in batch {
                    let _ = pending.answer.send(Err(sqlx::Error::Io(std::io::Error::other(message.clone()))));
                }
                false
            }
            // Anything else: one delivery must not fail the others, so each goes alone.
            Err(_) if batch.len() > 1 => {
                let mut any = false;
                for pending in batch {
                    let alone = [pending];
                    let stored = self.insert(&mut None, &alone).await;
                    any |= Box::pin(self.answer(alone.into(), stored)).await;
                }
                any
            }
            Err(e) => {
                let pending = batch.into_iter().next().expect("a batch of one");
                let _ = pending.answer.send(Err(e));
                false
            }
        }
    }
}

/// One transaction: each new delivery, then its job. Returns the deliveries stored now;
/// the others were received before.
async fn insert(
    conn: &mut PgConnection,
    batch: &[Pending],
    now: DateTime<Utc>,
) -> Result<HashSet<(Uuid, String)>, sqlx::Error> {
    let new: Vec<&NewDelivery> = batch.iter().map(|p| &p.delivery).collect();
    let mut tx = conn.begin().await?;
    let stored = deliveries::insert_accepted(&mut tx, &new).await?;
    let jobs: Vec<HandleDelivery> =
        stored.iter().map(|(org_id, token)| HandleDelivery { org_id: *org_id, token: token.clone() }).collect();
    jobs::enqueue_batch(&mut tx, &jobs, now).await?;
    tx.commit().await?;
    Ok(stored.into_iter().collect())
}
