//! Word segmentation (jieba) with a user dictionary, and the search tokenizer.
//!
//! Place, station and unit names from the registry, and words staff add, go into the user
//! dictionary so that jieba keeps them whole ("联丰路米兰春天" should not fall apart into
//! four pieces that also match unrelated places).

use std::sync::{Arc, OnceLock};

use jieba_rs::Jieba;

use crate::normalize::{is_han, is_punctuation, normalize};

/// jieba's default dictionary, zstd-compressed by build.rs (about 2 MB instead of 5).
static DICTIONARY: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/jieba-dict.zst"));

/// The compressed dictionary embedded in the binary. It is read once per process, when the
/// first segmenter loads it; a server may then give its pages back to the system (they
/// stay resident otherwise, 1.9 MB of the binary's file-backed memory; see the app's
/// `memory::release_static`).
pub fn embedded_dictionary() -> &'static [u8] {
    DICTIONARY
}

/// jieba with its default dictionary, streamed from [`DICTIONARY`]: `Jieba::new()` would
/// keep the whole decompressed text in a static for the life of the process (8 MB of heap
/// that nothing reads after loading).
fn load_default() -> Jieba {
    let stream = zstd::stream::read::Decoder::with_buffer(DICTIONARY)
        .expect("the embedded dictionary is a zstd stream");
    Jieba::with_dict(&mut std::io::BufReader::new(stream))
        .expect("the embedded dictionary is jieba's own, which parses")
}

/// The default dictionary is large (about 350,000 words); load it once per process. Segmenters
/// without user words share it; the first user word gives a segmenter its own copy, which is
/// cheap next to parsing the dictionary again.
fn base_jieba() -> &'static Arc<Jieba> {
    static BASE: OnceLock<Arc<Jieba>> = OnceLock::new();
    BASE.get_or_init(|| Arc::new(load_default()))
}

/// A jieba segmenter plus the user words added to it.
#[derive(Clone)]
pub struct Segmenter {
    jieba: Arc<Jieba>,
    user_words: Vec<String>,
}

impl std::fmt::Debug for Segmenter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Segmenter")
            .field("user_words", &self.user_words.len())
            .finish()
    }
}

impl Default for Segmenter {
    fn default() -> Self {
        Self::new()
    }
}

impl Segmenter {
    /// A segmenter with jieba's default dictionary and no user words.
    pub fn new() -> Self {
        Segmenter {
            jieba: base_jieba().clone(),
            user_words: Vec::new(),
        }
    }

    /// A segmenter with the given user words added.
    pub fn with_user_words<I, S>(words: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut segmenter = Self::new();
        for word in words {
            segmenter.add_word(word.as_ref());
        }
        segmenter
    }

    /// Adds a word to the user dictionary (normalized first, so that a traditional or
    /// full-width spelling still matches). Returns false when the word is empty after
    /// normalization or was already added.
    pub fn add_word(&mut self, word: &str) -> bool {
        let word = normalize(word);
        let word = word.trim();
        if word.is_empty() || self.user_words.iter().any(|w| w == word) {
            return false;
        }
        // No frequency given: jieba picks one just high enough to keep the word whole.
        Arc::make_mut(&mut self.jieba).add_word(word, None, None);
        self.user_words.push(word.to_string());
        true
    }

    /// The user words, in the order they were added (stored with a trained model so that
    /// prediction segments exactly as training did).
    pub fn user_words(&self) -> &[String] {
        &self.user_words
    }

