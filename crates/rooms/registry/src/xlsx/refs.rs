//! Finding regions and stations by the names people write in spreadsheets: a region as
//! the end of its name path ("东社区", "一镇/东社区" or the full "测试区/一镇/东社区"),
//! a station by its name. Ambiguous names must be written out further.

use crate::model::{Region, RegionLevel, Station};

/// Where a referenced region comes from: the database, or an earlier row of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Existing(i64),
    /// The spreadsheet row that creates it.
    New(u32),
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub key: Key,
    pub names: Vec<String>,
    pub level: RegionLevel,
}

#[derive(Debug, Default)]
pub struct RegionIndex {
    pub entries: Vec<Entry>,
}

/// Why a name could not be resolved: (zh, en).
pub type Miss = (String, String);

pub fn split_path(s: &str) -> Vec<String> {
    s.split(['/', '／', '\\'])
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

impl RegionIndex {
    pub fn new(regions: &[Region]) -> RegionIndex {
        RegionIndex {
            entries: regions
                .iter()
                .filter(|r| !r.retired)
                .map(|r| Entry {
                    key: Key::Existing(r.id),
                    names: split_path(&r.full_name),
                    level: r.level,
                })
                .collect(),
        }
    }

    pub fn resolve(&self, written: &str) -> Result<&Entry, Miss> {
        let want = split_path(written);
        if want.is_empty() {
            return Err(("不能为空".into(), "must not be empty".into()));
        }
        let found: Vec<&Entry> = self
            .entries
            .iter()
            .filter(|e| e.names.ends_with(&want))
            .collect();
        match found.len() {
            1 => Ok(found[0]),
            0 => Err((
                format!("找不到区域“{written}”（或不在您的范围内）"),
                format!("no region \"{written}\" (or it is outside your scope)"),
            )),
            n => Err((
                format!("有 {n} 个区域都叫“{written}”，请写出上级区域，如“镇名/社区名”"),
                format!("{n} regions are called \"{written}\"; write the parent too, e.g. \"township/community\""),
            )),
        }
    }

    pub fn add(&mut self, key: Key, parent_names: &[String], name: &str, level: RegionLevel) {
        let mut names = parent_names.to_vec();
        names.push(name.to_string());
        self.entries.push(Entry { key, names, level });
    }
}

/// Active stations by name.
pub struct StationIndex<'a> {
    pub stations: &'a [Station],
}

impl StationIndex<'_> {
    /// A station by its name, or "region path/station name" when names repeat.
    pub fn resolve(&self, written: &str) -> Result<i64, Miss> {
        let parts = split_path(written);
        let Some((name, region)) = parts.split_last() else {
            return Err(("联络站名称为空".into(), "empty station name".into()));
        };
        let found: Vec<&Station> = self
            .stations
            .iter()
            .filter(|s| {
                !s.retired && s.name == *name && split_path(&s.region.full_name).ends_with(region)
            })
            .collect();
        match found.len() {
            1 => Ok(found[0].id),
            0 => Err((
                format!("找不到联络站“{written}”（或不在您的范围内）"),
                format!("no station \"{written}\" (or it is outside your scope)"),
            )),
            n => Err((
                format!("有 {n} 个联络站都叫“{written}”，请写成“区域/站名”"),
                format!("{n} stations are called \"{written}\"; write \"region/station\""),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx() -> RegionIndex {
        let mut i = RegionIndex::default();
        i.add(Key::Existing(1), &[], "区", RegionLevel::District);
        i.add(
            Key::Existing(2),
            &["区".into()],
            "一镇",
            RegionLevel::Township,
        );
        i.add(
            Key::Existing(3),
            &["区".into()],
            "二镇",
            RegionLevel::Township,
        );
        i.add(
            Key::Existing(4),
            &["区".into(), "一镇".into()],
            "新村",
            RegionLevel::Community,
        );
        i.add(
            Key::New(7),
            &["区".into(), "二镇".into()],
            "新村",
            RegionLevel::Community,
        );
        i
    }

    #[test]
    fn resolves_by_the_end_of_the_path() {
        let i = idx();
        assert_eq!(i.resolve("一镇").unwrap().key, Key::Existing(2));
        assert_eq!(i.resolve("一镇/新村").unwrap().key, Key::Existing(4));
        assert_eq!(i.resolve(" 区 / 二镇 / 新村 ").unwrap().key, Key::New(7));
        assert!(i.resolve("新村").unwrap_err().0.contains("2 个区域"));
        assert!(i.resolve("三镇").is_err());
        assert!(i.resolve("").is_err());
    }
}
