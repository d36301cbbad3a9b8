//! Near-duplicate lookup at intake: for a new message, the most similar open items in the
//! same area, fast at a million stored items.
//!
//! Each text becomes the set of its character bigrams (after normalization, numbers folded),
//! hashed to 32 bits. Its sketch is the `sketch_size` smallest hashes (a bottom-k MinHash
//! sketch): two sketches estimate the Jaccard similarity of the two sets without keeping the
//! sets. The `indexed` smallest hashes of each item also go into an inverted index. A query
//! looks up its own smallest hashes, counts hits per stored item in the same area, and
//! re-ranks the items with enough hits by sketch similarity.
//!
//! Why this shape: a paraphrase shares most bigrams with the original, so the two bottom-k
//! sketches share several of their smallest values, while unrelated texts rarely share two.
//! Very common bigrams ("领导", "小区") make long posting lists; lists longer than
//! `max_posting` are skipped at query time, which bounds the work per query no matter how
//! large the index grows. Lists are read rarest first; the longest ones only confirm the
//! candidates that shorter ones proposed; hits are counted in a per-thread array indexed by
//! slot, and the few candidates' sketches are fetched together before they are compared
//! (bench/text/README.md has the measured effect).

use std::collections::HashMap;

use crate::features::units;
use crate::hashing::{hash_bytes, hash_units};
use crate::normalize::normalize;

/// Tuning of the near-duplicate index.
#[derive(Debug, Clone, PartialEq)]
pub struct NearDupParams {
    /// Hashes kept per item for similarity estimation.
    pub sketch_size: usize,
    /// Smallest hashes per item that go into the inverted index (≤ sketch_size).
    pub indexed: usize,
    /// Posting lists longer than this are skipped at query time.
    pub max_posting: usize,
    /// Shared indexed hashes needed before an item is re-ranked.
    pub min_hits: usize,
    /// Estimated Jaccard similarity below which a match is not returned.
    pub min_similarity: f32,
}

impl Default for NearDupParams {
    fn default() -> Self {
        NearDupParams {
            sketch_size: 32,
            indexed: 16,
            max_posting: 8192,
            min_hits: 2,
            min_similarity: 0.2,
        }
    }
}

/// One similar stored item.
#[derive(Debug, Clone, PartialEq)]
pub struct NearDupMatch {
    pub id: u64,
    /// Estimated Jaccard similarity of the character-bigram sets, 0–1.
    pub similarity: f32,
}

/// The in-memory index. Items are identified by the caller's u64 ids (database keys).
#[derive(Debug, Default)]
pub struct NearDupIndex {
    params: NearDupParams,
    ids: Vec<u64>,
    areas: Vec<u32>,
    open: Vec<bool>,
    /// Flattened sketches, `sketch_size` per item, padded with u32::MAX.
    sketches: Vec<u32>,
    slot_of: HashMap<u64, u32>,
    area_codes: HashMap<u64, u32>,
    postings: HashMap<u32, Vec<u32>>,
}

const PAD: u32 = u32::MAX;

/// Makes room for `more` elements, growing by an eighth rather than doubling. The index
/// lives as long as the process and is built by pushing one item at a time, so `Vec`'s
/// doubling left up to half of each array (the sketches alone are 128 bytes an item) as
/// spare capacity for good; an eighth keeps the growth amortized (a few dozen copies of
/// the largest array while a million items are loaded) with at most 12.5% spare.
fn reserve_compact<T>(v: &mut Vec<T>, more: usize) {
    if v.capacity() - v.len() < more {
        v.reserve_exact(more.max(v.len() / 8).max(4));
    }
}

/// Sorted, deduplicated bigram hashes of a text: its shingle set.
fn shingles(text: &str) -> Vec<u32> {
    let units = units(&normalize(text));
    let mut hashes: Vec<u32> = Vec::with_capacity(units.len());
    for segment in units.split(|&u| u == u32::MAX) {
        if segment.len() == 1 {
            hashes.push((hash_units(1, segment) >> 32) as u32);
        }
        for pair in segment.windows(2) {
            hashes.push((hash_units(2, pair) >> 32) as u32);
        }
    }
    hashes.retain(|&h| h != PAD);
    hashes.sort_unstable();
    hashes.dedup();
    hashes
}

