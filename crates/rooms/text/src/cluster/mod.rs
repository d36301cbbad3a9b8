//! Class cases (类案): grouping texts that describe the same problem.
//!
//! A deterministic single-pass leader clustering. Each text becomes a TF-IDF vector of its
//! jieba words and character bigrams, trimmed to its strongest terms. Items arrive in order;
//! each is compared with the centroids of the clusters of its nearest earlier items (found
//! through an inverted index on their strongest terms) and joins the most similar one if
//! the cosine reaches the threshold, or starts a new cluster.
//!
//! Batch and incremental clustering are the same procedure: the batch run fits the IDF table
//! on its input and then adds the items one by one, so feeding the same items in the same
//! order to a [`Clusterer`] built with that table gives the same clusters. A deployment
//! refits the table from its history on a schedule and keeps adding new items as they come.
//!
//! The clusterer is kept in memory for a whole district's window (hundreds of thousands of
//! items), so it keeps only what placing the next item needs, in compact form: terms are
//! 32-bit hashes, each cluster's centroid is a sorted array trimmed to its strongest
//! `centroid_terms` terms, the inverted index stores an entry in 3-4 bytes (distance from the previous item
//! as a varint, a 16-bit weight), and neither the
//! items' vectors nor their words are kept. A summary (label and most central members)
//! re-reads the members' texts: [`Clusterer::summary`] and [`SummaryBuilder`], which takes
//! them one at a time so a caller can stream them.

use std::collections::HashMap;

use crate::hashing::TermMap;
use crate::normalize::{is_han, normalize};
use crate::segment::Segmenter;

mod terms;

use terms::{is_bigram, raw_terms, segment_all, Term};
pub use terms::{IdfCounter, IdfTable, TERM_CACHE_ENTRIES};

/// Tuning of the clustering.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterParams {
    /// Minimum cosine between an item and a cluster centroid to join it.
    pub threshold: f32,
    /// Strongest terms kept per item.
    pub terms_per_item: usize,
    /// Strongest terms of an item used to find (and to index) neighbours.
    pub probe_terms: usize,
    /// Nearest earlier items whose clusters are compared.
    pub candidates: usize,
    /// Weight of the character-bigram block against the word block.
    pub bigram_weight: f32,
    /// Strongest terms kept in a cluster's centroid (the rest of its sum is dropped after
    /// each item joins). Bounds the memory of a cluster: most clusters are one item.
    pub centroid_terms: usize,
}

impl Default for ClusterParams {
    fn default() -> Self {
        ClusterParams {
            threshold: 0.25,
            terms_per_item: 48,
            probe_terms: 12,
            candidates: 12,
            bigram_weight: 0.7,
            centroid_terms: 24,
        }
    }
}

/// One term's entries of the inverted index, in insertion order (so ascending items): each
/// entry is the item's distance from the previous entry's item as a LEB128 varint, then
/// its weight on the term in 1/65535ths (two bytes), and the list ends with the last
/// item's number (four bytes) so the next push knows the distance. The kept model of a
/// district is mostly these lists (about 12 entries an item); long lists hold items a few
/// numbers apart, so an entry takes 3-4 bytes where a fixed (u32, u16) took 6.
#[derive(Debug, Clone, Default)]
struct PostingList {
    bytes: Vec<u8>,
}

impl PostingList {
    /// Appends an entry; `item` is at least the last one pushed.
    fn push(&mut self, item: u32, weight: u16) {
        let last = match self.bytes.len().checked_sub(4) {
            Some(at) => {
                let last = u32::from_le_bytes(self.bytes[at..].try_into().expect("4 bytes"));
                self.bytes.truncate(at);
                last
            }
            None => 0,
        };
        debug_assert!(item >= last, "items are pushed in ascending order");
        let mut delta = item - last;
        while delta >= 0x80 {
            self.bytes.push((delta as u8) | 0x80);
            delta >>= 7;
        }
        self.bytes.push(delta as u8);
        self.bytes.extend_from_slice(&weight.to_le_bytes());
        self.bytes.extend_from_slice(&item.to_le_bytes());
    }

