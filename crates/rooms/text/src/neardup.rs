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
//! large the index grows.

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
        let mut hits: HashMap<u32, u16> = HashMap::new();
        for h in &probes {
            let Some(posting) = self.postings.get(h) else {
                continue;
            };
            if posting.len() > self.params.max_posting {
                continue;
            }
            for &slot in posting {
                if self.areas[slot as usize] == area && self.open[slot as usize] {
                    *hits.entry(slot).or_insert(0) += 1;
                }
            }
        }
        let k = self.params.sketch_size;
        let mut matches: Vec<NearDupMatch> = hits
            .into_iter()
            .filter(|&(_, n)| usize::from(n) >= min_hits)
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
