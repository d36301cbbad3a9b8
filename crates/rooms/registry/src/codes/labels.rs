//! Display names of the registry's stored keys, in both languages.
//!
//! The registry stores snake_case keys (`district`, `hub`, `social_governance`, ...; the
//! vocabularies of `model::kinds`) and lists of them separated by commas. Public pages must never break on a value they do not
//! know (a hand-edited row, an import from an older version): Chinese names and unknown
//! values are shown as they are.

/// A text in both languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub zh: String,
    pub en: String,
}

impl Label {
    fn of(zh: &str, en: &str) -> Label {
        Label {
            zh: zh.to_string(),
            en: en.to_string(),
        }
    }
    fn raw(s: &str) -> Label {
        Label::of(s, s)
    }
}

/// Levels of the people's congresses a deputy sits in, highest first.
/// (key, aliases, zh, en)
const LEVELS: &[(&str, &[&str], &str, &str)] = &[
    (
        "national",
        &["全国", "全国人大", "全国人大代表"],
        "全国人大代表",
        "NPC deputy",
    ),
    (
        "provincial",
        &["province", "省", "省人大", "省人大代表"],
        "省人大代表",
        "Provincial deputy",
    ),
    (
        "city",
        &["市", "市人大", "市人大代表"],
        "市人大代表",
        "City deputy",
    ),
    (
        "district",
        &["county", "区", "县", "区人大", "区人大代表", "县人大代表"],
        "区人大代表",
        "District deputy",
    ),
    (
        "township",
        &["乡镇", "镇", "乡", "乡镇人大", "乡镇人大代表"],
        "乡镇人大代表",
        "Township deputy",
    ),
];

/// Splits a stored list: commas (ASCII or Chinese), enumeration commas, semicolons, spaces.
pub fn split_list(s: &str) -> impl Iterator<Item = &str> {
    s.split([',', '，', '、', ';', '；', ' ', '|'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// The key of one level token, if it is known.
pub fn level_key(token: &str) -> Option<&'static str> {
    let t = token.trim();
    LEVELS
        .iter()
        .find(|(key, aliases, _, _)| t.eq_ignore_ascii_case(key) || aliases.contains(&t))
        .map(|(key, _, _, _)| *key)
}

/// The levels of a deputy's `levels` column, highest first, unknown tokens last.
pub fn levels(stored: &str) -> Vec<Label> {
    let tokens: Vec<&str> = split_list(stored).collect();
    let mut out = Vec::new();
    for (key, _, zh, en) in LEVELS {
        if tokens.iter().any(|t| level_key(t) == Some(key)) {
            out.push(Label::of(zh, en));
        }
    }
    for t in tokens.iter().filter(|t| level_key(t).is_none()) {
        out.push(Label::raw(t));
    }
    out
}

/// Kind of a liaison station: 总站 (district hub), 站, 点.
pub fn station_kind(kind: &str) -> Label {
    match kind.trim() {
        "hub" | "代表联络总站" | "总站" => {
            Label::of("代表联络总站", "Deputies' liaison hub")
        }
        "station" | "代表联络站" | "站" => {
            Label::of("代表联络站", "Deputies' liaison station")
        }
        "point" | "代表联络点" | "点" => Label::of("代表联络点", "Deputies' liaison point"),
        other => Label::raw(other),
    }
}

/// Partner centres a station shares its site with.
pub fn partners(stored: &str) -> Vec<Label> {
    split_list(stored)
        .map(|t| match t {
            "social_governance" | "社会治理中心" | "社会治理" => {
                Label::of("社会治理中心", "Social governance centre")
            }
            "civilization_practice" | "新时代文明实践中心" | "文明实践中心" | "新时代文明实践" => {
                Label::of("新时代文明实践中心", "Civilization practice centre")
            }
            "party_service" | "党群服务中心" | "党群服务" => {
                Label::of("党群服务中心", "Party and public service centre")
            }
            other => Label::raw(other),
        })
        .collect()
}

/// Compound surnames common enough to matter for the photo placeholder.
const COMPOUND_SURNAMES: &[&str] = &[
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "令狐", "慕容", "尉迟", "公孙", "长孙", "宇文",
    "司徒", "夏侯", "端木",
];

/// The surname shown in place of a missing photo.
pub fn surname(name: &str) -> String {
    let name = name.trim();
    if let Some(c) = COMPOUND_SURNAMES.iter().find(|c| name.starts_with(**c)) {
        return c.to_string();
    }
    name.chars().next().map(String::from).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_ordered_and_tolerant() {
        let l = levels("district, national，乡镇、honorary");
        let zh: Vec<&str> = l.iter().map(|x| x.zh.as_str()).collect();
        assert_eq!(
            zh,
            ["全国人大代表", "区人大代表", "乡镇人大代表", "honorary"]
        );
        assert!(levels("").is_empty());
    }

    #[test]
    fn surnames() {
        assert_eq!(surname("欧阳明"), "欧阳");
        assert_eq!(surname("王芳"), "王");
        assert_eq!(surname(""), "");
    }
}