    /// The entries (item, weight) in insertion order.
    fn iter(&self) -> PostingIter<'_> {
        PostingIter {
            bytes: &self.bytes[..self.bytes.len().saturating_sub(4)],
            item: 0,
        }
    }

    fn capacity(&self) -> usize {
        self.bytes.capacity()
    }

    fn shrink_to_fit(&mut self) {
        self.bytes.shrink_to_fit();
    }
}

struct PostingIter<'a> {
    bytes: &'a [u8],
    item: u32,
}

impl Iterator for PostingIter<'_> {
    type Item = (u32, u16);

    fn next(&mut self) -> Option<(u32, u16)> {
        let mut delta = 0u32;
        let mut shift = 0;
        loop {
            let (&b, rest) = self.bytes.split_first()?;
            self.bytes = rest;
            delta |= u32::from(b & 0x7F) << shift;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
        }
        let (w, rest) = self.bytes.split_first_chunk::<2>()?;
        self.bytes = rest;
        self.item += delta;
        Some((self.item, u16::from_le_bytes(*w)))
    }
}

fn quantize(weight: f32) -> u16 {
    (weight.clamp(0.0, 1.0) * f32::from(u16::MAX)).round() as u16
}

fn dequantize(weight: u16) -> f32 {
    f32::from(weight) / f32::from(u16::MAX)
}

#[derive(Debug, Clone, Default)]
struct ClusterState {
    size: u32,
    norm_sq: f32,
    /// Sum of the members' vectors, trimmed to the strongest terms, sorted by term.
    centroid: Box<[(Term, f32)]>,
}

impl ClusterState {
    /// Adds a vector (sorted by term) to the centroid and trims it to `keep` terms.
    fn absorb(&mut self, vector: &[(Term, f32)], keep: usize) {
        let mut sum: Vec<(Term, f32)> = Vec::with_capacity(self.centroid.len() + vector.len());
        let (c, v) = (&self.centroid, vector);
        let (mut i, mut j) = (0, 0);
        while i < c.len() || j < v.len() {
            if j == v.len() || (i < c.len() && c[i].0 < v[j].0) {
                sum.push(c[i]);
                i += 1;
            } else if i == c.len() || v[j].0 < c[i].0 {
                sum.push(v[j]);
                j += 1;
            } else {
                sum.push((c[i].0, c[i].1 + v[j].1));
                i += 1;
                j += 1;
            }
        }
        if sum.len() > keep {
            strongest(&mut sum, keep);
            sum.sort_unstable_by_key(|t| t.0);
        }
        self.norm_sq = sum.iter().map(|t| t.1 * t.1).sum();
        self.centroid = sum.into_boxed_slice();
        self.size += 1;
    }

    /// Cosine between a unit vector (sorted by term) and the centroid.
    fn cosine(&self, vector: &[(Term, f32)]) -> f32 {
        let (mut i, mut j, mut dot) = (0, 0, 0f32);
        let c = &self.centroid;
        while i < vector.len() && j < c.len() {
            match vector[i].0.cmp(&c[j].0) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    dot += vector[i].1 * c[j].1;
                    i += 1;
                    j += 1;
                }
            }
        }
        dot / self.norm_sq.sqrt().max(1e-9)
    }

    fn weight(&self, term: Term) -> Option<f32> {
        self.centroid
            .binary_search_by_key(&term, |t| t.0)
            .ok()
            .map(|i| self.centroid[i].1)
    }
}

/// One cluster for display: its size, a readable label, and its most central items.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterSummary {
    pub cluster: u32,
    pub size: usize,
    /// The top distinctive words joined with "、".
    pub label: String,
    pub top_terms: Vec<String>,
    /// Indices (in insertion order) of the members closest to the centroid, best first.
    pub representatives: Vec<usize>,
}

