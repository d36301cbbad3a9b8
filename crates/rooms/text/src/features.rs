//! Hashed sparse features: character n-grams, jieba words and the opening of the message.
//!
//! Keys are 64-bit hashes with the namespace in the top byte, so a model needs no string
//! vocabulary and the rare collision is harmless. Features fall into blocks (characters,
//! words, opening) that are TF-IDF weighted and L2-normalized separately, then scaled by a
//! block weight: this keeps the many character n-grams from drowning the few words, and
//! lets the opening (usually the title) count extra.

use serde::{Deserialize, Serialize};

use crate::hashing::{feature_key, hash_bytes, hash_units, key_namespace, KeyMap};
use crate::normalize::is_punctuation;
use crate::segment::Segmenter;

/// Unit code for any ASCII run containing a digit: numbers, dates, phone numbers, and
/// anonymized place codes carry no topic, so they all look alike.
const UNIT_NUMBER: u32 = 0x0011_0000;
/// Letters-only ASCII runs become one unit each, hashed above the Unicode range.
const UNIT_WORD_BASE: u32 = 0x8000_0000;
/// Separator between segments; n-grams never cross it.
const UNIT_BREAK: u32 = u32::MAX;

pub(crate) const NS_CHAR: u8 = 1;
pub(crate) const NS_WORD: u8 = 2;
pub(crate) const NS_HEAD: u8 = 3;
pub(crate) const NS_BIGRAM: u8 = 4;

/// How classification features are made. Stored in the model so that prediction uses the
/// same recipe as training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureConfig {
    /// Character n-grams from 1 up to this length (0 disables them).
    pub char_max_n: usize,
    /// Weight of the character block.
    pub char_weight: f32,
    /// Weight of the jieba word block (0 disables it).
    pub word_weight: f32,
    /// Length of the opening, in units, whose character 1–2 grams form their own block
    /// (messages usually begin with their title).
    pub head_units: usize,
    /// Weight of the opening block (0 disables it).
    pub head_weight: f32,
    /// Features seen in fewer training documents than this are dropped (lowered for small
    /// training sets: at most 2 + documents / 1000).
    pub min_df: u32,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        FeatureConfig {
            char_max_n: 3,
            char_weight: 1.0,
            word_weight: 0.7,
            head_units: 25,
            head_weight: 0.8,
            // 3 rather than 2: picked with the classifier's defaults on fold seeds 100–102
            // (+0.003 macro-F1 there on its own), and fewer features to train
            // (bench/text/README.md).
            min_df: 3,
        }
    }
}

/// Splits normalized text into units: one per Han character or other symbol, one per ASCII
/// run, and breaks at whitespace and punctuation.
pub(crate) fn units(normalized: &str) -> Vec<u32> {
    let mut out = Vec::with_capacity(normalized.len() / 2);
    let mut ascii_run = String::new();
    let flush = |run: &mut String, out: &mut Vec<u32>| {
        if run.is_empty() {
            return;
        }
        if run.bytes().any(|b| b.is_ascii_digit()) {
            out.push(UNIT_NUMBER);
        } else {
            out.push(UNIT_WORD_BASE | (hash_bytes(0, run.as_bytes()) as u32 & 0x7FFF_FFFF));
        }
        run.clear();
    };
    for c in normalized.chars() {
        if c.is_ascii_alphanumeric() {
            ascii_run.push(c);
            continue;
        }
        flush(&mut ascii_run, &mut out);
        if c.is_whitespace() || is_punctuation(c) {
            if out.last().is_some_and(|&u| u != UNIT_BREAK) {
                out.push(UNIT_BREAK);
            }
        } else {
            out.push(c as u32);
        }
    }
    flush(&mut ascii_run, &mut out);
    out
}

/// Appends the hashed n-grams (n in min_n..=max_n) of `units` under `namespace` to `keys`.
fn add_ngrams(units: &[u32], min_n: usize, max_n: usize, namespace: u8, keys: &mut Vec<u64>) {
    for segment in units.split(|&u| u == UNIT_BREAK) {
        for n in min_n..=max_n {
            for gram in segment.windows(n) {
                keys.push(feature_key(namespace, hash_units(n as u64, gram)));
            }
        }
    }
}

