//! The demo district as plain data, generated from a fixed seed before anything touches
//! the database. Rows refer to each other by index into the plan's vectors; the loader
//! turns indexes into database ids.

use super::names::{self, Rng};
use std::collections::HashSet;

pub const DISTRICT_NAME: &str = "明湖区";
pub const SEED: u64 = 0x5949_4455_2026_0002;
pub const TOWNSHIPS: usize = 8;
pub const COMMUNITIES: usize = 60;
pub const GRIDS_PER_COMMUNITY: usize = 4;
pub const STATIONS: usize = 20;
pub const DEPUTIES: usize = 300;

/// Codes use the registry's unambiguous alphabet (no 0/O, 1/I/L).
const CODE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
const CODE_LEN: usize = 8;

#[derive(Debug, Clone, PartialEq)]
pub struct PRegion {
    pub level: &'static str,
    pub name: String,
    pub parent: Option<usize>,
    pub geojson: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PStation {
    pub region: usize,
    pub code: String,
    pub kind: &'static str,
    pub name: String,
    pub address: String,
    pub opening_hours: String,
    pub reception_schedule: String,
    pub partners: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PDeputy {
    pub region: usize,
    pub code: String,
    pub name: String,
    pub gender: &'static str,
    pub levels: String,
    pub term: String,
    pub sector: String,
    pub duties: String,
    pub phone: String,
    pub stations: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PUnit {
    pub region: usize,
    pub kind: &'static str,
    pub name: String,
    pub contact_name: String,
    pub contact_phone: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PCommittee {
    pub name: String,
    pub contact_name: String,
    pub contact_phone: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// District first, then townships, communities, grids (parents before children).
    pub regions: Vec<PRegion>,
    pub townships: Vec<usize>,
    pub stations: Vec<PStation>,
    /// Index of the station the demo station and deputy users belong to.
    pub first_station: usize,
    pub deputies: Vec<PDeputy>,
    pub units: Vec<PUnit>,
    pub committees: Vec<PCommittee>,
}

/// District departments (区政府工作部门), the housing bureau first: the demo handler
/// account `dept1` belongs to it.
const DEPARTMENTS: &[&str] = &[
    "住房和城乡建设局",
    "教育局",
    "卫生健康局",
    "发展和改革局",
    "经济和信息化局",
    "科学技术局",
    "民政局",
    "司法局",
    "财政局",
    "人力资源和社会保障局",
    "自然资源和规划分局",
    "生态环境分局",
    "交通运输局",
    "农业农村局",
    "水利局",
    "商务局",
    "文化和旅游局",
    "退役军人事务局",
    "应急管理局",
    "审计局",
    "市场监督管理局",
    "统计局",
    "医疗保障局",
    "城市管理局",
    "公安分局",
    "信访局",
    "数据资源管理局",
    "综合行政执法局",
];

/// The district's 一府一委两院: (name, unit kind).
const GOVERNMENT_BODIES: &[(&str, &str)] = &[
    ("人民政府", "government"),
    ("监察委员会", "supervision_commission"),
    ("人民法院", "court"),
    ("人民检察院", "procuratorate"),
];

/// The standing committee's working committees (工委).
pub const COMMITTEES: &[&str] = &[
    "法制工委",
    "财经工委",
    "社会建设工委",
    "城建环保工委",
    "代表工委",
];
/// The committee the demo committee user belongs to (it follows up livelihood issues).
pub const COMMITTEE_FOR_DEMO_USER: &str = "社会建设工委";

const SECTORS: &[&str] = &[
    "工人",
    "农民",
    "专业技术人员",
    "企业负责人",
    "党政机关干部",
    "社区工作者",
    "教育工作者",
    "医务工作者",
    "个体工商户",
    "退役军人",
    "村（社区）干部",
    "律师",
];

const CONCERNS: &[&str] = &[
    "教育",
    "养老服务",
    "医疗卫生",
    "交通出行",
    "生态环境",
    "老旧小区改造",
    "乡村振兴",
    "食品安全",
    "就业创业",
    "基层治理",
    "农村饮水",
    "垃圾分类",
    "停车难",
    "托育服务",
    "防汛抗旱",
    "营商环境",
];

/// Posts some deputies hold, shown among their duties.
const POSTS: &[&str] = &[
    "区人大常委会委员",
    "区人大法制委员会委员",
    "区人大财政经济委员会委员",
    "区人大社会建设委员会委员",
    "区人大城建环保委员会委员",
    "所在代表小组组长",
];

fn code(rng: &mut Rng, taken: &mut HashSet<String>) -> String {
    loop {
        let c: String = (0..CODE_LEN)
            .map(|_| CODE_ALPHABET[rng.below(CODE_ALPHABET.len())] as char)
            .collect();
        if taken.insert(c.clone()) {
            return c;
        }
    }
}

/// A square polygon of about 200 m around a point, as a GeoJSON geometry.
fn square(lon: f64, lat: f64) -> String {
    let d = 0.002;
    format!(
        r#"{{"type":"Polygon","coordinates":[[[{:.6},{:.6}],[{:.6},{:.6}],[{:.6},{:.6}],[{:.6},{:.6}],[{:.6},{:.6}]]]}}"#,
        lon,
        lat,
        lon + d,
        lat,
        lon + d,
        lat + d,
        lon,
        lat + d,
        lon,
        lat
    )
}

fn phone(rng: &mut Rng) -> String {
    let prefix = ["139", "138", "137", "135", "158", "186", "189", "177"];
    format!("{}{:08}", rng.pick(&prefix), rng.below(100_000_000))
}

fn office_phone(rng: &mut Rng) -> String {
    format!("8{:07}", rng.below(10_000_000))
}

/// Generates the whole district from the fixed seed.
pub fn generate() -> Plan {
    let mut rng = Rng::new(SEED);
    let mut codes = HashSet::new();
    let mut people = HashSet::new();
    let mut places = HashSet::new();
    let mut regions = vec![PRegion {
        level: "district",
        name: DISTRICT_NAME.to_string(),
        parent: None,
        geojson: None,
    }];

    // Townships: four subdistricts (街道, urban) then four towns (镇, rural).
    let mut sub_stems = names::SUBDISTRICT_STEMS.to_vec();
    let mut town_stems = names::TOWN_STEMS.to_vec();
    rng.shuffle(&mut sub_stems);
    rng.shuffle(&mut town_stems);
    let mut townships = Vec::new();
    for t in 0..TOWNSHIPS {
        let name = if t < TOWNSHIPS / 2 {
            format!("{}街道", sub_stems[t])
        } else {
            format!("{}镇", town_stems[t - TOWNSHIPS / 2])
        };
        places.insert(name.clone());
        townships.push(regions.len());
        regions.push(PRegion {
            level: "township",
            name,
            parent: Some(0),
            geojson: None,
        });
    }
    let is_town = |t: usize| t >= TOWNSHIPS / 2;

    // Communities and villages: 60 spread over the townships (8 or 7 each).
    let mut communities_of: Vec<Vec<usize>> = vec![Vec::new(); TOWNSHIPS];
    for c in 0..COMMUNITIES {
        let t = c % TOWNSHIPS;
        // A town's first is the town-centre community; its others are villages.
        let name = if !is_town(t) || communities_of[t].is_empty() {
            names::community(&mut rng, &mut places)
        } else {
            names::village(&mut rng, &mut places)
        };
        communities_of[t].push(regions.len());
        regions.push(PRegion {
            level: "community",
            name,
            parent: Some(townships[t]),
            geojson: None,
        });
    }

    // Grids: four per community; every fourth carries a square polygon.
    let community_idx: Vec<usize> = communities_of.iter().flatten().copied().collect();
    let mut grid_no = 0;
    for (ci, &c) in community_idx.iter().enumerate() {
        for g in 0..GRIDS_PER_COMMUNITY {
            let geojson = (grid_no % 4 == 0).then(|| {
                let lon = 118.40 + (ci % 10) as f64 * 0.012 + g as f64 * 0.0025;
                let lat = 29.60 + (ci / 10) as f64 * 0.012;
                square(lon, lat)
            });
            regions.push(PRegion {
                level: "grid",
                name: format!("第{}网格", names::ORDINALS[g]),
                parent: Some(c),
                geojson,
            });
            grid_no += 1;
        }
    }

    let (stations, first_station, points_of) =
        stations(&mut rng, &mut codes, &regions, &townships, &communities_of);
    let deputies = deputies(
        &mut rng,
        &mut codes,
        &mut people,
        &regions,
        &townships,
        &communities_of,
        &stations,
        &points_of,
    );

    // Handling units: departments, 一府一委两院, then the township governments.
    let mut units = Vec::new();
    for d in DEPARTMENTS {
        units.push(PUnit {
            region: 0,
            kind: "government_department",
            name: format!("{DISTRICT_NAME}{d}"),
            contact_name: contact(&mut rng, &mut people),
            contact_phone: office_phone(&mut rng),
        });
    }
    for (n, kind) in GOVERNMENT_BODIES {
        units.push(PUnit {
            region: 0,
            kind,
            name: format!("{DISTRICT_NAME}{n}"),
            contact_name: contact(&mut rng, &mut people),
            contact_phone: office_phone(&mut rng),
        });
    }
    for (t, &ti) in townships.iter().enumerate() {
        let tn = &regions[ti].name;
        let name = if is_town(t) {
            format!("{tn}人民政府")
        } else {
            format!("{tn}办事处")
        };
        units.push(PUnit {
            region: ti,
            kind: "township_government",
            name,
            contact_name: contact(&mut rng, &mut people),
            contact_phone: office_phone(&mut rng),
        });
    }

    let committees = COMMITTEES
        .iter()
        .map(|n| PCommittee {
            name: n.to_string(),
            contact_name: contact(&mut rng, &mut people),
            contact_phone: office_phone(&mut rng),
        })
        .collect();

    Plan {
        regions,
        townships,
        stations,
        first_station,
        deputies,
        units,
        committees,
    }
}

/// A contact person of a unit or committee.
fn contact(rng: &mut Rng, people: &mut HashSet<String>) -> String {
    let female = rng.chance(0.45);
    names::unique_person(rng, female, people)
}

/// One hub at the district, one station per township, and liaison points in some
/// communities (20 in all). Returns the stations, the index of the first township's
/// station, and per township the indexes of its points.
fn stations(
    rng: &mut Rng,
    codes: &mut HashSet<String>,
    regions: &[PRegion],
    townships: &[usize],
    communities_of: &[Vec<usize>],
) -> (Vec<PStation>, usize, Vec<Vec<usize>>) {
    let mut out = vec![PStation {
        region: 0,
        code: code(rng, codes),
        kind: "hub",
        name: format!("{DISTRICT_NAME}人大代表联络总站"),
        address: format!("{DISTRICT_NAME}明湖大道1号 区社会治理中心一楼"),
        opening_hours: "周一至周五 8:30—12:00，14:00—17:30".into(),
        reception_schedule:
            "每月15日为区人大代表集中接待日（9:00—11:30），区人大常委会组成人员轮流进站；\
                             其余工作日有工作人员值守，可随时来访登记"
                .into(),
        partners: "social_governance,civilization_practice,party_service".into(),
    }];
    let days = [
        (5, 20),
        (8, 23),
        (10, 25),
        (12, 26),
        (6, 21),
        (9, 24),
        (11, 27),
        (3, 18),
    ];
    for (t, &ti) in townships.iter().enumerate() {
        let tn = &regions[ti].name;
        let (d1, d2) = days[t % days.len()];
        let partners = if rng.chance(0.5) {
            "party_service,civilization_practice"
        } else {
            "party_service"
        };
        out.push(PStation {
            region: ti,
            code: code(rng, codes),
            kind: "station",
            name: format!("{tn}人大代表联络站"),
            address: format!(
                "{DISTRICT_NAME}{tn}{}{}号 {tn}党群服务中心二楼",
                rng.pick(names::ROADS),
                10 + rng.below(290)
            ),
            opening_hours: "周一至周五 8:30—12:00，14:00—17:30".into(),
            reception_schedule: format!("每月{d1}日、{d2}日上午 9:00—11:30 代表轮流接待选民"),
            partners: partners.into(),
        });
    }
    let first_station = 1;
    // Eleven liaison points, in the townships' first villages and communities.
    let weekdays = ["二", "三", "四", "五", "六"];
    let weeks = ["一", "二", "三"];
    let mut points_of = vec![Vec::new(); townships.len()];
    let mut k = 0;
    while out.len() < STATIONS {
        let t = k % townships.len();
        let c = communities_of[t][1 + k / townships.len()];
        let cn = &regions[c].name;
        points_of[t].push(out.len());
        out.push(PStation {
            region: c,
            code: code(rng, codes),
            kind: "point",
            name: format!("{cn}代表联络点"),
            address: format!(
                "{DISTRICT_NAME}{}{cn}党群服务中心一楼",
                regions[townships[t]].name
            ),
            opening_hours: format!(
                "每周{}、周{} 9:00—11:30",
                weekdays[k % 3],
                weekdays[2 + k % 3]
            ),
            reception_schedule: format!(
                "每月第{}个周{}上午 代表进点接待",
                weeks[k % weeks.len()],
                weekdays[k % weekdays.len()]
            ),
            partners: "party_service".into(),
        });
        k += 1;
    }
    (out, first_station, points_of)
}

/// The congress terms (届) in office, by level.
fn term_of(level: &str) -> &'static str {
    match level {
        "national" | "provincial" => "第十四届",
        "city" => "第十六届",
        "district" => "第十八届",
        _ => "第十九届",
    }
}

fn level_prefix(level: &str) -> &'static str {
    match level {
        "national" => "全国",
        "provincial" => "省",
        "city" => "市",
        "district" => "区",
        _ => "镇",
    }
}

#[allow(clippy::too_many_arguments)]
fn deputies(
    rng: &mut Rng,
    codes: &mut HashSet<String>,
    people: &mut HashSet<String>,
    regions: &[PRegion],
    townships: &[usize],
    communities_of: &[Vec<usize>],
    stations: &[PStation],
    points_of: &[Vec<usize>],
) -> Vec<PDeputy> {
    let half = townships.len() / 2;
    let mut out: Vec<PDeputy> = Vec::with_capacity(DEPUTIES);
    for i in 0..DEPUTIES {
        let r = rng.unit();
        // Subdistricts (街道) have no congress of their own: township deputies live in towns.
        let (mut levels, town_only): (&[&str], bool) = if r < 0.40 {
            (&["township"], true)
        } else if r < 0.76 {
            (&["district"], false)
        } else if r < 0.85 {
            (&["district", "township"], true)
        } else if r < 0.93 {
            (&["city", "district"], false)
        } else if r < 0.975 {
            (&["provincial", "district"], false)
        } else if r < 0.993 {
            (&["city"], false)
        } else {
            (&["national", "provincial"], false)
        };
        // The first deputies live in the first township (a subdistrict, so district
        // deputies), so that the demo station and deputy users find people there.
        let t = if i < 12 {
            if levels.contains(&"township") {
                levels = &["district"];
            }
            0
        } else if town_only {
            half + rng.below(half)
        } else {
            rng.below(townships.len())
        };
        let region = if rng.chance(0.7) {
            *rng.pick(&communities_of[t])
        } else {
            townships[t]
        };

        // Stations: the point of their own community if there is one, else the
        // township's station; some district-level deputies also serve at the hub.
        let township_station = 1 + t;
        let own_point = points_of[t]
            .iter()
            .copied()
            .find(|&p| stations[p].region == region);
        let mut st = vec![own_point.unwrap_or(township_station)];
        if i < 12 {
            st = vec![township_station];
        }
        let above_township = levels.iter().any(|l| *l != "township");
        if above_township && rng.chance(0.25) {
            st.push(0);
        } else if st[0] != township_station && rng.chance(0.3) {
            st.push(township_station);
        }

        let female = rng.chance(0.4);
        let name = names::unique_person(rng, female, people);
        let term = if levels.len() == 1 {
            term_of(levels[0]).to_string()
        } else {
            levels
                .iter()
                .map(|l| format!("{}{}", level_prefix(l), term_of(l)))
                .collect::<Vec<_>>()
                .join("、")
        };
        let sector = rng.pick_common(SECTORS).to_string();
        let mut concerns: Vec<&str> = CONCERNS.to_vec();
        rng.shuffle(&mut concerns);
        let home = &regions[region].name;
        let first_station_name = &stations[st[0]].name;
        let mut duties = format!(
            "联系{home}选民，定期到{first_station_name}接待选民，听取和反映群众意见建议；\n\
             参加人大会议，审议报告，依法提出议案和建议；\n\
             重点关注：{}、{}",
            concerns[0], concerns[1]
        );
        if above_township && rng.chance(0.15) {
            duties.push_str(&format!("；\n兼任{}", rng.pick(POSTS)));
        }
        out.push(PDeputy {
            region,
            code: code(rng, codes),
            name,
            gender: if female { "female" } else { "male" },
            levels: levels.join(","),
            term,
            sector,
            duties,
            phone: phone(rng),
            stations: st,
        });
    }
    // Every station gets somebody: an empty point borrows a deputy of its township.
    for s in 0..stations.len() {
        if out.iter().any(|d| d.stations.contains(&s)) {
            continue;
        }
        let parent = if s == 0 {
            None
        } else {
            regions[stations[s].region].parent
        };
        if let Some(d) = out.iter_mut().find(|d| {
            d.stations.len() < 2
                && (parent.is_none()
                    || regions[d.region].parent == parent
                    || Some(d.region) == parent)
        }) {
            d.stations.push(s);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_is_deterministic_and_complete() {
        let a = generate();
        assert_eq!(a, generate());
        let level = |l: &str| a.regions.iter().filter(|r| r.level == l).count();
        assert_eq!((level("district"), level("township")), (1, TOWNSHIPS));
        assert_eq!((level("community"), level("grid")), (COMMUNITIES, 240));
        assert_eq!((a.stations.len(), a.deputies.len()), (STATIONS, DEPUTIES));
        assert_eq!((a.units.len(), a.committees.len()), (40, 5));
        // Township deputies only in towns (街道 have no township congress).
        for d in a.deputies.iter().filter(|d| d.levels.contains("township")) {
            let mut r = d.region;
            while a.regions[r].level != "township" {
                r = a.regions[r].parent.unwrap();
            }
            assert!(
                a.regions[r].name.ends_with('镇'),
                "{} in {}",
                d.name,
                a.regions[r].name
            );
        }
    }
}
