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

use std::collections::HashMap;

use crate::features::{NS_BIGRAM, NS_WORD};
use crate::hashing::{feature_key, hash_bytes, key_namespace};
use crate::normalize::{is_han, normalize};
use crate::segment::{han_bigrams, Segmenter};

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
}

impl Default for ClusterParams {
    fn default() -> Self {
        ClusterParams {
            threshold: 0.25,
            terms_per_item: 48,
            probe_terms: 12,
            candidates: 12,
            bigram_weight: 0.7,
        }
    }
}

/// Document frequencies of terms over a corpus, fixed while clustering.
#[derive(Debug, Clone, Default)]
pub struct IdfTable {
    docs: u32,
    df: HashMap<u64, u32>,
}

impl IdfTable {
    /// Counts the documents each term appears in.
    pub fn fit<S: AsRef<str>>(texts: &[S], segmenter: &Segmenter) -> Self {
        let mut table = IdfTable::default();
        for text in texts {
            let terms = raw_terms(&normalize(text.as_ref()), segmenter);
            let mut keys: Vec<u64> = terms.iter().map(|t| t.0).collect();
            keys.sort_unstable();
            keys.dedup();
            for key in keys {
                *table.df.entry(key).or_insert(0) += 1;
            }
            table.docs += 1;
        }
        table
    }

    fn idf(&self, key: u64) -> f32 {
        let df = self.df.get(&key).copied().unwrap_or(0);
        ((1.0 + self.docs as f32) / (1.0 + df as f32)).ln() + 1.0
    }
}

/// Terms of normalized text: (key, count, word text if a word).
fn raw_terms(normalized: &str, segmenter: &Segmenter) -> Vec<(u64, f32, Option<String>)> {
    let mut counts: HashMap<u64, (f32, Option<String>)> = HashMap::new();
    for word in segmenter.words(normalized) {
        // Numbers and single characters say little about what the problem is.
        if word.chars().any(|c| c.is_ascii_digit()) || word.chars().count() < 2 {
            continue;
        }
        let key = feature_key(NS_WORD, hash_bytes(u64::from(NS_WORD), word.as_bytes()));
        counts.entry(key).or_insert((0.0, Some(word.to_string()))).0 += 1.0;
    }
    for bigram in han_bigrams(normalized) {
        let key = feature_key(
            NS_BIGRAM,
            hash_bytes(u64::from(NS_BIGRAM), bigram.as_bytes()),
        );
        counts.entry(key).or_insert((0.0, None)).0 += 1.0;
    }
    let mut terms: Vec<_> = counts.into_iter().map(|(k, (n, w))| (k, n, w)).collect();
    terms.sort_unstable_by_key(|t| t.0);
    terms
}

#[derive(Debug, Clone, Default)]
struct ClusterState {
    members: Vec<u32>,
    centroid: HashMap<u64, f32>,
    norm_sq: f32,
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
    vectors: Vec<Vec<(u64, f32)>>,
    assignment: Vec<u32>,
    clusters: Vec<ClusterState>,
    postings: HashMap<u64, Vec<(u32, f32)>>,
    words: HashMap<u64, String>,
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
    pub fn run<S: AsRef<str>>(
        texts: &[S],
        segmenter: Segmenter,
        params: ClusterParams,
    ) -> Clustering {
        let idf = IdfTable::fit(texts, &segmenter);
        let mut clusterer = Clusterer::new(segmenter, idf, params);
        for text in texts {
            clusterer.add(text.as_ref());
        }
        Clustering {
            assignment: clusterer.assignment.clone(),
            clusterer,
        }
    }
}

impl Clusterer {
    pub fn new(segmenter: Segmenter, idf: IdfTable, params: ClusterParams) -> Self {
        Clusterer {
            segmenter,
            idf,
            params,
            vectors: Vec::new(),
            assignment: Vec::new(),
            clusters: Vec::new(),
            postings: HashMap::new(),
            words: HashMap::new(),
        }
    }

    /// Cluster of each item added so far, in insertion order.
    pub fn assignment(&self) -> &[u32] {
        &self.assignment
    }

    pub fn cluster_count(&self) -> usize {
        self.clusters.len()
    }

    /// The TF-IDF vector of a text: word and bigram blocks each L2-normalized and weighted,
    /// trimmed to the strongest terms, normalized to unit length, sorted by key.
    fn vectorize(&mut self, text: &str) -> Vec<(u64, f32)> {
        let terms = raw_terms(&normalize(text), &self.segmenter);
        let mut block_norm = [0f32; 2];
        let mut weighted: Vec<(u64, f32)> = Vec::with_capacity(terms.len());
        for (key, count, word) in terms {
            if let Some(word) = word {
                self.words.entry(key).or_insert(word);
            }
            let w = (1.0 + count.ln()) * self.idf.idf(key);
            block_norm[usize::from(key_namespace(key) == NS_BIGRAM)] += w * w;
            weighted.push((key, w));
        }
        for (key, w) in weighted.iter_mut() {
            let block = usize::from(key_namespace(*key) == NS_BIGRAM);
            let block_weight = if block == 1 {
                self.params.bigram_weight
            } else {
                1.0
            };
            *w *= block_weight / block_norm[block].sqrt().max(1e-9);
        }
        weighted.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        weighted.truncate(self.params.terms_per_item);
        let norm = weighted
            .iter()
            .map(|t| t.1 * t.1)
            .sum::<f32>()
            .sqrt()
            .max(1e-9);
        weighted.iter_mut().for_each(|t| t.1 /= norm);
        weighted.sort_unstable_by_key(|t| t.0);
        // The vector is kept for every item: give back the room of the terms cut above (a
        // long message has hundreds of words and bigrams; 48 are kept).
        weighted.shrink_to_fit();
        weighted
    }