/// Raw term counts of one normalized document, keyed by namespaced hash, sorted by key.
pub(crate) fn raw_counts(
    normalized: &str,
    segmenter: &Segmenter,
    config: &FeatureConfig,
) -> Vec<(u64, f32)> {
    let units = units(normalized);
    // Collect every occurrence and count runs after sorting: a document has a few thousand
    // keys, and sorting them is cheaper than a hash map that must be sorted afterwards anyway.
    let mut keys: Vec<u64> = Vec::with_capacity(units.len() * (config.char_max_n + 2));
    if config.char_max_n > 0 && config.char_weight > 0.0 {
        add_ngrams(&units, 1, config.char_max_n, NS_CHAR, &mut keys);
    }
    if config.head_units > 0 && config.head_weight > 0.0 {
        let head = &units[..units.len().min(config.head_units)];
        add_ngrams(head, 1, 2, NS_HEAD, &mut keys);
    }
    if config.word_weight > 0.0 {
        // Search mode adds the dictionary sub-words of long compounds, so "医保卡" and
        // "医保" share a feature (measured +0.002–0.005 macro-F1).
        for word in segmenter.search_words(normalized) {
            keys.push(feature_key(
                NS_WORD,
                hash_bytes(u64::from(NS_WORD), word.as_bytes()),
            ));
        }
    }
    keys.sort_unstable();
    let mut out: Vec<(u64, f32)> = Vec::with_capacity(keys.len());
    for key in keys {
        match out.last_mut() {
            Some((last, count)) if *last == key => *count += 1.0,
            _ => out.push((key, 1.0)),
        }
    }
    out
}

/// Block index of a feature key, and the block's weight under `config`.
fn block_weight(key: u64, config: &FeatureConfig) -> (usize, f32) {
    match key_namespace(key) {
        NS_CHAR => (0, config.char_weight),
        NS_WORD => (1, config.word_weight),
        NS_HEAD => (2, config.head_weight),
        _ => (3, 1.0),
    }
}

/// A sparse vector with sorted indices.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct SparseVec {
    pub idx: Vec<u32>,
    pub val: Vec<f32>,
}

impl SparseVec {
    pub fn dot_dense(&self, dense: &[f32]) -> f32 {
        self.idx
            .iter()
            .zip(&self.val)
            .map(|(&i, &v)| dense[i as usize] * v)
            .sum()
    }

    pub fn norm_sq(&self) -> f32 {
        self.val.iter().map(|v| v * v).sum()
    }
}

/// The feature vocabulary learned from training documents: which keys are kept, and their
/// inverse document frequency.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Vocabulary {
    /// Sorted keys; a key's position is its feature index.
    pub keys: Vec<u64>,
    pub idf: Vec<f32>,
    pub config: FeatureConfig,
    /// Key → index, rebuilt after loading; a hash lookup beats binary search here.
    #[serde(skip)]
    index: KeyMap<u32>,
}

impl PartialEq for Vocabulary {
    fn eq(&self, other: &Self) -> bool {
        self.keys == other.keys && self.idf == other.idf && self.config == other.config
    }
}

/// Documents with their keys replaced by dense ids that follow key order. Fitting a
/// vocabulary on any subset of them (a cross-validation fold, or all of them) then costs
/// array indexing instead of hash lookups, and every document is hashed once however many
/// folds use it.
pub(crate) struct InternedDocs {
    /// Sorted distinct keys; a key's position is its id.
    pub keys: Vec<u64>,
    /// Each document's (id, count), sorted by id.
    pub docs: Vec<Vec<(u32, f32)>>,
}