/// Incremental clusterer. Items are numbered by insertion order.
#[derive(Debug, Clone)]
pub struct Clusterer {
    segmenter: Segmenter,
    idf: IdfTable,
    params: ClusterParams,
    assignment: Vec<u32>,
    clusters: Vec<ClusterState>,
    postings: TermMap<PostingList>,
}

/// The result of a batch run: the cluster of each input, and the clusterer for summaries
/// or for adding more items.
#[derive(Debug, Clone)]
pub struct Clustering {
    pub assignment: Vec<u32>,
    pub clusterer: Clusterer,
}

impl Clustering {
    /// Clusters texts in order, with the IDF table fitted on them.
    ///
    /// Each text is segmented once: its terms are kept from fitting the table to adding it
    /// (segmentation is most of the work), up to [`TERM_CACHE_ENTRIES`] in all; texts past
    /// that budget are segmented again when they are added. The segmentation runs on all
    /// available cores; adding stays sequential, so the result is the same on any machine.
    pub fn run<S: AsRef<str> + Sync>(
        texts: &[S],
        segmenter: Segmenter,
        params: ClusterParams,
    ) -> Clustering {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::run_with(texts, segmenter, params, threads, TERM_CACHE_ENTRIES)
    }

    /// [`Clustering::run`] on `threads` threads, keeping at most `budget` term entries.
    fn run_with<S: AsRef<str> + Sync>(
        texts: &[S],
        segmenter: Segmenter,
        params: ClusterParams,
        threads: usize,
        budget: usize,
    ) -> Clustering {
        let cached = segment_all(texts, &segmenter, threads, budget);
        let mut counter = IdfCounter::new();
        for (text, terms) in texts.iter().zip(&cached) {
            match terms {
                Some(terms) => counter.add_terms(terms),
                None => counter.add(text.as_ref(), &segmenter),
            }
        }
        let idf = counter.finish();
        let mut clusterer = Clusterer::new(segmenter, idf, params);
        for (text, terms) in texts.iter().zip(cached) {
            match terms {
                Some(terms) => clusterer.add_terms(&terms),
                None => clusterer.add(text.as_ref()),
            };
        }
        clusterer.shrink_to_fit();
        Clustering {
            assignment: clusterer.assignment.clone(),
            clusterer,
        }
    }
}

/// Strongest terms first (ties by term), the order trimming keeps.
fn by_strength(a: &(Term, f32), b: &(Term, f32)) -> std::cmp::Ordering {
    b.1.total_cmp(&a.1).then(a.0.cmp(&b.0))
}

/// Keeps the `keep` strongest terms (distinct terms, so the order is total), strongest
/// first. Selecting them first spares sorting the few hundred terms of a long message.
fn strongest(terms: &mut Vec<(Term, f32)>, keep: usize) {
    if keep == 0 {
        terms.clear();
        return;
    }
    if terms.len() > keep {
        terms.select_nth_unstable_by(keep - 1, by_strength);
        terms.truncate(keep);
    }
    terms.sort_unstable_by(by_strength);
}

impl Clusterer {
    pub fn new(segmenter: Segmenter, idf: IdfTable, params: ClusterParams) -> Self {
        Clusterer {
            segmenter,
            idf,
            params,
            assignment: Vec::new(),
            clusters: Vec::new(),
            postings: TermMap::default(),
        }
    }

    /// Cluster of each item added so far, in insertion order.
    pub fn assignment(&self) -> &[u32] {
        &self.assignment
    }

    pub fn cluster_count(&self) -> usize {
        self.clusters.len()
    }

    /// Items in a cluster.
    pub fn cluster_size(&self, cluster: u32) -> usize {
        self.clusters[cluster as usize].size as usize
    }

    /// Members of a cluster (item numbers, ascending). Scans the assignment: the members
    /// are not stored per cluster.
    pub fn members(&self, cluster: u32) -> Vec<usize> {
        self.assignment
            .iter()
            .enumerate()
            .filter(|(_, &a)| a == cluster)
            .map(|(i, _)| i)
            .collect()
    }