    fn cosine_to_cluster(vector: &[(u64, f32)], cluster: &ClusterState) -> f32 {
        let dot: f32 = vector
            .iter()
            .map(|(k, w)| w * cluster.centroid.get(k).copied().unwrap_or(0.0))
            .sum();
        dot / cluster.norm_sq.sqrt().max(1e-9)
    }

    fn strongest_terms(vector: &[(u64, f32)], n: usize) -> Vec<(u64, f32)> {
        let mut terms = vector.to_vec();
        terms.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        terms.truncate(n);
        terms
    }

    /// Adds one text and returns its cluster.
    pub fn add(&mut self, text: &str) -> u32 {
        let vector = self.vectorize(text);
        let probes = Self::strongest_terms(&vector, self.params.probe_terms);
        let mut overlap: HashMap<u32, f32> = HashMap::new();
        for (key, weight) in &probes {
            if let Some(posting) = self.postings.get(key) {
                for &(item, item_weight) in posting {
                    *overlap.entry(item).or_insert(0.0) += weight * item_weight;
                }
            }
        }
        let mut nearest: Vec<(u32, f32)> = overlap.into_iter().collect();
        nearest.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut best: Option<(u32, f32)> = None;
        let mut compared: Vec<u32> = Vec::new();
        for &(item, _) in nearest.iter().take(self.params.candidates) {
            let cluster = self.assignment[item as usize];
            if compared.contains(&cluster) {
                continue;
            }
            compared.push(cluster);
            let similarity = Self::cosine_to_cluster(&vector, &self.clusters[cluster as usize]);
            if best.is_none_or(|(_, s)| similarity > s) {
                best = Some((cluster, similarity));
            }
        }
        let item = self.vectors.len() as u32;
        let cluster = match best {
            Some((cluster, similarity)) if similarity >= self.params.threshold => cluster,
            _ => {
                self.clusters.push(ClusterState::default());
                (self.clusters.len() - 1) as u32
            }
        };
        let state = &mut self.clusters[cluster as usize];
        // |c + v|² = |c|² + 2 c·v + |v|², kept up to date instead of recomputed.
        let dot: f32 = vector
            .iter()
            .map(|(k, w)| w * state.centroid.get(k).copied().unwrap_or(0.0))
            .sum();
        state.norm_sq += 2.0 * dot + vector.iter().map(|t| t.1 * t.1).sum::<f32>();
        for &(key, weight) in &vector {
            *state.centroid.entry(key).or_insert(0.0) += weight;
        }
        state.members.push(item);
        for (key, weight) in probes {
            self.postings.entry(key).or_default().push((item, weight));
        }
        self.vectors.push(vector);
        self.assignment.push(cluster);
        cluster
    }

    /// Summaries of the clusters with at least `min_size` members, largest first (ties by
    /// cluster number), at most `limit`.
    pub fn summaries(&self, min_size: usize, limit: usize) -> Vec<ClusterSummary> {
        let mut order: Vec<u32> = (0..self.clusters.len() as u32)
            .filter(|&c| self.clusters[c as usize].members.len() >= min_size)
            .collect();
        order.sort_by(|&a, &b| {
            self.clusters[b as usize]
                .members
                .len()
                .cmp(&self.clusters[a as usize].members.len())
                .then(a.cmp(&b))
        });
        order.truncate(limit);
        order.into_iter().map(|c| self.summary(c)).collect()
    }

    /// Summary of one cluster.
    pub fn summary(&self, cluster: u32) -> ClusterSummary {
        let state = &self.clusters[cluster as usize];
        let mut words: Vec<(u64, f32)> = state
            .centroid
            .iter()
            .filter(|(k, _)| key_namespace(**k) == NS_WORD)
            .map(|(k, w)| (*k, *w))
            .collect();
        words.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let top_terms: Vec<String> = words
            .iter()
            .filter_map(|(k, _)| self.words.get(k))
            .filter(|w| w.chars().any(is_han))
            .take(4)
            .cloned()
            .collect();
        let mut central: Vec<(usize, f32)> = state
            .members
            .iter()
            .map(|&m| {
                (
                    m as usize,
                    Self::cosine_to_cluster(&self.vectors[m as usize], state),
                )
            })
            .collect();
        central.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        ClusterSummary {
            cluster,
            size: state.members.len(),
            label: top_terms.join("、"),
            top_terms,
            representatives: central.into_iter().take(3).map(|(m, _)| m).collect(),
        }
    }
}