impl InternedDocs {
    pub fn new(counts: &[Vec<(u64, f32)>]) -> Self {
        // Sort every (key, position) pair once instead of hashing into a large table: the
        // table would not fit in cache, and a cache miss per entry costs more than sorting.
        let mut pairs: Vec<(u64, u32)> = Vec::with_capacity(counts.iter().map(Vec::len).sum());
        for doc in counts {
            let base = pairs.len() as u32;
            pairs.extend(
                doc.iter()
                    .enumerate()
                    .map(|(i, &(key, _))| (key, base + i as u32)),
            );
        }
        pairs.sort_unstable();
        let mut ids = vec![0u32; pairs.len()];
        let mut keys: Vec<u64> = Vec::new();
        for &(key, position) in &pairs {
            if keys.last() != Some(&key) {
                keys.push(key);
            }
            ids[position as usize] = keys.len() as u32 - 1;
        }
        let mut next = 0;
        let docs = counts
            .iter()
            .map(|doc| {
                let out = doc
                    .iter()
                    .zip(&ids[next..])
                    .map(|(&(_, tf), &id)| (id, tf))
                    .collect();
                next += doc.len();
                out
            })
            .collect();
        InternedDocs { keys, docs }
    }
}

/// Feature index of each interned id under one vocabulary (u32::MAX: not kept).
pub(crate) struct FeatureMap(Vec<u32>);

impl Vocabulary {
    /// Keeps the keys found in at least `min_df` of the documents `train` (fewer in a small
    /// training set); smooth IDF as in common practice: ln((1 + n) / (1 + df)) + 1.
    pub fn fit_interned(
        interned: &InternedDocs,
        train: &[usize],
        config: &FeatureConfig,
    ) -> (Self, FeatureMap) {
        let mut df = vec![0u32; interned.keys.len()];
        for &d in train {
            for &(id, _) in &interned.docs[d] {
                df[id as usize] += 1;
            }
        }
        // A key in three documents is rare only in a large corpus: a deployment's first
        // models learn from a few dozen handled items, where such a cut would keep little.
        let min_df = config.min_df.min(2 + (train.len() / 1000) as u32);
        let n = train.len() as f32;
        let mut map = vec![u32::MAX; df.len()];
        let mut keys = Vec::new();
        let mut idf = Vec::new();
        for (id, &d) in df.iter().enumerate() {
            if d >= min_df {
                map[id] = keys.len() as u32;
                keys.push(interned.keys[id]);
                idf.push(((1.0 + n) / (1.0 + d as f32)).ln() + 1.0);
            }
        }
        let vocabulary = Vocabulary {
            keys,
            idf,
            config: config.clone(),
            index: KeyMap::default(),
        };
        (vocabulary, FeatureMap(map))
    }

