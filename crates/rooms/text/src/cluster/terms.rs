//! The terms of a text (jieba words and character bigrams, hashed) and their document
//! frequencies over a corpus.

use crate::features::{NS_BIGRAM, NS_WORD};
use crate::hashing::{hash_bytes, TermMap};
use crate::normalize::{is_han, normalize};
use crate::segment::Segmenter;

/// A term: the hash of a word or character bigram cut to 32 bits, the top bit telling a
/// bigram from a word. (At a million distinct terms a few hundred pairs collide, which
/// does not change which items look alike.)
pub(super) type Term = u32;

/// A text's terms with their counts, sorted by term, as a batch run keeps them.
pub(super) type Terms = Box<[(Term, u32)]>;
const BIGRAM_BIT: Term = 1 << 31;

fn word_term(word: &str) -> Term {
    hash_bytes(u64::from(NS_WORD), word.as_bytes()) as u32 & !BIGRAM_BIT
}

fn bigram_term(bigram: &str) -> Term {
    hash_bytes(u64::from(NS_BIGRAM), bigram.as_bytes()) as u32 | BIGRAM_BIT
}

pub(super) fn is_bigram(term: Term) -> bool {
    term & BIGRAM_BIT != 0
}

/// Terms of normalized text with their counts, sorted by term; `on_word` sees each word
/// kept (for labels).
///
/// The terms are collected in a vector and counted by sorting it: cheaper than a hash map
/// for the few hundred terms of a message, and it gives the term order the rest needs.
pub(super) fn raw_terms(
    normalized: &str,
    segmenter: &Segmenter,
    mut on_word: impl FnMut(Term, &str),
) -> Vec<(Term, u32)> {
    let mut all: Vec<Term> = Vec::with_capacity(normalized.len() / 2);
    for word in segmenter.words(normalized) {
        // Numbers and single characters say little about what the problem is.
        if word.chars().any(|c| c.is_ascii_digit()) || word.chars().count() < 2 {
            continue;
        }
        let term = word_term(word);
        on_word(term, word);
        all.push(term);
    }
    // Bigrams are hashed straight from the text: one small String per bigram used to cost
    // more than hashing it.
    let mut previous: Option<(usize, char)> = None;
    for (at, c) in normalized.char_indices() {
        if let Some((start, p)) = previous {
            if is_han(p) && is_han(c) {
                all.push(bigram_term(&normalized[start..at + c.len_utf8()]));
            }
        }
        previous = Some((at, c));
    }
    all.sort_unstable();
    let mut terms: Vec<(Term, u32)> = Vec::with_capacity(all.len());
    for term in all {
        match terms.last_mut() {
            Some(last) if last.0 == term => last.1 += 1,
            _ => terms.push((term, 1)),
        }
    }
    terms
}

/// Inverse document frequencies of terms over a corpus, fixed while clustering.
///
/// Only terms seen in at least two documents are stored (sorted, 8 bytes each, with their
/// IDF already computed): about half of a corpus's terms occur once, and a term absent from
/// the table counts as seen once. A radix index on the terms' top bits (4 bytes per two
/// entries) narrows a lookup to a few neighbouring entries: a plain binary search over
/// 100,000+ entries missed the cache at every step and was a tenth of the clustering time.
#[derive(Debug, Clone)]
pub struct IdfTable {
    docs: u32,
    idf: Vec<(Term, f32)>,
    /// IDF of a term seen in one document (or none).
    rare: f32,
    /// `starts[k]` is the first entry whose term's top `bits` bits are at least `k`.
    starts: Vec<u32>,
    bits: u32,
}

/// Counts document frequencies one text at a time, so a corpus can be streamed.
#[derive(Debug, Default)]
pub struct IdfCounter {
    docs: u32,
    df: TermMap<u32>,
}

impl IdfCounter {
    pub fn new() -> Self {
        IdfCounter::default()
    }

    pub fn add(&mut self, text: &str, segmenter: &Segmenter) {
        self.add_terms(&raw_terms(&normalize(text), segmenter, |_, _| {}));
    }

    /// Counts one document given its terms (each term once).
    pub(super) fn add_terms(&mut self, terms: &[(Term, u32)]) {
        for &(term, _) in terms {
            *self.df.entry(term).or_insert(0) += 1;
        }
        self.docs += 1;
    }