    /// Gives back the spare capacity the batch run's growth left (the index's lists grow
    /// by doubling).
    pub fn shrink_to_fit(&mut self) {
        self.assignment.shrink_to_fit();
        self.clusters.shrink_to_fit();
        for posting in self.postings.values_mut() {
            posting.shrink_to_fit();
        }
        self.postings.shrink_to_fit();
    }

    /// Approximate heap bytes held (vectors and tables by their capacity, hash tables with
    /// one control byte per slot), for benchmarks.
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        let centroids: usize = self
            .clusters
            .iter()
            .map(|c| c.centroid.len() * size_of::<(Term, f32)>())
            .sum();
        let postings: usize = self.postings.values().map(|p| p.capacity()).sum();
        let posting_slots = self.postings.capacity() * (size_of::<(Term, PostingList)>() + 1);
        self.assignment.capacity() * size_of::<u32>()
            + self.clusters.capacity() * size_of::<ClusterState>()
            + centroids
            + postings
            + posting_slots
            + self.idf.heap_bytes()
    }

    /// The TF-IDF vector of a text: word and bigram blocks each L2-normalized and weighted,
    /// trimmed to the strongest terms, normalized to unit length, sorted by term.
    fn vectorize(&self, text: &str, on_word: impl FnMut(Term, &str)) -> Vec<(Term, f32)> {
        self.weigh(&raw_terms(&normalize(text), &self.segmenter, on_word))
    }

    /// [`Clusterer::vectorize`] from a text's terms and counts (sorted by term).
    fn weigh(&self, terms: &[(Term, u32)]) -> Vec<(Term, f32)> {
        let mut block_norm = [0f32; 2];
        let mut weighted: Vec<(Term, f32)> = Vec::with_capacity(terms.len());
        for &(term, count) in terms {
            let w = (1.0 + (count as f32).ln()) * self.idf.idf(term);
            block_norm[usize::from(is_bigram(term))] += w * w;
            weighted.push((term, w));
        }
        for (term, w) in weighted.iter_mut() {
            let block = usize::from(is_bigram(*term));
            let block_weight = if block == 1 {
                self.params.bigram_weight
            } else {
                1.0
            };
            *w *= block_weight / block_norm[block].sqrt().max(1e-9);
        }
        strongest(&mut weighted, self.params.terms_per_item);
        let norm = weighted
            .iter()
            .map(|t| t.1 * t.1)
            .sum::<f32>()
            .sqrt()
            .max(1e-9);
        weighted.iter_mut().for_each(|t| t.1 /= norm);
        weighted.sort_unstable_by_key(|t| t.0);
        weighted
    }

    /// Adds one text and returns its cluster.
    pub fn add(&mut self, text: &str) -> u32 {
        let terms = raw_terms(&normalize(text), &self.segmenter, |_, _| {});
        self.add_terms(&terms)
    }

    /// [`Clusterer::add`] from the text's terms and counts (sorted by term).
    fn add_terms(&mut self, terms: &[(Term, u32)]) -> u32 {
        let vector = self.weigh(terms);
        let mut probes = vector.clone();
        strongest(&mut probes, self.params.probe_terms);
        let mut overlap: TermMap<f32> = TermMap::default();
        for (term, weight) in &probes {
            if let Some(posting) = self.postings.get(term) {
                for (item, w) in posting.iter() {
                    *overlap.entry(item).or_insert(0.0) += weight * dequantize(w);
                }
            }
        }
        let mut nearest: Vec<(u32, f32)> = overlap.into_iter().collect();
        let by_overlap = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        // Only the first few are compared: select them, then order just those.
        if nearest.len() > self.params.candidates && self.params.candidates > 0 {
            nearest.select_nth_unstable_by(self.params.candidates - 1, by_overlap);
        }
        nearest.truncate(self.params.candidates);
        nearest.sort_unstable_by(by_overlap);
        let mut best: Option<(u32, f32)> = None;
        let mut compared: Vec<u32> = Vec::new();
        for &(item, _) in &nearest {
            let cluster = self.assignment[item as usize];
            if compared.contains(&cluster) {
                continue;
            }
            compared.push(cluster);
            let similarity = self.clusters[cluster as usize].cosine(&vector);
            if best.is_none_or(|(_, s)| similarity > s) {
                best = Some((cluster, similarity));
            }
        }
        let item = self.assignment.len() as u32;
        let cluster = match best {
            Some((cluster, similarity)) if similarity >= self.params.threshold => cluster,
            _ => {
                self.clusters.push(ClusterState::default());
                (self.clusters.len() - 1) as u32
            }
        };
        self.clusters[cluster as usize].absorb(&vector, self.params.centroid_terms);
        for (term, weight) in probes {
            self.postings
                .entry(term)
                .or_default()
                .push(item, quantize(weight));
        }
        self.assignment.push(cluster);
        cluster
    }

    /// Summaries of the clusters with at least `min_size` members, largest first (ties by
    /// cluster number), at most `limit`. `texts` are the items' texts in insertion order.
    pub fn summaries<S: AsRef<str>>(
        &self,
        texts: &[S],
        min_size: usize,
        limit: usize,
    ) -> Vec<ClusterSummary> {
        let mut order: Vec<u32> = (0..self.clusters.len() as u32)
            .filter(|&c| self.cluster_size(c) >= min_size)
            .collect();
        order.sort_by(|&a, &b| {
            self.cluster_size(b)
                .cmp(&self.cluster_size(a))
                .then(a.cmp(&b))
        });
        order.truncate(limit);
        let mut builder = self.summary_builder(order.iter().copied());
        for (item, text) in texts.iter().enumerate() {
            self.summarize(&mut builder, item, text.as_ref());
        }
        let mut done = self.finish_summaries(builder);
        order.iter().filter_map(|c| done.remove(c)).collect()
    }

    /// Summary of one cluster from its members' texts (item number, text); members of
    /// other clusters are ignored.
    pub fn summary<'t>(
        &self,
        cluster: u32,
        members: impl IntoIterator<Item = (usize, &'t str)>,
    ) -> ClusterSummary {
        let mut builder = self.summary_builder([cluster]);
        for (item, text) in members {
            self.summarize(&mut builder, item, text);
        }
        self.finish_summaries(builder)
            .remove(&cluster)
            .unwrap_or_else(|| self.label_and_rank(cluster, Partial::default()))
    }

    /// Starts summaries of the given clusters; feed it texts with [`Clusterer::summarize`].
    pub fn summary_builder(&self, clusters: impl IntoIterator<Item = u32>) -> SummaryBuilder {
        SummaryBuilder {
            parts: clusters
                .into_iter()
                .filter(|&c| (c as usize) < self.clusters.len())
                .map(|c| (c, Partial::default()))
                .collect(),
        }
    }

    /// Feeds one item's text to the summaries (a no-op unless its cluster is wanted).
    pub fn summarize(&self, builder: &mut SummaryBuilder, item: usize, text: &str) {
        let Some(&cluster) = self.assignment.get(item) else {
            return;
        };
        let Some(part) = builder.parts.get_mut(&cluster) else {
            return;
        };
        let state = &self.clusters[cluster as usize];
        let words = &mut part.words;
        let vector = self.vectorize(text, |term, word| {
            if state.weight(term).is_some() && !words.contains_key(&term) {
                words.insert(term, word.to_string());
            }
        });
        part.central.push((item, state.cosine(&vector)));
        part.central
            .sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        part.central.truncate(REPRESENTATIVES);
    }

    /// The summaries of a builder, by cluster.
    pub fn finish_summaries(&self, builder: SummaryBuilder) -> HashMap<u32, ClusterSummary> {
        builder
            .parts
            .into_iter()
            .map(|(c, part)| (c, self.label_and_rank(c, part)))
            .collect()
    }

    fn label_and_rank(&self, cluster: u32, part: Partial) -> ClusterSummary {
        let state = &self.clusters[cluster as usize];
        let mut words: Vec<(Term, f32)> = state
            .centroid
            .iter()
            .filter(|t| !is_bigram(t.0))
            .copied()
            .collect();
        words.sort_by(by_strength);
        let top_terms: Vec<String> = words
            .iter()
            .filter_map(|(t, _)| part.words.get(t))
            .filter(|w| w.chars().any(is_han))
            .take(4)
            .cloned()
            .collect();
        ClusterSummary {
            cluster,
            size: state.size as usize,
            label: top_terms.join("、"),
            top_terms,
            representatives: part.central.into_iter().map(|(m, _)| m).collect(),
        }
    }
}

