//! Batched writes: [`crate::Db::write_batched`] for hot paths that write the same rows
//! for every request (citizen intake).
//!
//! Group commit ([`crate::write`]) shares one COMMIT among concurrent jobs, but each job
//! still runs its own statements, each a round trip to the driver (on SQLite, to its
//! worker thread): with ~15 statements per submission that, not the fsync, sets the pace.
//! Here the requests of one kind queue up, and whatever is queued when the previous batch
//! is done becomes one job that writes all of them with multi-row statements:
//! - the batch runs as one [`crate::Db::write`] job (on SQLite inside the group commit,
//!   in its own savepoint; on PostgreSQL in its own transaction), and every request is
//!   answered only after that COMMIT;
//! - when the batch job fails, its writes are rolled back and each of its requests is
//!   written again on its own ([`Batch::write_one`], each its own job), so one bad request
//!   fails alone, exactly as without batching;
//! - when the COMMIT fails, every request of the batch gets an error (nothing of it is
//!   stored), as with group commit.
//!
//! One batch is in flight per kind and process: requests arriving meanwhile form the next
//! batch, so batches grow with the load and a lone request waits for nothing.

use crate::{BoxFuture, Db, Tx};
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use tokio::sync::{mpsc, oneshot};

/// At most this many requests per batch (keeps statements well under both engines'
/// limits on bound parameters).
pub const MAX_BATCH: usize = 128;

/// A kind of request that can be written many at a time.
pub trait Batch: Send + Sync + 'static {
    type Item: Send + 'static;
    /// What a request is answered with when its rows are written.
    type Out: Send + 'static;
    type Err: From<sqlx::Error> + Send + 'static;

    /// Writes every item in the transaction, all or nothing, and returns one outcome per
    /// item in their order.
    fn write_many<'c>(
        tx: &'c mut Tx,
        items: &'c [Self::Item],
    ) -> BoxFuture<'c, Result<Vec<Self::Out>, sqlx::Error>>;

    /// Writes one item alone: the fallback after a failed batch.
    fn write_one<'c>(
        tx: &'c mut Tx,
        item: &'c Self::Item,
    ) -> BoxFuture<'c, Result<Self::Out, Self::Err>>;
}

type Reply<B> = oneshot::Sender<Result<<B as Batch>::Out, <B as Batch>::Err>>;
type Queue<B> = mpsc::UnboundedSender<(<B as Batch>::Item, Reply<B>)>;

/// The queues of every batch kind of one database, started on first use (and again if
/// the runtime that ran them has gone, as happens between tests).
#[derive(Default)]
pub(crate) struct Batchers {
    queues: Mutex<HashMap<TypeId, Box<dyn Any + Send>>>,
}

/// Why a batch job did not go through: the job itself failed (its items come back for
/// the fallback) or its COMMIT did.
enum Failed<I> {
    Job(Vec<I>, sqlx::Error),
    Commit(sqlx::Error),
}

impl<I> From<sqlx::Error> for Failed<I> {
    fn from(e: sqlx::Error) -> Self {
        Failed::Commit(e)
    }
}

impl Batchers {
    fn sender<B: Batch>(&self, db: &Db) -> Queue<B> {
        let mut queues = self.queues.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = queues
            .get(&TypeId::of::<B>())
            .and_then(|s| s.downcast_ref::<Queue<B>>())
            .filter(|s| !s.is_closed())
        {
            return s.clone();
        }
        let (s, r) = mpsc::unbounded_channel();
        tokio::spawn(run::<B>(db.clone(), r));
        queues.insert(TypeId::of::<B>(), Box::new(s.clone()));
        s
    }
}

impl Db {
    /// Writes `item` batched with the concurrent requests of the same kind (see
    /// [`crate::batch`]) and answers once its rows are durable.
    pub async fn write_batched<B: Batch>(&self, item: B::Item) -> Result<B::Out, B::Err> {
        if !self.batch_requests {
            return self
                .write(move |tx| Box::pin(async move { B::write_one(tx, &item).await }))
                .await;
        }
        let (reply, answer) = oneshot::channel();
        let queue = self.batchers.sender::<B>(self);
        if let Err(mpsc::error::SendError((item, reply))) = queue.send((item, reply)) {
            // The queue's task is gone: write it alone.
            drop(reply);
            return self
                .write(move |tx| Box::pin(async move { B::write_one(tx, &item).await }))
                .await;
        }
        answer
            .await
            .unwrap_or_else(|_| Err(B::Err::from(sqlx::Error::WorkerCrashed)))
    }
}

async fn run<B: Batch>(db: Db, mut queue: mpsc::UnboundedReceiver<(B::Item, Reply<B>)>) {
    while let Some(first) = queue.recv().await {
        let mut items = vec![first.0];
        let mut replies = vec![first.1];
        while items.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok((item, reply)) => {
                    items.push(item);
                    replies.push(reply);
                }
                Err(_) => break,
            }
        }
        let written = db
            .write(move |tx| {
                Box::pin(async move {
                    match B::write_many(tx, &items).await {
                        Ok(outs) if outs.len() == items.len() => Ok(outs),
                        Ok(outs) => {
                            let e = sqlx::Error::Protocol(format!(
                                "batch wrote {} outcomes for {} items",
                                outs.len(),
                                items.len()
                            ));
                            Err(Failed::Job(items, e))
                        }
                        Err(e) => Err(Failed::Job(items, e)),
                    }
                })
            })
            .await;
        match written {
            Ok(outs) => {
                db.counters.add_batch(outs.len() as u64);
                for (reply, out) in replies.into_iter().zip(outs) {
                    let _ = reply.send(Ok(out));
                }
            }
            Err(Failed::Commit(e)) => {
                tracing::error!(error = %e, "batched write: the commit failed; every request of the batch is refused");
                for reply in replies {
                    let _ = reply.send(Err(B::Err::from(crate::write::batch_error(&e))));
                }
            }
            Err(Failed::Job(items, e)) => {
                tracing::warn!(error = %e, requests = items.len(), "batched write failed; writing its requests one by one");
                // Each on its own, concurrently: on SQLite they share a group commit
                // again, each in its own savepoint.
                let alone = items.into_iter().zip(replies).map(|(item, reply)| {
                    let db = db.clone();
                    async move {
                        let out = db
                            .write(move |tx| Box::pin(async move { B::write_one(tx, &item).await }))
                            .await;
                        let _ = reply.send(out);
                    }
                });
                futures_join_all(alone).await;
            }
        }
    }
}

/// Runs the futures concurrently on this task and waits for all of them.
async fn futures_join_all<F: Future<Output = ()>>(futs: impl Iterator<Item = F>) {
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = futs.map(Box::pin).collect();
    std::future::poll_fn(|cx| {
        pinned.retain_mut(|f| f.as_mut().poll(cx).is_pending());
        if pinned.is_empty() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
}
