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
//! candidates that shorter ones proposed, and hits are counted in a flat table rather than
//! a general hash map (bench/text/README.md has the measured effect).

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

/// Hits per stored slot during one query: open addressing in a power-of-two table with a
/// multiplicative hash, much cheaper per entry than a general hash map on this hot path.
struct HitCounter {
    slots: Vec<u32>,
    counts: Vec<u16>,
    shift: u32,
    len: usize,
}

const EMPTY: u32 = u32::MAX;

impl HitCounter {
    /// A table for up to `entries` distinct slots, kept at most half full.
    fn with_room(entries: usize) -> Self {
        let size = (entries * 2).next_power_of_two().max(16);
        HitCounter {
            slots: vec![EMPTY; size],
            counts: vec![0; size],
            shift: 64 - size.trailing_zeros(),
            len: 0,
        }
    }

    fn position(&self, slot: u32) -> usize {
        let mask = self.slots.len() - 1;
        let mut i = (u64::from(slot).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize;
        while self.slots[i] != slot && self.slots[i] != EMPTY {
            i = (i + 1) & mask;
        }
        i
    }

    fn add(&mut self, slot: u32) {
        let i = self.position(slot);
        if self.slots[i] == EMPTY {
            self.slots[i] = slot;
            self.len += 1;
        }
        self.counts[i] = self.counts[i].saturating_add(1);
    }

    /// Counts the slots of a sorted posting list that are already in the table: by binary
    /// search of each known slot when the list is much longer than the table's contents,
    /// else by scanning the list.
    fn add_to_known(&mut self, posting: &[u32]) {
        let log = usize::BITS - posting.len().leading_zeros();
        if self.len * log as usize * 2 < posting.len() {
            for i in 0..self.slots.len() {
                if self.slots[i] != EMPTY && posting.binary_search(&self.slots[i]).is_ok() {
                    self.counts[i] = self.counts[i].saturating_add(1);
                }
            }
        } else {
            for &slot in posting {
                let i = self.position(slot);
                if self.slots[i] == slot {
                    self.counts[i] = self.counts[i].saturating_add(1);
                }
            }
        }
    }

    fn iter(&self) -> impl Iterator<Item = (u32, u16)> + '_ {
        self.slots
            .iter()
            .zip(&self.counts)
            .filter(|(&slot, _)| slot != EMPTY)
            .map(|(&slot, &n)| (slot, n))
    }
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
            self.postings.entry(h).or_default().push(slot);
        }
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
        // Entries of other areas are dropped first, so that the table is sized by what
        // remains (with one area in the index, nothing can be dropped).
        let mut proposed: Vec<u32> = Vec::new();
        let filter_area = self.area_codes.len() > 1;
        for posting in &lists[..proposing] {
            if filter_area {
                proposed.extend(posting.iter().filter(|&&s| self.areas[s as usize] == area));
            } else {
                proposed.extend_from_slice(posting);
            }
        }
        let mut hits = HitCounter::with_room(proposed.len());
        for slot in proposed {
            hits.add(slot);
        }
        for posting in &lists[proposing..] {
            hits.add_to_known(posting);
        }
        let k = self.params.sketch_size;
        let mut matches: Vec<NearDupMatch> = hits
            .iter()
            .filter(|&(slot, n)| {
                usize::from(n) >= min_hits
                    && self.open[slot as usize]
                    && self.areas[slot as usize] == area
            })
            .filter_map(|(slot, _)| {
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
    fn identical_sets_are_fully_similar() {
        let index = NearDupIndex::new(NearDupParams::default());
        let a = index.sketch("小区门口的路灯坏了三个月");
        assert_eq!(sketch_similarity(&a, &a, 32), 1.0);
        let b = index.sketch("学校食堂的饭菜价格太贵");
        assert!(sketch_similarity(&a, &b, 32) < 0.1);
    }

    #[test]
    fn hit_counter_counts_known_slots_by_search_and_by_scan_alike() {
        let long: Vec<u32> = (0..10_000).map(|i| i * 3).collect();
        let mut by_search = HitCounter::with_room(4);
        let mut by_scan = HitCounter::with_room(4);
        for slot in [3, 4, 300, 3] {
            by_search.add(slot);
            by_scan.add(slot);
        }
        // Few known slots against a long list: binary search; a short list: scan.
        by_search.add_to_known(&long);
        for chunk in long.chunks(16) {
            by_scan.add_to_known(chunk);
        }
        let mut a: Vec<(u32, u16)> = by_search.iter().collect();
        let mut b: Vec<(u32, u16)> = by_scan.iter().collect();
        a.sort_unstable();
        b.sort_unstable();
        assert_eq!(a, [(3, 3), (4, 1), (300, 2)]);
        assert_eq!(a, b);
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