    /// Builds the key → index map (after training or loading).
    pub fn build_index(&mut self) {
        self.index = self
            .keys
            .iter()
            .enumerate()
            .map(|(i, &k)| (k, i as u32))
            .collect();
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// TF-IDF vector of one document's raw counts (see [`Self::weigh`]); needs the index.
    pub fn transform(&self, counts: &[(u64, f32)]) -> SparseVec {
        self.weigh(
            counts
                .iter()
                .filter_map(|(key, tf)| self.index.get(key).map(|&i| (i, *tf))),
        )
    }

    /// TF-IDF vector of an interned document under the map made with this vocabulary.
    pub fn transform_interned(&self, doc: &[(u32, f32)], map: &FeatureMap) -> SparseVec {
        self.weigh(doc.iter().filter_map(|&(id, tf)| {
            let i = map.0[id as usize];
            (i != u32::MAX).then_some((i, tf))
        }))
    }

    /// Sublinear term frequency (1 + ln tf) times IDF, each block L2-normalized and scaled
    /// by its weight. Entries must come in increasing feature index.
    fn weigh(&self, entries_in: impl Iterator<Item = (u32, f32)>) -> SparseVec {
        let mut entries: Vec<(u32, f32, usize)> = Vec::new();
        let mut block_norms = [0f32; 4];
        for (index, tf) in entries_in {
            let (block, _) = block_weight(self.keys[index as usize], &self.config);
            let weight = (1.0 + tf.ln()) * self.idf[index as usize];
            block_norms[block] += weight * weight;
            entries.push((index, weight, block));
        }
        let mut scale = [0f32; 4];
        for block in 0..4 {
            if block_norms[block] > 0.0 {
                let block_weight = match block {
                    0 => self.config.char_weight,
                    1 => self.config.word_weight,
                    2 => self.config.head_weight,
                    _ => 1.0,
                };
                scale[block] = block_weight / block_norms[block].sqrt();
            }
        }
        SparseVec {
            idx: entries.iter().map(|e| e.0).collect(),
            val: entries.iter().map(|e| e.1 * scale[e.2]).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_group_ascii_and_break_at_punctuation() {
        let u = units("j11市路灯,wifi差");
        assert_eq!(u[0], UNIT_NUMBER);
        assert_eq!(u[1], '市' as u32);
        assert_eq!(u[4], UNIT_BREAK);
        assert!(u[5] >= UNIT_WORD_BASE && u[5] != UNIT_BREAK);
        assert_eq!(u.len(), 7);
    }

    #[test]
    fn a_fold_vocabulary_counts_only_its_training_documents() {
        let config = FeatureConfig {
            min_df: 2,
            ..FeatureConfig::default()
        };
        let (a, b, c) = (
            feature_key(NS_CHAR, 1),
            feature_key(NS_CHAR, 2),
            feature_key(NS_WORD, 3),
        );
        let docs = vec![
            vec![(a, 1.0), (b, 1.0)],
            vec![(a, 2.0), (c, 1.0)],
            vec![(b, 1.0), (c, 1.0)],
        ];
        let interned = InternedDocs::new(&docs);
        assert_eq!(interned.keys, [a, b, c]);
        assert_eq!(interned.docs[2], [(1, 1.0), (2, 1.0)]);
        // Trained on the first two documents, only `a` reaches two documents.
        let (vocab, map) = Vocabulary::fit_interned(&interned, &[0, 1], &config);
        assert_eq!(vocab.keys, [a]);
        assert!(vocab
            .transform_interned(&interned.docs[2], &map)
            .idx
            .is_empty());
        assert_eq!(vocab.transform_interned(&interned.docs[1], &map).idx, [0]);
    }

    #[test]
    fn the_document_frequency_cut_is_milder_on_small_training_sets() {
        let config = FeatureConfig {
            min_df: 3,
            ..FeatureConfig::default()
        };
        let key = feature_key(NS_CHAR, 1);
        let docs: Vec<Vec<(u64, f32)>> = (0..1000)
            .map(|i| if i < 2 { vec![(key, 1.0)] } else { Vec::new() })
            .collect();
        let interned = InternedDocs::new(&docs);
        let (small, _) = Vocabulary::fit_interned(&interned, &[0, 1, 2, 3], &config);
        assert_eq!(small.len(), 1, "2 documents of 4 are enough");
        let all: Vec<usize> = (0..1000).collect();
        let (large, _) = Vocabulary::fit_interned(&interned, &all, &config);
        assert_eq!(large.len(), 0, "2 documents of 1000 are not");
    }

    #[test]
    fn transform_normalizes_each_block() {
        let config = FeatureConfig {
            min_df: 1,
            ..FeatureConfig::default()
        };
        let segmenter = Segmenter::new();
        let docs: Vec<_> = ["路灯坏了", "路面积水"]
            .iter()
            .map(|t| raw_counts(t, &segmenter, &config))
            .collect();
        let interned = InternedDocs::new(&docs);
        let (mut vocab, map) = Vocabulary::fit_interned(&interned, &[0, 1], &config);
        let v = vocab.transform_interned(&interned.docs[0], &map);
        vocab.build_index();
        assert_eq!(vocab.transform(&docs[0]), v);
        let expected =
            config.char_weight.powi(2) + config.word_weight.powi(2) + config.head_weight.powi(2);
        assert!((v.norm_sq() - expected).abs() < 1e-4, "{}", v.norm_sq());
        assert!(v.idx.windows(2).all(|w| w[0] < w[1]));
    }
}
