//! The worker `yidu serve` runs beside the outbox dispatcher: every few seconds it picks up
//! the items that arrived above its watermark and places each in its class, without
//! touching intake. Several instances on one PostgreSQL database share a lease row, so one
//! works at a time; a lease that is not renewed expires and another instance takes over.
//!
//! Each district's clusterer lives in memory (see [`Model`]); it is built by a batch
//! rebuild the first time the district needs it, and thrown away when someone else moved
//! the watermark or rebuilt (the generation counter changed), since it would then miss
//! items.

use crate::model::KIND_OPINION;
use crate::service::cluster::{rebuild, Model, Rebuilt};
use crate::service::stream::Stop;
use crate::service::{Classes, DAY_MS};
use crate::store;
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::time::Duration;
use yidu_audit::Actor;
use yidu_kernel::clock::now_ms;
use yidu_kernel::AppResult;
use yidu_opinions::assist::metoo;
use yidu_opinions::model::Status;
use yidu_opinions::service::feed;

/// How long a lease lasts without renewal.
const LEASE_MS: i64 = 60_000;
/// Items taken per round.
const BATCH: i64 = 500;
const WATERMARK: &str = "watermark:opinion";
/// The last `opinion_metoo` row whose count was copied into the memberships.
const METOO_WATERMARK: &str = "watermark:metoo";

pub struct Worker {
    classes: Classes,
    holder: String,
    models: HashMap<i64, Model>,
    /// Generation and watermark as this worker last left them.
    seen: Option<(i64, i64)>,
    /// Set at shutdown: a rebuild in progress gives up (writing nothing).
    stop: Stop,
}

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    /// False when another instance holds the lease.
    pub leader: bool,
    /// Items looked at.
    pub items: usize,
    /// Items that joined or formed a class.
    pub placed: usize,
    /// Memberships whose 同问 count changed.
    pub same_asks: u64,
    /// The round gave up because the worker was asked to stop (the watermark stays).
    pub stopped: bool,
}

impl Worker {
    pub fn new(classes: Classes) -> Worker {
        use rand::RngCore;
        let mut b = [0u8; 8];
        rand::thread_rng().fill_bytes(&mut b);
        Worker {
            classes,
            holder: format!("{}-{}", std::process::id(), hex::encode(b)),
            models: HashMap::new(),
            seen: None,
            stop: Stop::new(),
        }
    }

    /// The flag that stops this worker's work in progress (shared, not a copy).
    pub fn stop_handle(&self) -> Stop {
        self.stop.clone()
    }

    /// Items held by the in-memory models, and their approximate heap bytes.
    pub fn model_size(&self) -> (usize, usize) {
        self.models
            .values()
            .fold((0, 0), |(n, b), m| (n + m.len(), b + m.heap_bytes()))
    }

    /// One round: takes (or renews) the lease, then places the new items.
    pub async fn run_once(&mut self) -> AppResult<Round> {
        let c = self.classes.clone();
        let now = now_ms();
        // The lease and the worker's counters are written through the writer (a job of
        // the group commit on SQLite), not on a reader connection: a write there waited
        // for the writer's lock, and the writer then for it, in SQLite's busy-handler
        // sleeps of several milliseconds, in the middle of intake.
        let holder = self.holder.clone();
        let leased = c
            .db()
            .write(move |tx| {
                Box::pin(async move {
                    if !store::take_lease(tx, &holder, now, now + LEASE_MS).await? {
                        return Ok::<_, sqlx::Error>(None);
                    }
                    let generation = store::counter(tx, "generation").await?;
                    Ok(Some((generation, store::counter(tx, WATERMARK).await?)))
                })
            })
            .await?;
        let Some((generation, watermark)) = leased else {
            self.models.clear();
            self.seen = None;
            return Ok(Round::default());
        };
        let same_asks = sync_same_asks(&c).await?;
        if self.seen != Some((generation, watermark)) {
            self.models.clear();
        }
        let items = feed::after(&c.opinions, watermark, BATCH).await?;
        let mut round = Round {
            leader: true,
            same_asks,
            ..Default::default()
        };
        let Some(last) = items.last().map(|i| i.id) else {
            self.seen = Some((generation, watermark));
            return Ok(round);
        };
        let since = now - i64::from(c.config.window_days) * DAY_MS;
        for item in &items {
            round.items += 1;
            let Some(district) = item.district_id else {
                continue;
            };
            let live = !matches!(
                item.status,
                Status::Merged | Status::Rejected | Status::Converted
            );
            if !live || (item.created_at < since && !item.status.is_open()) {
                continue;
            }
            let model = match self.models.entry(district) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(e) => {
                    // The rebuild clusters the whole window, this item included.
                    let actor = Actor::system("class-worker");
                    match rebuild(&c, district, &actor, &self.stop).await? {
                        Rebuilt::Done(report, model) => {
                            round.placed += report.placed;
                            tracing::info!(
                                district,
                                items = model.len(),
                                clusters = report.clusters,
                                model_bytes = model.heap_bytes(),
                                "class model built"
                            );
                            e.insert(*model)
                        }
                        Rebuilt::Stopped => {
                            // Nothing moves: the next start takes up these items again.
                            self.models.clear();
                            self.seen = None;
                            round.stopped = true;
                            return Ok(round);
                        }
                    }
                }
            };
            if model.assign(&c, item).await?.is_some() {
                round.placed += 1;
            }
        }
        let generation = c
            .db()
            .write(move |tx| {
                Box::pin(async move {
                    store::set_counter(tx, WATERMARK, last).await?;
                    store::counter(tx, "generation").await
                })
            })
            .await?;
        self.seen = Some((generation, last));
        Ok(round)
    }

    /// Gives the lease back (at shutdown), so another instance need not wait for it to expire.
    pub async fn release(&self) {
        let holder = self.holder.clone();
        let _ = self
            .classes
            .db()
            .write(move |tx| Box::pin(async move { store::release_lease(tx, &holder).await }))
            .await;
    }
}

