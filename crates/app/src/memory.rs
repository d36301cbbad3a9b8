//! Giving freed heap memory back to the system: the one place in the workspace with unsafe
//! code (the workspace lint is `unsafe_code = "deny"`, allowed only on [`release_free`] and
//! [`release_static`]).
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

/// Drops the resident pages of data embedded in the binary that the process has read once
/// and will (most likely) not read again, such as jieba's compressed dictionary (1.9 MB,
/// read at start): the pages count in the idle RSS as long as they stay mapped. Only whole
/// pages inside `bytes` are dropped, and only when they lie in a read-only mapping of a
/// file; a later read faults them in again from the file, with the same bytes. True if
/// anything was dropped.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
pub fn release_static(bytes: &'static [u8]) -> bool {
    const PAGE: usize = 4096;
    let start = (bytes.as_ptr() as usize).div_ceil(PAGE) * PAGE;
    let end = (bytes.as_ptr() as usize + bytes.len()) / PAGE * PAGE;
    if end <= start || !in_read_only_file_mapping(start, end) {
        return false;
    }
    // SAFETY: [start, end) lies wholly inside a private, read-only mapping of a file
    // (checked just above), so nothing in it was ever written: dropping the pages loses no
    // data, and any later read (through `bytes` or any other reference) faults the same
    // bytes in again from the file. madvise does not touch memory outside the range.
    unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) == 0 }
}

#[cfg(not(target_os = "linux"))]
pub fn release_static(_bytes: &'static [u8]) -> bool {
    false
}

/// Whether [start, end) lies inside one mapping of /proc/self/maps that is read-only,
/// private and backed by a file (not anonymous memory, the heap or a stack, where dropping
/// pages would zero them).
#[cfg(target_os = "linux")]
fn in_read_only_file_mapping(start: usize, end: usize) -> bool {
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else {
        return false;
    };
    maps.lines().any(|line| {
        let mut fields = line.split_whitespace();
        let (Some(range), Some(perms)) = (fields.next(), fields.next()) else {
            return false;
        };
        let path = fields.nth(3).unwrap_or("");
        let Some((lo, hi)) = range.split_once('-') else {
            return false;
        };
        let (Ok(lo), Ok(hi)) = (usize::from_str_radix(lo, 16), usize::from_str_radix(hi, 16))
        else {
            return false;
        };
        lo <= start
            && end <= hi
            && perms.starts_with("r-")
            && perms.ends_with('p')
            && path.starts_with('/')
    })
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

    /// A field of /proc/self/status in KiB ("VmRSS:", "RssFile:").
    fn status_kib(field: &str) -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }

    /// Resident set size of this process in KiB.
    fn rss_kib() -> u64 {
        status_kib("VmRSS:")
    }

    /// Held by the tests that give the heap back: the trimmer test trims every 5 ms, and
    /// running beside the measuring test it once gave that test's free blocks back before
    /// the measurement (RSS 33 -> 20 MB, where 64 MB had been written).
    static TRIMMING: std::sync::Mutex<()> = std::sync::Mutex::new(());

    #[test]
    fn freed_memory_in_the_middle_of_the_heap_goes_back() {
        let _alone = TRIMMING.lock().unwrap_or_else(|p| p.into_inner());
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

    /// Resident file-backed memory of this process in KiB.
    fn rss_file_kib() -> u64 {
        status_kib("RssFile:")
    }

    /// 4 MiB of read-only data in the binary (not zero, so it is stored in the file and
    /// mapped from it, not left to .bss).
    static EMBEDDED: [u8; 4 << 20] = [0x5A; 4 << 20];

    fn checksum(bytes: &[u8]) -> u64 {
        bytes
            .iter()
            .map(|&b| u64::from(std::hint::black_box(b)))
            .sum()
    }

    #[test]
    fn embedded_data_read_once_gives_its_pages_back_and_reads_the_same_again() {
        let expected = checksum(&EMBEDDED);
        let before = rss_file_kib();
        assert!(release_static(&EMBEDDED));
        let after = rss_file_kib();
        // All but the two partial pages at the ends; other tests touching code meanwhile
        // can only add, so half of it is required.
        assert!(
            before.saturating_sub(after) >= 2 * 1024,
            "RssFile {before} KiB -> {after} KiB"
        );
        assert_eq!(checksum(&EMBEDDED), expected, "read again from the file");
    }

    #[test]
    fn memory_that_is_not_a_read_only_file_mapping_is_left_alone() {
        let heap: &'static [u8] = Box::leak(vec![7u8; 1 << 20].into_boxed_slice());
        assert!(!release_static(heap));
        assert!(heap.iter().all(|&b| b == 7));
    }

    // The lock only keeps this test apart from the measuring one; no task takes it.
    #[allow(clippy::await_holding_lock)]
    #[tokio::test]
    async fn the_trimmer_stops_at_shutdown() {
        let _alone = TRIMMING.lock().unwrap_or_else(|p| p.into_inner());
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
