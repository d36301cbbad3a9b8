//! The versioned rebuild of the search index, for deployments whose index was written in
//! an older token format (here: before the scope tokens of version 2).
//!
//! Safe with several app instances (migration 0013, table `search_index_builds`): one
//! instance claims the version's row; each page it rewrites records the checkpoint and the
//! heartbeat in the page's own transaction, and only while the claim is still its own; an
//! instance finding a claim whose heartbeat is older than [`LEASE_MS`] takes it over and
//! resumes after the checkpoint. Pages are idempotent (an item's index row is replaced), so
//! a page done twice after a takeover costs time, never correctness.
//!
//! Until the row says done, searches keep checking the scope in SQL (see
//! [`super::search_queue`]), so no item is missing from a scoped search during the
//! rebuild. A fresh database is marked done by the migration itself.
//!
//! What this does not cover: an instance still running the previous binary after the
//! rebuild writes items without scope tokens, which scoped searches then miss. Upgrade
//! every instance, then let the rebuild run (or run `search::reindex` again).

use super::Opinions;
use std::sync::atomic::{AtomicBool, Ordering};
use yidu_db::{AnyConnection, Row};
use yidu_kernel::clock::now_ms;
use yidu_kernel::AppResult;

/// The token format this binary writes and reads (2: text tokens plus scope tokens).
pub const TOKEN_VERSION: i64 = 2;

/// A claim whose heartbeat is older than this is taken over (a page takes well under a
/// second; the claimant died or lost its database connection).
pub const LEASE_MS: i64 = 60_000;

/// Whether the index holds the scope tokens of every item, as far as this process knows.
/// Once true it stays true (a version is never undone), so it is read from the database
/// only until then.
#[derive(Debug, Default)]
pub struct IndexState {
    ready: AtomicBool,
    /// PostgreSQL: the lexemes the statistics call very common, with their share of the
    /// rows, and when they were read (see `search_pg::common_share`).
    pub(crate) common: std::sync::Mutex<Option<super::search_pg::Common>>,
}

impl IndexState {
    pub fn new() -> std::sync::Arc<Self> {
        std::sync::Arc::new(Self::default())
    }
}

/// A rebuild claimed by this instance.
#[derive(Debug, Clone)]
pub struct Claim {
    pub version: i64,
    pub owner: String,
}

/// True when searches may take the viewer's scope from the index.
pub async fn ready(o: &Opinions) -> AppResult<bool> {
    if o.search.ready.load(Ordering::Acquire) {
        return Ok(true);
    }
    let done =
        sqlx::query("SELECT 1 FROM search_index_builds WHERE version = $1 AND done_at IS NOT NULL")
            .bind(TOKEN_VERSION)
            .fetch_optional(o.db.pool())
            .await?
            .is_some();
    if done {
        o.search.ready.store(true, Ordering::Release);
    }
    Ok(done)
}

/// Records that the page up to `last_id` is rewritten, in the page's transaction; false
/// when the claim is no longer this instance's (the page is then rolled back).
pub async fn checkpoint(conn: &mut AnyConnection, c: &Claim, last_id: i64) -> AppResult<bool> {
    let done = sqlx::query(
        "UPDATE search_index_builds SET last_id = $3, heartbeat_at = $4
         WHERE version = $1 AND claimed_by = $2 AND done_at IS NULL",
    )
    .bind(c.version)
    .bind(&c.owner)
    .bind(last_id)
    .bind(now_ms())
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Claims the rebuild (new, or abandoned by another instance); the id to resume after.
async fn claim(o: &Opinions, owner: &str) -> AppResult<Option<(Claim, i64)>> {
    let now = now_ms();
    let mut tx = o.db.begin().await?;
    let fresh = sqlx::query(
        "INSERT INTO search_index_builds (version, claimed_by, heartbeat_at, last_id)
         VALUES ($1, $2, $3, 0) ON CONFLICT (version) DO NOTHING",
    )
    .bind(TOKEN_VERSION)
    .bind(owner)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    let taken = fresh
        || sqlx::query(
            "UPDATE search_index_builds SET claimed_by = $2, heartbeat_at = $3
             WHERE version = $1 AND done_at IS NULL AND heartbeat_at < $4",
        )
        .bind(TOKEN_VERSION)
        .bind(owner)
        .bind(now)
        .bind(now - LEASE_MS)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
    if !taken {
        return Ok(None);
    }
    let after: i64 = sqlx::query("SELECT last_id FROM search_index_builds WHERE version = $1")
        .bind(TOKEN_VERSION)
        .fetch_one(&mut *tx)
        .await?
        .get(0);
    tx.commit().await?;
    let c = Claim {
        version: TOKEN_VERSION,
        owner: owner.to_string(),
    };
    Ok(Some((c, after)))
}

/// What one attempt found.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The index is in this version's format (now or already).
    Done { items: usize },
    /// Another instance is rebuilding it (or took it over from this one).
    Busy,
}

/// Rebuilds the index in this version's format unless that is done or another live
/// instance is on it. `owner` names this instance in the claim.
pub async fn run_once(o: &Opinions, owner: &str) -> AppResult<Outcome> {
    if ready(o).await? {
        return Ok(Outcome::Done { items: 0 });
    }
    let Some((c, mut after)) = claim(o, owner).await? else {
        return Ok(Outcome::Busy);
    };
    tracing::info!(version = c.version, after, "rebuilding the search index");
    let mut items = 0;
    while let Some(page) = super::search::reindex_page(o, after, Some(&c)).await? {
        items += page.items;
        after = page.last_id;
    }
    let finished = sqlx::query(
        "UPDATE search_index_builds SET done_at = $3, heartbeat_at = $3
         WHERE version = $1 AND claimed_by = $2 AND done_at IS NULL",
    )
    .bind(c.version)
    .bind(&c.owner)
    .bind(now_ms())
    .execute(o.db.pool())
    .await?
    .rows_affected()
        == 1;
    if !finished {
        return Ok(Outcome::Busy);
    }
    o.search.ready.store(true, Ordering::Release);
    tracing::info!(version = c.version, items, "search index rebuilt");
    Ok(Outcome::Done { items })
}

/// Runs the rebuild at start-up, retrying every 30 s while another instance holds it (to
/// take over if that one dies) until the index is in this version's format.
pub fn spawn(
    o: Opinions,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let owner = format!("instance-{}", super::event_id());
    tokio::spawn(async move {
        loop {
            if *shutdown.borrow() {
                break;
            }
            match run_once(&o, &owner).await {
                Ok(Outcome::Done { .. }) => break,
                Ok(Outcome::Busy) => {}
                Err(e) => tracing::warn!(error = %e, "search index rebuild failed; retrying"),
            }
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_secs(30)) => {}
                r = shutdown.changed() => if r.is_err() { break },
            }
        }
    })
}
