//! The closed vocabularies of the registry: region levels, station kinds, deputy levels,
//! partner centres, unit kinds and genders. Each is stored as a snake_case string and
//! shown in both languages; spreadsheets may use the Chinese label instead.

use serde::{Deserialize, Serialize};

/// Declares a vocabulary enum with its stored name, Chinese label, English label and
/// extra Chinese spellings accepted from spreadsheets.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => ($snake:literal, $zh:literal, $en:literal, [$($alias:literal),*])),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $snake),+ }
            }
            pub fn label_zh(self) -> &'static str {
                match self { $($name::$variant => $zh),+ }
            }
            pub fn label_en(self) -> &'static str {
                match self { $($name::$variant => $en),+ }
            }
            /// Accepts the stored name, the Chinese label or a known Chinese spelling.
            pub fn parse(s: &str) -> Option<$name> {
                let s = s.trim();
                $(
                    if s == $snake || s == $zh || s.eq_ignore_ascii_case($en) $(|| s == $alias)* {
                        return Some($name::$variant);
                    }
                )+
                None
            }
            /// "a, b, c" of every stored name, for error messages.
            pub fn names() -> String {
                Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }
            /// "甲、乙、丙" of every Chinese label, for error messages and templates.
            pub fn labels_zh() -> String {
                Self::ALL.iter().map(|v| v.label_zh()).collect::<Vec<_>>().join("、")
            }
        }
    };
}

vocabulary!(
    /// Levels of the region tree, from the top down.
    RegionLevel {
        Province => ("province", "省", "Province", ["省级", "自治区", "直辖市"]),
        City => ("city", "市", "City", ["市级", "地级市", "州", "盟"]),
        District => ("district", "区县", "District", ["区", "县", "区/县", "县级市", "旗"]),
        Township => ("township", "镇街", "Township", ["镇", "乡", "街道", "乡镇", "镇/街道", "乡镇街道"]),
        Community => ("community", "村社", "Community", ["村", "社区", "村/社区", "村社区"]),
        Grid => ("grid", "网格", "Grid", []),
    }
);

impl RegionLevel {
    /// Depth in the tree: a child's rank must be greater than its parent's.
    pub fn rank(self) -> u8 {
        match self {
            RegionLevel::Province => 0,
            RegionLevel::City => 1,
            RegionLevel::District => 2,
            RegionLevel::Township => 3,
            RegionLevel::Community => 4,
            RegionLevel::Grid => 5,
        }
    }
}

vocabulary!(
    /// 代表联络总站 / 站 / 点.
    StationKind {
        Hub => ("hub", "总站", "Hub", ["联络总站", "代表联络总站"]),
        Station => ("station", "站", "Station", ["联络站", "代表联络站"]),
        Point => ("point", "点", "Point", ["联络点", "代表联络点"]),
    }
);

vocabulary!(
    /// Centres a station may share its site with (阵地共建).
    Partner {
        SocialGovernance => ("social_governance", "社会治理中心", "Social governance centre", ["社会治理"]),
        CivilizationPractice => ("civilization_practice", "新时代文明实践中心", "Civilization practice centre", ["文明实践中心", "新时代文明实践"]),
        PartyService => ("party_service", "党群服务中心", "Party and public service centre", ["党群服务"]),
    }
);

vocabulary!(
    /// Congresses a deputy sits in; one person may sit in several.
    DeputyLevel {
        National => ("national", "全国", "National", ["全国人大代表", "全国人大", "国家"]),
        Provincial => ("provincial", "省", "Provincial", ["省级", "省人大代表", "省人大"]),
        City => ("city", "市", "City", ["市级", "市人大代表", "市人大"]),
        District => ("district", "区", "District", ["县", "区县", "区级", "县级", "区人大代表", "县人大代表", "区人大"]),
        Township => ("township", "乡镇", "Township", ["镇", "乡", "乡镇级", "镇人大代表", "乡人大代表", "乡镇人大代表"]),
    }
);