    /// Words of already-normalized text, without whitespace or punctuation tokens.
    pub fn words<'a>(&self, normalized: &'a str) -> Vec<&'a str> {
        self.jieba
            .cut(normalized, true)
            .into_iter()
            .map(|token| token.word)
            .filter(|word| is_content_token(word))
            .collect()
    }

    /// Words of already-normalized text in search mode: long words are also split into
    /// their dictionary sub-words, so that a query for "医保" finds "医保卡".
    pub fn search_words<'a>(&self, normalized: &'a str) -> Vec<&'a str> {
        self.jieba
            .cut_for_search(normalized, true)
            .into_iter()
            .map(|token| token.word)
            .filter(|word| is_content_token(word))
            .collect()
    }

    /// Tokens for full-text search: the search-mode jieba words plus every bigram of
    /// adjacent Chinese characters, deduplicated in first-seen order. The bigrams make
    /// search independent of segmentation mistakes; the words keep ranking sharp. The same
    /// function must index documents and parse queries.
    pub fn search_tokens(&self, text: &str) -> Vec<String> {
        let normalized = normalize(text);
        let mut seen = std::collections::HashSet::new();
        let mut tokens = Vec::new();
        for word in self.search_words(&normalized) {
            if seen.insert(word.to_string()) {
                tokens.push(word.to_string());
            }
        }
        for bigram in han_bigrams(&normalized) {
            if seen.insert(bigram.clone()) {
                tokens.push(bigram);
            }
        }
        tokens
    }
}

/// A token worth keeping: not only whitespace or punctuation.
fn is_content_token(word: &str) -> bool {
    word.chars()
        .any(|c| !c.is_whitespace() && !is_punctuation(c))
}

/// Bigrams of adjacent Han characters ("路灯坏了" → 路灯, 灯坏, 坏了).
pub fn han_bigrams(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars
        .windows(2)
        .filter(|pair| is_han(pair[0]) && is_han(pair[1]))
        .map(|pair| pair.iter().collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_streamed_dictionary_segments_as_jieba_own() {
        let ours = load_default();
        let theirs = Jieba::new();
        let texts = [
            "小区门口的路灯坏了，请尽快维修。",
            "中心小学门口上学时间堵车，车辆乱停，希望交警加强管理",
            "医保卡无法使用，社区卫生服务中心说系统升级",
            "北河路垃圾站臭味很大，夏天蚊蝇滋生，请求搬迁或者加盖",
            "南京市长江大桥，结婚的和尚未结婚的",
        ];
        for text in texts {
            let words = |j: &Jieba| -> Vec<String> {
                j.cut(text, true)
                    .iter()
                    .map(|t| t.word.to_string())
                    .collect()
            };
            let search = |j: &Jieba| -> Vec<String> {
                j.cut_for_search(text, true)
                    .iter()
                    .map(|t| t.word.to_string())
                    .collect()
            };
            assert_eq!(words(&ours), words(&theirs), "{text}");
            assert_eq!(search(&ours), search(&theirs), "{text}");
        }
        for word in ["路灯", "医保卡", "垃圾站", "南京市", "长江大桥"] {
            assert_eq!(ours.has_word(word), theirs.has_word(word), "{word}");
        }
        assert_eq!(ours.suggest_freq("路灯"), theirs.suggest_freq("路灯"));
    }

    #[test]
    fn words_drop_punctuation() {
        let segmenter = Segmenter::new();
        let words = segmenter.words("小区门口的路灯坏了,请尽快维修。");
        assert!(words.contains(&"路灯"), "{words:?}");
        assert!(words.iter().all(|w| *w != "," && *w != "。"));
    }

    #[test]
    fn user_word_is_kept_whole() {
        let text = "青禾湾幸福驿站门口积水";
        let plain = Segmenter::new();
        assert!(
            !plain.words(text).contains(&"青禾湾幸福驿站"),
            "jieba alone splits it"
        );
        let mut segmenter = Segmenter::new();
        assert!(
            segmenter.add_word("青禾灣幸福驛站"),
            "traditional spelling is normalized"
        );
        assert!(
            !segmenter.add_word("青禾湾幸福驿站"),
            "second add is a no-op"
        );
        assert!(segmenter.words(text).contains(&"青禾湾幸福驿站"));
        assert_eq!(segmenter.user_words(), ["青禾湾幸福驿站"]);
    }

    #[test]
    fn search_tokens_have_words_and_bigrams() {
        let segmenter = Segmenter::new();
        let tokens = segmenter.search_tokens("醫保卡無法使用");
        for expected in ["医保", "医保卡", "保卡", "无法", "使用", "法使"] {
            assert!(
                tokens.iter().any(|t| t == expected),
                "{expected} missing in {tokens:?}"
            );
        }
        let unique: std::collections::HashSet<_> = tokens.iter().collect();
        assert_eq!(unique.len(), tokens.len());
    }
}