/// Copies the 同问 counts recorded since the last round into the memberships, so the hot
/// topics rank by them without reading another room's tables.
async fn sync_same_asks(c: &Classes) -> AppResult<u64> {
    let mut conn = c.db().pool().acquire().await?;
    let after = store::counter(&mut conn, METOO_WATERMARK).await?;
    drop(conn);
    let (last, counts) = metoo::metoo_since(&c.opinions, after, BATCH).await?;
    if counts.is_empty() && last == after {
        return Ok(0);
    }
    let counts: Vec<(i64, i64)> = counts.into_iter().collect();
    let mut tx = c.db().begin().await?;
    let changed = store::set_same_asks(&mut tx, KIND_OPINION, &counts).await?;
    if last != after {
        store::set_counter(&mut tx, METOO_WATERMARK, last).await?;
    }
    tx.commit().await?;
    Ok(changed)
}

/// Runs the worker until `shutdown` turns true. A rebuild in progress then stops at its
/// next check (within a page of the window, or a few ms of clustering) without writing.
pub fn spawn(
    classes: Classes,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let every = Duration::from_secs(classes.config.interval_secs.max(1));
    let mut worker = Worker::new(classes);
    let stop = worker.stop_handle();
    let mut watch = shutdown.clone();
    tokio::spawn(async move {
        // Turns the shutdown signal into the flag the rebuild checks (also when the sender
        // is gone).
        while !*watch.borrow_and_update() {
            if watch.changed().await.is_err() {
                break;
            }
        }
        stop.stop();
    });
    tokio::spawn(async move {
        loop {
            if *shutdown.borrow() || worker.stop.is_stopped() {
                break;
            }
            let round = worker.run_once().await;
            match &round {
                Ok(r) if r.items > 0 => tracing::debug!(?r, "class worker round"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "class worker round failed"),
            }
            let pause = pause_after(round.as_ref().ok(), every);
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                r = shutdown.changed() => if r.is_err() { break },
            }
        }
        worker.release().await;
    })
}

/// A round that took a full batch leaves more items waiting: the next round follows after
/// a short pause instead of the interval. After the first rebuild the watermark is still
/// where the rebuild found it, and the items it already clustered pass through rounds of
/// [`BATCH`]: at the interval (5 s) a million of them took almost three hours, and a restart
/// in that time rebuilt everything again over the memberships already written.
const CATCH_UP_PAUSE: Duration = Duration::from_millis(100);

fn pause_after(round: Option<&Round>, every: Duration) -> Duration {
    match round {
        Some(r) if r.leader && !r.stopped && r.items as i64 >= BATCH => CATCH_UP_PAUSE.min(every),
        _ => every,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_round_is_followed_at_once_and_any_other_after_the_interval() {
        let every = Duration::from_secs(5);
        let full = Round {
            leader: true,
            items: BATCH as usize,
            ..Round::default()
        };
        assert_eq!(pause_after(Some(&full), every), CATCH_UP_PAUSE);
        let partial = Round {
            items: BATCH as usize - 1,
            ..full
        };
        assert_eq!(pause_after(Some(&partial), every), every);
        let stopped = Round {
            stopped: true,
            ..full
        };
        assert_eq!(pause_after(Some(&stopped), every), every);
        let follower = Round {
            leader: false,
            ..full
        };
        assert_eq!(pause_after(Some(&follower), every), every);
        assert_eq!(pause_after(None, every), every, "a failed round waits");
        assert_eq!(
            pause_after(Some(&full), Duration::from_millis(20)),
            Duration::from_millis(20),
            "never longer than the interval"
        );
    }
}
