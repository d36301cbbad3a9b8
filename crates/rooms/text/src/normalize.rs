//! Text normalization applied before every analysis, so that the same message typed on a
//! phone with a full-width keyboard, pasted from a traditional-script source, or sprinkled
//! with stray spaces ends up as the same string.

use std::sync::OnceLock;

use ferrous_opencc::{config::BuiltinConfig, OpenCC};

/// Normalizes Chinese text for analysis:
/// - full-width ASCII letters, digits and punctuation become half-width, the ideographic
///   space becomes a plain space;
/// - traditional characters become simplified ones (OpenCC's phrase-aware tables);
/// - ASCII letters are lower-cased;
/// - runs of whitespace (including zero-width and control characters) collapse into one
///   space, and spaces between two Chinese characters are dropped, since Chinese does not
///   separate words by spaces and stray ones only break n-grams;
/// - typographic quotes, brackets and dashes fold into their ASCII forms, and runs of the
///   same punctuation mark ("！！！", "。。。") collapse into one.
///
/// The result is meant for matching and features, not for display.
pub fn normalize(text: &str) -> String {
    let mut folded = String::with_capacity(text.len());
    let mut last_punct: Option<char> = None;
    let mut pending_space = false;
    for raw in text.chars() {
        let c = fold_char(raw);
        if c == ' ' {
            pending_space = !folded.is_empty();
            last_punct = None;
            continue;
        }
        if is_punctuation(c) {
            if last_punct == Some(c) {
                continue;
            }
            last_punct = Some(c);
        } else {
            last_punct = None;
        }
        if pending_space {
            let previous_is_han = folded.chars().next_back().is_some_and(is_han);
            if !(previous_is_han && is_han(c)) {
                folded.push(' ');
            }
            pending_space = false;
        }
        folded.push(c);
    }
    to_simplified(folded)
}

/// Maps one character to its folded form; whitespace-like characters map to ' '.
fn fold_char(c: char) -> char {
    match c {
        // Full-width ASCII block: same order as ASCII, shifted.
        '\u{FF01}'..='\u{FF5E}' => {
            let ascii = char::from_u32(c as u32 - 0xFEE0).unwrap_or(c);
            ascii.to_ascii_lowercase()
        }
        '\u{3000}'
        | '\u{00A0}'
        | '\u{2000}'..='\u{200B}'
        | '\u{FEFF}'
        | '\u{2028}'
        | '\u{2029}' => ' ',
        c if c.is_whitespace() || c.is_control() => ' ',
        '\u{201C}' | '\u{201D}' | '\u{300C}' | '\u{300D}' | '\u{300E}' | '\u{300F}' => '"',
        '\u{2018}' | '\u{2019}' => '\'',
        '\u{3010}' | '\u{3014}' | '\u{3016}' => '[',
        '\u{3011}' | '\u{3015}' | '\u{3017}' => ']',
        '\u{2014}' | '\u{2013}' | '\u{2015}' | '\u{2012}' => '-',
        '\u{2026}' => '.',
        c => c.to_ascii_lowercase(),
    }
}

/// True for CJK unified ideographs (the basic block and extension A), the characters that
/// Chinese words are made of.
pub fn is_han(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{F900}'..='\u{FAFF}')
}

/// Punctuation in the wide sense: ASCII punctuation, CJK punctuation, general punctuation.
pub fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation()
        || matches!(c, '\u{3000}'..='\u{303F}' | '\u{2010}'..='\u{205E}' | '\u{FF00}'..='\u{FF0F}'
            | '\u{FF1A}'..='\u{FF20}' | '\u{FF3B}'..='\u{FF40}' | '\u{FF5B}'..='\u{FF65}'
            | '\u{00A1}'..='\u{00BF}' | '\u{FE30}'..='\u{FE4F}')
}

fn converter() -> &'static OpenCC {
    static CONVERTER: OnceLock<OpenCC> = OnceLock::new();
    CONVERTER.get_or_init(|| {
        OpenCC::from_config(BuiltinConfig::T2s)
            .expect("the built-in T2s configuration is embedded in the crate")
    })
}

/// Bitmap of the Han characters that OpenCC changes on their own. Almost all incoming text
/// is already simplified; scanning a bitmap is far cheaper than running the phrase
/// converter, so the converter only runs on text that has at least one such character.
fn traditional_chars() -> &'static [u64] {
    static BITMAP: OnceLock<Vec<u64>> = OnceLock::new();
    BITMAP.get_or_init(|| {
        let cc = converter();
        let mut bits = vec![0u64; (HAN_END - HAN_START).div_ceil(64) as usize];
        let mut buf = [0u8; 4];
        for code in HAN_START..HAN_END {
            let Some(c) = char::from_u32(code) else {
                continue;
            };
            let s: &str = c.encode_utf8(&mut buf);
            if cc.convert(s) != s {
                let offset = (code - HAN_START) as usize;
                bits[offset / 64] |= 1 << (offset % 64);
            }
        }
        bits
    })
}

const HAN_START: u32 = 0x3400;
const HAN_END: u32 = 0xA000;

fn looks_traditional(c: char) -> bool {
    let code = c as u32;
    if !(HAN_START..HAN_END).contains(&code) {
        return false;
    }
    let offset = (code - HAN_START) as usize;
    traditional_chars()[offset / 64] & (1 << (offset % 64)) != 0
}

/// Converts traditional characters to simplified ones; returns the input unchanged (without
/// copying) when it has no traditional character.
pub fn to_simplified(text: String) -> String {
    if text.chars().any(looks_traditional) {
        converter().convert(&text)
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_width_becomes_half_width_and_lower_case() {
        assert_eq!(normalize("ＡＢＣ１２３，ｘｙｚ！"), "abc123,xyz!");
    }

    #[test]
    fn whitespace_collapses_and_vanishes_between_han() {
        assert_eq!(normalize("  路灯\t坏了 \n\n 很久  "), "路灯坏了很久");
        assert_eq!(normalize("第 3 栋　楼"), "第 3 栋楼");
        assert_eq!(normalize("wifi  信号\u{200B}差"), "wifi 信号差");
    }

    #[test]
    fn repeated_punctuation_collapses() {
        assert_eq!(normalize("太吵了！！！怎么办？？"), "太吵了!怎么办?");
        assert_eq!(normalize("“噪音”……"), "\"噪音\".");
    }

    #[test]
    fn traditional_becomes_simplified() {
        assert_eq!(normalize("請儘快維修路燈，謝謝"), "请尽快维修路灯,谢谢");
        assert_eq!(normalize("頭髮乾燥"), "头发干燥");
        // Already simplified text passes through untouched.
        assert_eq!(normalize("小区门口积水"), "小区门口积水");
    }
}
