//! Giving freed heap memory back to the system: the one place in the workspace with unsafe
//! code (the workspace lint is `unsafe_code = "deny"`, allowed only on [`release_free`]).
//!
//! glibc's malloc returns memory to the system only from the top of a heap. A large
//! temporary working set freed in the middle of the heap while longer-lived data sits
//! above it (the class worker's first rebuild of a district: the window's texts and term
//! tables, interleaved with the clusterer it keeps) stays resident for the life of the
//! process. `malloc_trim(0)` walks every arena's free chunks and hands the whole pages
//! inside them back with `madvise(MADV_DONTNEED)`; the addresses stay reserved, so a later
//! allocation there just faults the pages in again. With a million items, after the class
//! worker's first rebuild: idle RSS 163 MB without, 151 MB with (bench/memory/README.md,
//! 2026-12-07, branch wt-mem3). Most of what the rebuild frees lies in pages that still
//! hold live blocks, which no trimming can give back.
//!
//! `yidu serve` runs [`spawn_trimmer`]: a call every [`TRIM_EVERY`], so the memory freed by
//! a rebuild, a model training or a large page goes back within that time without the
//! rooms having to know about the allocator.

use std::time::{Duration, Instant};

/// How often the server gives free memory back. A call on the ~150 MB heap of the server
/// with a million items took 1-18 ms on a loaded machine (logged at debug level), holding
/// each arena's lock for its part of that.
pub const TRIM_EVERY: Duration = Duration::from_secs(10);

/// Gives the free pages of every malloc arena back to the system. True if any memory was
/// released; always false where the allocator is not glibc's.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn release_free() -> bool {
    // SAFETY: malloc_trim has no preconditions: it takes each arena's own lock, and only
    // releases pages that lie wholly inside free chunks, which no live allocation uses.
    unsafe { libc::malloc_trim(0) == 1 }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn release_free() -> bool {
    false
}

/// Calls [`release_free`] every `every` on a blocking thread until `shutdown` turns true.
pub fn spawn_trimmer(
    every: Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The first tick of an interval is immediate: nothing worth trimming yet.
        tick.tick().await;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.changed() => return,
            }
            if *shutdown.borrow() {
                return;
            }
            let started = Instant::now();
            let released = tokio::task::spawn_blocking(release_free)
                .await
                .unwrap_or(false);
            tracing::debug!(
                released,
                micros = started.elapsed().as_micros() as u64,
                "free heap memory given back"
            );
        }
    })
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::*;

    /// Resident set size of this process in KiB.
    fn rss_kib() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }

    #[test]
    fn freed_memory_in_the_middle_of_the_heap_goes_back() {
        // 64 MiB in 4 KiB blocks (far below the mmap threshold: they come from the heap),
        // written so that their pages are resident; every 16th block is kept, so the heap's
        // top is never free and glibc's own trimming of the top cannot release anything.
        const BLOCK: usize = 4096;
        const BLOCKS: usize = 16 * 1024;
        let mut blocks: Vec<Vec<u8>> = (0..BLOCKS).map(|i| vec![i as u8 | 1; BLOCK]).collect();
        let mut kept = Vec::with_capacity(BLOCKS / 16);
        for (i, b) in blocks.drain(..).enumerate() {
            if i % 16 == 0 {
                kept.push(b);
            }
        }
        let before = rss_kib();
        release_free();
        let after = rss_kib();
        // 60 of the 64 MiB are free, in runs of 15 blocks; all but a page or two of each
        // run can go. Other tests running at the same time allocate too, so only half is
        // required.
        assert!(
            before.saturating_sub(after) >= 30 * 1024,
            "RSS {before} KiB -> {after} KiB"
        );
        // The kept blocks are intact.
        assert!(kept
            .iter()
            .enumerate()
            .all(|(i, b)| b.len() == BLOCK && b.iter().all(|&x| x == ((i * 16) as u8 | 1))));
    }

    #[tokio::test]
    async fn the_trimmer_stops_at_shutdown() {
        let (tx, rx) = tokio::sync::watch::channel(false);
        let task = spawn_trimmer(Duration::from_millis(5), rx);
        tokio::time::sleep(Duration::from_millis(30)).await;
        tx.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("the trimmer ends when told to")
            .unwrap();
    }
}