    pub fn finish(self) -> IdfTable {
        let docs = self.docs;
        let idf_of = |df: u32| ((1.0 + docs as f32) / (1.0 + df as f32)).ln() + 1.0;
        let mut idf: Vec<(Term, f32)> = self
            .df
            .into_iter()
            .filter(|t| t.1 > 1)
            .map(|(term, df)| (term, idf_of(df)))
            .collect();
        idf.sort_unstable_by_key(|t| t.0);
        idf.shrink_to_fit();
        // About two entries per bucket.
        let bits = (usize::BITS - (idf.len() / 2).leading_zeros()).min(24);
        let buckets = 1usize << bits;
        let mut starts: Vec<u32> = Vec::with_capacity(buckets + 1);
        let mut at = 0;
        for bucket in 0..buckets {
            while at < idf.len() && (bucket_of(idf[at].0, bits) as usize) < bucket {
                at += 1;
            }
            starts.push(at as u32);
        }
        starts.push(idf.len() as u32);
        IdfTable {
            docs,
            idf,
            rare: idf_of(1),
            starts,
            bits,
        }
    }
}

impl Default for IdfTable {
    /// The table of an empty corpus: every term counts as seen once.
    fn default() -> Self {
        IdfCounter::new().finish()
    }
}

/// The radix bucket of a term: its top `bits` bits.
fn bucket_of(term: Term, bits: u32) -> u32 {
    if bits == 0 {
        0
    } else {
        term >> (Term::BITS - bits)
    }
}

impl IdfTable {
    /// Counts the documents each term appears in.
    pub fn fit<S: AsRef<str>>(texts: &[S], segmenter: &Segmenter) -> Self {
        let mut counter = IdfCounter::new();
        for text in texts {
            counter.add(text.as_ref(), segmenter);
        }
        counter.finish()
    }

    /// Documents the table was fitted on.
    pub fn docs(&self) -> u32 {
        self.docs
    }

    pub(super) fn idf(&self, term: Term) -> f32 {
        let k = bucket_of(term, self.bits) as usize;
        let bucket = &self.idf[self.starts[k] as usize..self.starts[k + 1] as usize];
        match bucket.binary_search_by_key(&term, |t| t.0) {
            Ok(i) => bucket[i].1,
            Err(_) => self.rare,
        }
    }

    pub(super) fn heap_bytes(&self) -> usize {
        self.idf.capacity() * std::mem::size_of::<(Term, f32)>()
            + self.starts.capacity() * std::mem::size_of::<u32>()
    }
}

/// Term entries (8 bytes each) a batch run keeps between its two passes: 128 MiB, about
/// 50,000 messages of average length. Longer inputs segment the rest twice.
pub const TERM_CACHE_ENTRIES: usize = 16 << 20;