vocabulary!(
    /// Kinds of handling units (承办单位): departments, 一府一委两院, townships.
    UnitKind {
        GovernmentDepartment => ("government_department", "政府部门", "Government department", ["部门", "职能部门"]),
        Government => ("government", "区政府", "Government", ["一府", "政府", "县政府", "人民政府"]),
        SupervisionCommission => ("supervision_commission", "监委", "Supervision commission", ["监察委员会", "监察委", "一委"]),
        Court => ("court", "法院", "Court", ["人民法院"]),
        Procuratorate => ("procuratorate", "检察院", "Procuratorate", ["人民检察院"]),
        TownshipGovernment => ("township_government", "乡镇政府", "Township government", ["镇政府", "乡政府", "街道办事处", "街道办", "乡镇（街道）"]),
        Other => ("other", "其他", "Other", []),
    }
);

vocabulary!(
    Gender {
        Male => ("male", "男", "Male", []),
        Female => ("female", "女", "Female", []),
    }
);

/// Splits a list written in a cell or a form: by the Chinese enumeration comma, commas,
/// semicolons or line breaks.
pub fn split_list(s: &str) -> Vec<String> {
    s.split(['、', ',', '，', ';', '；', '\n'])
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// Parses a list of vocabulary words, reporting the first one that is unknown.
pub fn parse_set<T: Copy + Ord>(
    items: &[String],
    parse: fn(&str) -> Option<T>,
) -> Result<Vec<T>, String> {
    let mut out = Vec::new();
    for it in items {
        match parse(it) {
            Some(v) => {
                if !out.contains(&v) {
                    out.push(v)
                }
            }
            None => return Err(it.clone()),
        }
    }
    out.sort();
    Ok(out)
}

/// Comma-separated stored form of a set.
pub fn join_stored<T: Copy>(items: &[T], name: fn(T) -> &'static str) -> String {
    items.iter().map(|v| name(*v)).collect::<Vec<_>>().join(",")
}

/// Reads a stored comma-separated set, skipping words this version does not know.
pub fn parse_stored<T: Copy + Ord>(s: &str, parse: fn(&str) -> Option<T>) -> Vec<T> {
    let mut v: Vec<T> = s.split(',').filter_map(parse).collect();
    v.sort();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabularies_round_trip_and_accept_chinese() {
        for l in RegionLevel::ALL {
            assert_eq!(RegionLevel::parse(l.as_str()), Some(*l));
            assert_eq!(RegionLevel::parse(l.label_zh()), Some(*l));
        }
        assert_eq!(RegionLevel::parse("街道"), Some(RegionLevel::Township));
        assert_eq!(RegionLevel::parse("社区"), Some(RegionLevel::Community));
        assert_eq!(StationKind::parse("联络站"), Some(StationKind::Station));
        assert_eq!(DeputyLevel::parse("乡镇"), Some(DeputyLevel::Township));
        assert_eq!(UnitKind::parse("法院"), Some(UnitKind::Court));
        assert_eq!(Gender::parse("女"), Some(Gender::Female));
        assert_eq!(Gender::parse("x"), None);
        assert!(RegionLevel::Township.rank() > RegionLevel::District.rank());
    }

    #[test]
    fn sets_parse_dedupe_and_sort() {
        let items = split_list("乡镇、区, 区；全国");
        assert_eq!(
            parse_set(&items, DeputyLevel::parse).unwrap(),
            vec![
                DeputyLevel::National,
                DeputyLevel::District,
                DeputyLevel::Township
            ]
        );
        assert_eq!(
            parse_set(&split_list("区、火星"), DeputyLevel::parse),
            Err("火星".to_string())
        );
        let stored = join_stored(
            &[DeputyLevel::District, DeputyLevel::Township],
            DeputyLevel::as_str,
        );
        assert_eq!(stored, "district,township");
        assert_eq!(
            parse_stored(&stored, DeputyLevel::parse),
            vec![DeputyLevel::District, DeputyLevel::Township]
        );
    }
}
