//! Plausible Chinese names for the demo district, built from character lists written for
//! yidu, and the small seeded random generator that picks from them. The same seed
//! always gives the same district, on every machine and every database.

use std::collections::HashSet;

/// SplitMix64: tiny, fast, and good enough to pick names; never used for secrets.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// A number in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// Picks with a bias towards the front of the list (lists are ordered common first).
    pub fn pick_common<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        let u = self.unit();
        &items[((u * u) * items.len() as f64) as usize]
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

/// Family names, roughly most common first.
const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "林", "高", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "肖", "田", "董", "潘", "袁", "蔡", "蒋", "余", "于", "杜", "叶", "程", "魏", "苏", "吕", "丁",
    "任", "卢", "姚", "沈", "钟", "姜", "崔", "谭", "陆", "范", "汪", "廖", "石", "金", "韦", "贾",
    "夏", "傅", "方", "邹", "熊", "白", "孟", "秦", "邱", "侯", "江", "尹", "薛", "段", "雷", "龙",
    "黎", "史", "陶", "贺", "毛", "郝", "顾", "龚", "邵", "万", "钱", "戴", "严", "欧阳", "上官",
];

/// Characters used in given names of either gender.
const GIVEN_SHARED: &[&str] = &[
    "建", "国", "明", "华", "文", "海", "新", "永", "春", "德", "立", "学", "光", "东", "成", "荣",
    "兴", "宏", "晓", "金", "林", "云", "君", "思", "宇", "佳", "嘉", "家", "博", "天", "一", "远",
    "志", "雨", "晨", "安", "清", "子",
];

const GIVEN_MALE: &[&str] = &[
    "强", "刚", "勇", "斌", "磊", "涛", "峰", "鹏", "飞", "杰", "军", "超", "波", "亮", "辉", "龙",
    "彬", "鑫", "健", "伟", "平", "俊", "浩", "洋", "毅", "坤", "松", "航", "凯", "昊",
];

const GIVEN_FEMALE: &[&str] = &[
    "芳", "丽", "娟", "敏", "静", "燕", "艳", "霞", "玲", "萍", "红", "英", "梅", "琳", "洁", "慧",
    "颖", "婷", "雪", "莉", "倩", "兰", "秀", "珍", "凤", "琴", "薇", "悦", "怡", "欣",
];

/// A person's name; `female` picks characters more often given to women.
pub fn person(rng: &mut Rng, female: bool) -> String {
    let surname = *rng.pick_common(SURNAMES);
    let gendered = if female { GIVEN_FEMALE } else { GIVEN_MALE };
    let last = *rng.pick(gendered);
    if rng.chance(0.3) {
        format!("{surname}{last}")
    } else {
        let first = if rng.chance(0.6) {
            *rng.pick(GIVEN_SHARED)
        } else {
            *rng.pick(gendered)
        };
        if first == last {
            // Reduplicated names (婷婷) exist but read as nicknames on a deputy's badge.
            format!("{surname}{first}{}", rng.pick(GIVEN_SHARED))
        } else {
            format!("{surname}{first}{last}")
        }
    }
}

/// A name not yet in `taken` (adds it).
pub fn unique_person(rng: &mut Rng, female: bool, taken: &mut HashSet<String>) -> String {
    loop {
        let n = person(rng, female);
        if taken.insert(n.clone()) {
            return n;
        }
    }
}

/// First halves of subdistrict (街道) names: urban, after landmarks and old gates.
pub const SUBDISTRICT_STEMS: &[&str] = &[
    "湖滨", "明德", "城东", "城西", "西园", "南门", "文昌", "望江", "北关", "鼓楼",
];
/// First halves of town (镇) names: after hills, rivers and bridges.
pub const TOWN_STEMS: &[&str] = &[
    "青山", "柳溪", "白沙", "石桥", "龙泉", "梅岭", "桃源", "双河", "横塘", "枫林",
];

/// Parts of urban community (社区) names.
const COMMUNITY_HEADS: &[&str] = &[
    "金", "银", "翠", "新", "安", "和", "福", "丰", "清", "长", "永", "兴", "锦", "华", "景", "春",
    "秀", "宝", "泰", "嘉", "瑞", "康", "丽", "惠", "朝", "晨",
];
const COMMUNITY_TAILS: &[&str] = &[
    "桥", "塘", "湾", "园", "苑", "坊", "湖", "庄", "岭", "溪", "坪", "林", "港", "泉", "门", "阳",
    "河", "江", "亭", "苑",
];
/// Village (村) name endings after a family name, e.g. 王家桥村.
const VILLAGE_TAILS: &[&str] = &["桥", "湾", "坞", "埠", "塘", "岙", "畈", "圩", "店", "庄"];
/// Village names after the landscape, e.g. 上溪村.
const VILLAGE_HEADS: &[&str] = &[
    "上", "下", "前", "后", "东", "西", "南", "北", "大", "小", "高", "里", "外", "中",
];
const VILLAGE_LAND: &[&str] = &["溪", "岭", "山", "坑", "田", "源", "湖", "坂", "洋", "垟"];

/// A community name such as 锦园社区, not yet in `taken`.
pub fn community(rng: &mut Rng, taken: &mut HashSet<String>) -> String {
    loop {
        let n = format!(
            "{}{}社区",
            rng.pick(COMMUNITY_HEADS),
            rng.pick(COMMUNITY_TAILS)
        );
        if taken.insert(n.clone()) {
            return n;
        }
    }
}

/// A village name such as 陈家湾村 or 上溪村, not yet in `taken`.
pub fn village(rng: &mut Rng, taken: &mut HashSet<String>) -> String {
    loop {
        let n = if rng.chance(0.6) {
            let surname = rng.pick_common(&SURNAMES[..40]);
            format!("{surname}家{}村", rng.pick(VILLAGE_TAILS))
        } else {
            format!("{}{}村", rng.pick(VILLAGE_HEADS), rng.pick(VILLAGE_LAND))
        };
        if taken.insert(n.clone()) {
            return n;
        }
    }
}

/// Streets for addresses.
pub const ROADS: &[&str] = &[
    "人民路",
    "建设路",
    "文化路",
    "解放街",
    "新华路",
    "湖滨路",
    "明湖大道",
    "学府路",
    "迎宾大道",
    "长安街",
    "青年路",
    "工业路",
    "健康路",
    "和平路",
    "环城东路",
    "环城西路",
    "振兴路",
    "富民路",
];

/// Chinese numerals for grid names (第一网格 …).
pub const ORDINALS: &[&str] = &["一", "二", "三", "四", "五", "六", "七", "八", "九", "十"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_names() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        let na: Vec<String> = (0..50).map(|i| person(&mut a, i % 2 == 0)).collect();
        let nb: Vec<String> = (0..50).map(|i| person(&mut b, i % 2 == 0)).collect();
        assert_eq!(na, nb);
        assert!(na.iter().all(|n| (2..=4).contains(&n.chars().count())));
    }
}