/// The terms of each text, on `threads` threads (contiguous shares), while `budget` term
/// entries last (split evenly between the threads); `None` for texts past it.
pub(super) fn segment_all<S: AsRef<str> + Sync>(
    texts: &[S],
    segmenter: &Segmenter,
    threads: usize,
    budget: usize,
) -> Vec<Option<Terms>> {
    let threads = threads.max(1);
    let share = texts.len().div_ceil(threads).max(1);
    let budget = budget / threads;
    let segment = |part: &[S]| {
        let mut left = budget;
        part.iter()
            .map(|text| {
                if left == 0 {
                    return None;
                }
                let terms = raw_terms(&normalize(text.as_ref()), segmenter, |_, _| {});
                left = left.saturating_sub(terms.len());
                // Without the spare capacity of the token list it was counted from.
                Some(terms.into_boxed_slice())
            })
            .collect::<Vec<_>>()
    };
    // A thread is not worth starting for a handful of texts.
    if threads == 1 || texts.len() < 64 {
        return segment(texts);
    }
    std::thread::scope(|scope| {
        let workers: Vec<_> = texts
            .chunks(share)
            .map(|part| scope.spawn(move || segment(part)))
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("segmentation does not panic"))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::segment::han_bigrams;

    /// Texts with repeated and unique words, so that some terms are counted once and
    /// others in many documents.
    fn corpus() -> Vec<String> {
        let places = [
            "锦绣花园",
            "北河路",
            "中心小学",
            "人民大道",
            "青禾湾",
            "东门市场",
        ];
        let problems = [
            "电梯经常困人，物业一直不修",
            "垃圾站臭味很大，苍蝇成群",
            "门口堵车严重，车辆乱停",
            "路灯坏了很久，晚上很黑",
            "夜里施工噪音扰民",
        ];
        (0..120)
            .map(|i| {
                // Two characters of the text's own, so that some bigrams occur once.
                let own: String = [0x5000 + 2 * i as u32, 0x5001 + 2 * i as u32]
                    .iter()
                    .filter_map(|&c| char::from_u32(c))
                    .collect();
                format!(
                    "{}的{}，第{}次反映，请尽快处理。{}{own}",
                    places[i % places.len()],
                    problems[(i / 2) % problems.len()],
                    i,
                    if i % 7 == 0 { "此事拖了半年" } else { "" }
                )
            })
            .collect()
    }

    #[test]
    fn terms_are_the_words_and_bigrams_counted() {
        let segmenter = Segmenter::new();
        for text in corpus().iter().take(20) {
            let normalized = normalize(text);
            let mut expected: HashMap<Term, u32> = HashMap::new();
            for word in segmenter.words(&normalized) {
                if !word.chars().any(|c| c.is_ascii_digit()) && word.chars().count() >= 2 {
                    *expected.entry(word_term(word)).or_default() += 1;
                }
            }
            for bigram in han_bigrams(&normalized) {
                *expected.entry(bigram_term(&bigram)).or_default() += 1;
            }
            let mut expected: Vec<(Term, u32)> = expected.into_iter().collect();
            expected.sort_unstable();
            let mut words = Vec::new();
            let terms = raw_terms(&normalized, &segmenter, |t, w| {
                words.push((t, w.to_string()))
            });
            assert_eq!(terms, expected, "{text}");
            // Each word is shown with its term, which is one of the text's terms.
            assert!(words.len() > 3, "{words:?}");
            for (term, word) in &words {
                assert_eq!(*term, word_term(word));
                assert!(terms.binary_search_by_key(term, |t| t.0).is_ok(), "{word}");
            }
        }
    }

    #[test]
    fn idf_lookup_matches_the_document_counts() {
        let segmenter = Segmenter::new();
        let texts = corpus();
        let mut df: HashMap<Term, u32> = HashMap::new();
        for text in &texts {
            for (term, _) in raw_terms(&normalize(text), &segmenter, |_, _| {}) {
                *df.entry(term).or_default() += 1;
            }
        }
        let table = IdfTable::fit(&texts, &segmenter);
        assert_eq!(table.docs(), 120);
        assert!(
            table.bits > 2,
            "the radix index is used: {} bits",
            table.bits
        );
        let n = texts.len() as f32;
        let idf = |df: u32| ((1.0 + n) / (1.0 + df as f32)).ln() + 1.0;
        let (mut common, mut once) = (0, 0);
        for (&term, &count) in &df {
            assert_eq!(table.idf(term), idf(count.max(1)), "df {count}");
            if count > 1 {
                common += 1;
            } else {
                once += 1;
            }
        }
        assert!(common > 20 && once > 20, "{common} {once}");
        // Terms never seen count as seen once.
        assert_eq!(table.idf(word_term("从未出现")), idf(1));
        assert_eq!(table.idf(bigram_term("从未")), idf(1));
        // The table of no documents.
        let empty = IdfTable::default();
        assert_eq!(empty.idf(word_term("电梯")), (0.5f32).ln() + 1.0);
    }

    #[test]
    fn threads_and_budget_change_nothing_but_what_is_kept() {
        let segmenter = Segmenter::new();
        let texts = corpus();
        let all = segment_all(&texts, &segmenter, 1, usize::MAX);
        assert!(all.iter().all(Option::is_some));
        assert_eq!(segment_all(&texts, &segmenter, 3, usize::MAX), all);
        // A budget of a few texts' terms: the first texts keep theirs, the rest none.
        let first = all[0].as_ref().unwrap().len();
        let kept = segment_all(&texts, &segmenter, 1, 3 * first);
        let cut = kept
            .iter()
            .position(Option::is_none)
            .expect("the budget runs out");
        assert!((3..10).contains(&cut), "{cut}");
        assert!(kept[cut..].iter().all(Option::is_none));
        assert_eq!(kept[..cut], all[..cut]);
    }
}