/// Estimated Jaccard similarity of two bottom-k sketches (sorted, padded with PAD): the
/// share of the union's k smallest values that both sketches hold.
fn sketch_similarity(a: &[u32], b: &[u32], k: usize) -> f32 {
    let (mut i, mut j, mut taken, mut shared) = (0, 0, 0, 0);
    while taken < k {
        let x = a.get(i).copied().unwrap_or(PAD);
        let y = b.get(j).copied().unwrap_or(PAD);
        if x == PAD && y == PAD {
            break;
        }
        if x == y {
            shared += 1;
            i += 1;
            j += 1;
        } else if x < y {
            i += 1;
        } else {
            j += 1;
        }
        taken += 1;
    }
    if taken == 0 {
        0.0
    } else {
        shared as f32 / taken as f32
    }
}

thread_local! {
    /// Hit count of every stored slot, all zero between queries: one byte per item for
    /// each thread that queries (1 MB per million items). Counting by direct indexing
    /// costs one memory access per posting entry, where a hash table sized per query cost
    /// a hash, a probe loop and its own allocation, and had to be scanned for the results.
    static HIT_COUNTS: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Counts the hits of each slot over the posting lists: the first `proposing` lists add
/// every slot they hold that `keep` accepts, the others only add to slots already counted.
/// Returns the slots that reach `threshold` hits, each once, and leaves `counts` all zero.
fn count_hits(
    counts: &mut [u8],
    lists: &[&[u32]],
    proposing: usize,
    threshold: u8,
    keep: impl Fn(u32) -> bool,
) -> Vec<u32> {
    let threshold = threshold.max(1);
    let mut reached = Vec::new();
    // Slots counted at least once, to zero them again without walking the lists twice.
    let mut touched: Vec<u32> = Vec::new();
    for posting in &lists[..proposing] {
        for &slot in posting.iter() {
            if keep(slot) {
                let count = &mut counts[slot as usize];
                if *count == 0 {
                    touched.push(slot);
                }
                *count = count.saturating_add(1);
                if *count == threshold {
                    reached.push(slot);
                }
            }
        }
    }
    for posting in &lists[proposing..] {
        for &slot in posting.iter() {
            let count = &mut counts[slot as usize];
            if *count > 0 {
                *count = count.saturating_add(1);
                if *count == threshold {
                    reached.push(slot);
                }
            }
        }
    }
    for slot in touched {
        counts[slot as usize] = 0;
    }
    reached
}

impl NearDupIndex {
    pub fn new(params: NearDupParams) -> Self {
        assert!(params.indexed <= params.sketch_size && params.sketch_size > 0);
        NearDupIndex {
            params,
            ..NearDupIndex::default()
        }
    }

    /// Number of stored items, open or not.
    pub fn len(&self) -> usize {
        self.slot_of.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slot_of.is_empty()
    }

    fn area_code(&mut self, area: &str) -> u32 {
        let next = self.area_codes.len() as u32;
        *self
            .area_codes
            .entry(hash_bytes(7, area.as_bytes()))
            .or_insert(next)
    }

    fn sketch(&self, text: &str) -> Vec<u32> {
        let mut sketch = shingles(text);
        sketch.truncate(self.params.sketch_size);
        sketch.resize(self.params.sketch_size, PAD);
        sketch
    }

    /// Stores an open item. Inserting an id again replaces the earlier text.
    pub fn insert(&mut self, id: u64, area: &str, text: &str) {
        if let Some(&old) = self.slot_of.get(&id) {
            // The old slot stays in the posting lists but can never match again.
            self.open[old as usize] = false;
            self.ids[old as usize] = u64::MAX;
        }
        let slot = self.ids.len() as u32;
        let area = self.area_code(area);
        let sketch = self.sketch(text);
        for &h in sketch
            .iter()
            .take(self.params.indexed)
            .filter(|&&h| h != PAD)
        {
            let posting = self.postings.entry(h).or_default();
            reserve_compact(posting, 1);
            posting.push(slot);
        }
        reserve_compact(&mut self.ids, 1);
        reserve_compact(&mut self.areas, 1);
        reserve_compact(&mut self.open, 1);
        reserve_compact(&mut self.sketches, sketch.len());
        self.ids.push(id);
        self.areas.push(area);
        self.open.push(true);
        self.sketches.extend_from_slice(&sketch);
        self.slot_of.insert(id, slot);
    }

    /// Marks an item open or closed; closed items are not returned. Returns false for an
    /// unknown id.
    pub fn set_open(&mut self, id: u64, open: bool) -> bool {
        match self.slot_of.get(&id) {
            Some(&slot) => {
                self.open[slot as usize] = open;
                true
            }
            None => false,
        }
    }

    /// The most similar open items in `area`, best first, at most `limit`.
    pub fn query(&self, area: &str, text: &str, limit: usize) -> Vec<NearDupMatch> {
        let Some(&area) = self.area_codes.get(&hash_bytes(7, area.as_bytes())) else {
            return Vec::new();
        };
        let sketch = self.sketch(text);
        let probes: Vec<u32> = sketch
            .iter()
            .take(self.params.indexed)
            .copied()
            .filter(|&h| h != PAD)
            .collect();
        // A short text has few bigrams; one shared hash is then already telling.
        let min_hits = self.params.min_hits.min(probes.len().div_ceil(4)).max(1);
        let mut lists: Vec<&[u32]> = probes
            .iter()
            .filter_map(|h| self.postings.get(h))
            .filter(|posting| posting.len() <= self.params.max_posting)
            .map(Vec::as_slice)
            .collect();
        if lists.len() < min_hits {
            return Vec::new();
        }
        // Rarest first: an item sharing `min_hits` of the lists is in at least one of the
        // first `lists.len() - min_hits + 1`, so only those propose candidates; the longest
        // lists only add hits to items already proposed (they are sorted by slot, since
        // slots only grow, so a few known slots are found by binary search). No item that
        // reaches `min_hits` is lost, and the longest lists are never inserted.
        lists.sort_by_key(|posting| posting.len());
        let proposing = lists.len() + 1 - min_hits;
        // Entries of other areas are not counted (with a single area there is nothing to
        // check): the confirming lists then only add to this area's items.
        let threshold = min_hits.min(255) as u8;
        let candidates = HIT_COUNTS.with(|counts| {
            let mut counts = counts.borrow_mut();
            if counts.len() < self.ids.len() {
                counts.resize(self.ids.len(), 0);
            }
            if self.area_codes.len() > 1 {
                let keep = |slot: u32| self.areas[slot as usize] == area;
                count_hits(&mut counts, &lists, proposing, threshold, keep)
            } else {
                count_hits(&mut counts, &lists, proposing, threshold, |_| true)
            }
        });
        let k = self.params.sketch_size;
        // The candidates' sketches lie far apart in a large array, so each comparison would
        // start with a cache (and often TLB) miss, and the branchy merge keeps the processor
        // from starting the next one early. A first pass that only reads each candidate's
        // state and first sketch line issues those loads back to back, so they overlap; the
        // comparisons then find their data in cache.
        let mut touched = 0u32;
        for &slot in &candidates {
            let s = slot as usize;
            touched ^= self.sketches[s * k] ^ self.areas[s] ^ u32::from(self.open[s]);
        }
        std::hint::black_box(touched);
        let mut matches: Vec<NearDupMatch> = candidates
            .iter()
            .filter(|&&slot| self.open[slot as usize] && self.areas[slot as usize] == area)
            .filter_map(|&slot| {
                let stored = &self.sketches[slot as usize * k..(slot as usize + 1) * k];
                let similarity = sketch_similarity(&sketch, stored, k);
                (similarity >= self.params.min_similarity).then(|| NearDupMatch {
                    id: self.ids[slot as usize],
                    similarity,
                })
            })
            .collect();
        matches.sort_by(|a, b| b.similarity.total_cmp(&a.similarity).then(a.id.cmp(&b.id)));
        matches.truncate(limit);
        matches
    }

    /// Rough heap size of the index in bytes (vectors and hash tables, by capacity).
    pub fn approximate_bytes(&self) -> usize {
        let entry = |key: usize, value: usize| key + value + 1;
        let postings: usize = self
            .postings
            .values()
            .map(|p| p.capacity() * 4)
            .sum::<usize>()
            + self.postings.capacity() * entry(4, 24);
        self.ids.capacity() * 8
            + self.areas.capacity() * 4
            + self.open.capacity()
            + self.sketches.capacity() * 4
            + self.slot_of.capacity() * entry(8, 4)
            + self.area_codes.capacity() * entry(8, 4)
            + postings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_grow_by_an_eighth() {
        let mut index = NearDupIndex::new(NearDupParams::default());
        for id in 0..2_000u64 {
            index.insert(
                id,
                "a",
                &format!("第{id}号楼的路灯坏了,已经{}天没有修", id % 7),
            );
        }
        assert_eq!(index.len(), 2_000);
        let used = index.sketches.len();
        assert!(index.sketches.capacity() <= used + used / 8 + 32, "{used}");
        assert!(index.ids.capacity() <= 2_000 + 2_000 / 8);
        let posted: usize = index.postings.values().map(Vec::len).sum();
        let reserved: usize = index.postings.values().map(Vec::capacity).sum();
        assert!(reserved <= posted + posted / 8 + 4 * index.postings.len());
    }

    #[test]
    fn identical_sets_are_fully_similar() {
        let index = NearDupIndex::new(NearDupParams::default());
        let a = index.sketch("小区门口的路灯坏了三个月");
        assert_eq!(sketch_similarity(&a, &a, 32), 1.0);
        let b = index.sketch("学校食堂的饭菜价格太贵");
        assert!(sketch_similarity(&a, &b, 32) < 0.1);
    }

    #[test]
    fn hits_are_counted_once_per_list_and_confirming_lists_add_only_to_known_slots() {
        let mut counts = vec![0u8; 400];
        let long: Vec<u32> = (0..130).map(|i| i * 3).collect();
        let lists: Vec<&[u32]> = vec![&[3, 4], &[3, 300], &long, &[5, 301]];
        // Two proposing lists: 3 has 2 hits there, 300 and 4 one; the long list confirms 3
        // and 300 (4 is not in it), and the last list's 5 and 301 were never proposed.
        let all = |_| true;
        let mut reached = count_hits(&mut counts, &lists, 2, 2, all);
        reached.sort_unstable();
        assert_eq!(reached, [3, 300]);
        assert!(counts.iter().all(|&c| c == 0), "counts are left at zero");
        assert_eq!(count_hits(&mut counts, &lists, 2, 3, all), [3]);
        assert_eq!(
            count_hits(&mut counts, &lists, 4, 1, all).len(),
            4 + 130 - 2 + 1
        );
        // A slot the filter rejects is neither proposed nor confirmed: 3 no longer
        // reaches 2 hits, 300 still does.
        assert_eq!(count_hits(&mut counts, &lists, 2, 2, |s| s != 3), [300]);
        assert!(counts.iter().all(|&c| c == 0));
    }

    #[test]
    fn closed_items_and_other_areas_are_not_returned() {
        let mut index = NearDupIndex::new(NearDupParams::default());
        index.insert(1, "东湖街道", "东湖花园小区门口的路灯坏了三个月没人修");
        index.insert(2, "西山镇", "东湖花园小区门口的路灯坏了三个月没人修");
        let found = index.query("东湖街道", "东湖花园小区门口路灯坏了三个月了没有人修", 5);
        assert_eq!(found.iter().map(|m| m.id).collect::<Vec<_>>(), [1]);
        index.set_open(1, false);
        assert!(index
            .query("东湖街道", "东湖花园小区门口路灯坏了三个月", 5)
            .is_empty());
    }
}