/// Members shown as a cluster's most central.
const REPRESENTATIVES: usize = 3;

/// What a summary collects while its members' texts stream past.
#[derive(Debug, Default)]
struct Partial {
    /// The most central members so far (item, cosine), best first.
    central: Vec<(usize, f32)>,
    /// The words of the centroid's word terms, as first seen.
    words: HashMap<Term, String>,
}

/// Summaries being built from streamed texts (see [`Clusterer::summary_builder`]).
#[derive(Debug, Default)]
pub struct SummaryBuilder {
    parts: HashMap<u32, Partial>,
}

impl SummaryBuilder {
    /// Whether the builder wants this cluster's members.
    pub fn wants(&self, cluster: u32) -> bool {
        self.parts.contains_key(&cluster)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posting_lists_give_back_what_was_pushed() {
        let mut list = PostingList::default();
        assert_eq!(list.iter().count(), 0);
        // Distances of every varint length, a repeated item, both ends of the weights.
        let items = [
            0u32,
            0,
            1,
            127,
            128,
            16_511,
            16_512,
            2_113_663,
            300_000_000,
            u32::MAX,
        ];
        let entries: Vec<(u32, u16)> = items
            .iter()
            .enumerate()
            .map(|(k, &i)| (i, [0, u16::MAX, 1, 40_000][k % 4]))
            .collect();
        for &(i, w) in &entries {
            list.push(i, w);
        }
        assert_eq!(list.iter().collect::<Vec<_>>(), entries);
        // A long list of close items: 3 bytes an entry (6 with a fixed u32 and u16), plus
        // the 4 bytes of the last item.
        let mut dense = PostingList::default();
        for i in 0..10_000u32 {
            dense.push(i * 7, (i % 65_536) as u16);
        }
        assert_eq!(dense.bytes.len(), 3 * 10_000 + 4);
        assert!(dense
            .iter()
            .enumerate()
            .all(|(k, (i, w))| i == k as u32 * 7 && w == (k % 65_536) as u16));
    }

    #[test]
    fn batch_run_is_the_same_on_any_threads_and_budget() {
        let topics = [
            "锦绣花园小区电梯经常困人，物业不修",
            "中心小学门口上学时间堵车，车辆乱停",
            "北河路垃圾站臭味很大，请求搬迁",
            "图书馆开放时间太短，周末不开门",
        ];
        let texts: Vec<String> = (0..90)
            .map(|i| format!("{}。{}", topics[i % 4], topics[(i * 7 / 3) % 4]))
            .collect();
        let params = ClusterParams::default();
        let one = Clustering::run_with(&texts, Segmenter::new(), params.clone(), 1, usize::MAX);
        let two = Clustering::run_with(&texts, Segmenter::new(), params.clone(), 2, 500);
        assert_eq!(one.assignment, two.assignment);
        let idf = IdfTable::fit(&texts, &Segmenter::new());
        let mut incremental = Clusterer::new(Segmenter::new(), idf, params);
        let added: Vec<u32> = texts.iter().map(|t| incremental.add(t)).collect();
        assert_eq!(one.assignment, added);
        assert!(one.clusterer.cluster_count() < texts.len() / 4);
    }
}
