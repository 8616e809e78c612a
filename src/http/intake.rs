//! Stores accepted webhook deliveries, each with the job that handles it, in batches.
//!
//! Every delivery must be committed before Lever gets its 200, and at Lever's busiest that
//! is thousands a second. One statement and one commit per delivery spends most of the
//! database's time starting statements and waiting for flushes, so deliveries that arrive
//! together are stored together: a few writers each take whatever has queued up since
//! their last statement and store it in one statement (every delivery with its job, so a
//! delivery is never without its job), then answer each request. Alone, a delivery is
//! stored at once, as before; a request never waits longer than the statement before its
//! own. Duplicates are recognised per delivery exactly as one at a time would.

use std::{
    collections::HashSet,
    sync::{Arc, Once},
};

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgPool;
use tokio::sync::{Mutex, mpsc, oneshot};
use uuid::Uuid;

use crate::{
    clock::Clock,
    jobs::{self, Wakeup, kinds::delivery::HandleDelivery},
};

/// Statements storing deliveries at once; each one's commit waits for its flush.
const WRITERS: usize = 4;
/// Deliveries in one statement at most.
const BATCH: usize = 256;

/// A delivery whose signature and shape were checked, ready to store.
pub struct NewDelivery {
    pub org_id: Uuid,
    pub token: String,
    pub event: String,
    pub opportunity_id: String,
    pub triggered_at: DateTime<Utc>,
    pub data: Option<Value>,
}

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
        loop {
            if receiver.lock().await.recv_many(&mut taken, BATCH).await == 0 {
                return;
            }
            while !taken.is_empty() {
                // A delivery repeated within one batch waits for the next statement, which
                // then sees it as the duplicate it is.
                let mut seen = HashSet::new();
                let (batch, later): (Vec<Pending>, Vec<Pending>) =
                    taken.drain(..).partition(|p| seen.insert((p.delivery.org_id, p.delivery.token.clone())));
                taken = later;
                if self.store(batch).await {
                    self.wakeup.wake();
                }
            }
        }
    }

    /// Stores one batch and answers its requests; true when any delivery was new.
    async fn store(&self, batch: Vec<Pending>) -> bool {
        match insert(&self.db, &batch, self.clock.now()).await {
            Ok(stored) => {
                let mut any = false;
                for pending in batch {
                    let d = &pending.delivery;
                    let new = stored.contains(&(d.org_id, d.token.clone()));
                    let answer = if new { Ok(true) } else { count_repeat(&self.db, d).await.map(|()| false) };
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
                    any |= Box::pin(self.store(vec![pending])).await;
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
async fn insert(db: &PgPool, batch: &[Pending], now: DateTime<Utc>) -> Result<HashSet<(Uuid, String)>, sqlx::Error> {
    let mut columns = Columns::default();
    for p in batch {
        columns.push(&p.delivery);
    }
    let mut tx = db.begin().await?;
    let stored = sqlx::query!(
        r#"INSERT INTO deliveries (org_id, token, event, opportunity_id, triggered_at, outcome, data)
           SELECT org_id, token, event, opportunity_id, triggered_at, 'accepted', data
           FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::jsonb[])
               AS i(org_id, token, event, opportunity_id, triggered_at, data)
           ON CONFLICT (org_id, token) WHERE outcome <> 'rejected' DO NOTHING
           RETURNING org_id AS "org_id!", token AS "token!""#,
        &columns.org_ids,
        &columns.tokens,
        &columns.events,
        &columns.opportunities,
        &columns.triggered_at,
        &columns.data as &[Option<Value>],
    )
    .fetch_all(&mut *tx)
    .await?;
    let jobs: Vec<HandleDelivery> =
        stored.iter().map(|r| HandleDelivery { org_id: r.org_id, token: r.token.clone() }).collect();
    jobs::enqueue_batch(&mut tx, &jobs, now).await?;
    tx.commit().await?;
    Ok(stored.into_iter().map(|r| (r.org_id, r.token)).collect())
}

/// The batch as one array per column, for `unnest`.
#[derive(Default)]
struct Columns {
    org_ids: Vec<Uuid>,
    tokens: Vec<String>,
    events: Vec<String>,
    opportunities: Vec<String>,
    triggered_at: Vec<DateTime<Utc>>,
    data: Vec<Option<Value>>,
}

impl Columns {
    fn push(&mut self, d: &NewDelivery) {
        self.org_ids.push(d.org_id);
        self.tokens.push(d.token.clone());
        self.events.push(d.event.clone());
        self.opportunities.push(d.opportunity_id.clone());
        self.triggered_at.push(d.triggered_at);
        self.data.push(d.data.clone());
    }
}

/// Lever retried or reran a delivery: the log shows how often it came.
async fn count_repeat(db: &PgPool, d: &NewDelivery) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE deliveries SET duplicates = duplicates + 1 WHERE org_id = $1 AND token = $2 AND outcome <> 'rejected'",
        d.org_id,
        d.token,
    )
    .execute(db)
    .await?;
    Ok(())
}
