//! WAL checkpoints in the background (SQLite).
//!
//! A checkpoint copies the pages of committed transactions from the WAL back into the
//! database file. SQLite runs one in the COMMIT that takes the WAL past
//! `wal_autocheckpoint` pages, on the committing connection: with group commit that is
//! the one writer, and every submission queued behind it waited 10-24 ms while it copied
//! (the intake benchmark's slowest commits, four a second at 64 clients). Here a reader
//! connection runs a PASSIVE checkpoint shortly after the writer commits: it copies what
//! is committed while the writer goes on, and never waits for it. The writer's own
//! checkpoint (at [`crate::WAL_AUTOCHECKPOINT_PAGES`]) stays as the backstop that lets the
//! WAL start over from its beginning under sustained load, and finds little left to copy.

use crate::write::Counters;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// How long after a commit the checkpoint runs: the commits of that time share it, and
/// a page they all rewrote is copied once.
pub const CHECKPOINT_AFTER: Duration = Duration::from_millis(30);

/// Checkpoints after each spell of commits (`commits` is notified by the writer) until
/// the runtime ends.
pub(crate) async fn run(read: sqlx::AnyPool, commits: Arc<Notify>, counters: Arc<Counters>) {
    loop {
        commits.notified().await;
        tokio::time::sleep(CHECKPOINT_AFTER).await;
        match sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&read)
            .await
        {
            Ok(_) => {
                counters.checkpoints.fetch_add(1, Ordering::Relaxed);
            }
            // A closed pool (shutdown) or a busy database: the next commit tries again,
            // and the writer's own checkpoint remains.
            Err(e) => tracing::debug!(error = %e, "background checkpoint"),
        }
    }
}
