//! The demo district's history: a deterministic two years of citizens' opinions in every
//! state, with timelines, deadlines on the holiday calendar and ratings, written with
//! multi-row INSERTs in batches, then counted for the cockpit with
//! `yidu_cockpit::counters::rebuild`. Texts are composed from the phrase lists below.
//! Also the cockpit's view of an item ([`cockpit_item`]), used by the moves.

use crate::service::submit::query_hash;
use crate::service::Opinions;
use crate::store::OpinionRow;
use std::collections::HashMap;
use yidu_db::Row;

/// The cockpit's view of a stored item.
pub fn cockpit_item(r: &OpinionRow) -> yidu_cockpit::Item {
    yidu_cockpit::Item {
        created_at: r.created_at,
        region_path: r.region_path.clone(),
        grid_id: r.grid_id,
        category_id: r.category_id,
        station_id: r.station_id,
        status: r.status.as_str().to_string(),
        accepted_at: r.accepted_at,
        replied_at: r.replied_at,
        closed_at: r.closed_at,
        satisfaction: r
            .satisfaction
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
    }
}

/// splitmix64: small, fast and the same on every platform.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }
}

const PLACES: &[&str] = &[
    "小区东门",
    "小区北门",
    "3号楼",
    "7号楼楼道",
    "菜市场门口",
    "幼儿园附近",
    "公交站旁",
    "社区卫生服务站旁",
    "老旧小区内",
    "十字路口",
    "河道边",
    "街心公园",
    "地下通道",
    "小学门口",
    "农贸市场后街",
    "村委会旁",
    "停车场",
    "健身广场",
    "垃圾中转站",
    "沿街商铺前",
];
const PROBLEMS: &[(&str, &str)] = &[
    ("路灯不亮", "晚上一片漆黑，老人孩子出行不安全"),
    ("下水道堵塞", "一下雨就积水，污水漫到路面上"),
    ("垃圾清运不及时", "垃圾堆了好几天，气味很大"),
    ("道路坑洼", "电动车经过容易摔倒"),
    ("违章停车占道", "消防通道被堵，救护车进不来"),
    ("噪音扰民", "夜间施工一直到十一点以后"),
    ("井盖破损", "有行人差点踩空"),
    ("楼道堆物", "杂物堆满楼道，存在火灾隐患"),
    ("电梯经常故障", "一个月停了三次，高层老人上下楼困难"),
    ("绿化带缺乏养护", "杂草丛生，蚊虫很多"),
    ("油烟扰民", "底商餐馆油烟直排，居民不敢开窗"),
    ("缺少无障碍坡道", "轮椅和婴儿车进出不便"),
    ("自来水水压低", "高峰时段楼上基本没水"),
    ("流浪犬伤人隐患", "几只流浪狗在附近游荡"),
    ("公厕卫生差", "长期无人打扫"),
    ("充电桩不足", "电动车只能飞线充电"),
    ("路口缺少红绿灯", "上下学时段车多人多很危险"),
    ("暖气不热", "室温只有十几度"),
    ("占道经营", "摊贩把人行道占满了"),
    ("健身器材损坏", "器材松动，存在安全隐患"),
];
const OPENINGS: &[&str] = &[
    "我是附近居民，",
    "反映一个情况：",
    "您好，",
    "代表您好，",
    "希望有关部门关注：",
    "",
];
const ASKS: &[&str] = &[
    "希望尽快处理。",
    "请有关部门协调解决。",
    "已经反映过一次，还没有解决，希望督促。",
    "麻烦派人来看看。",
    "谢谢！",
];
const REPLIES: &[&str] = &[
    "经现场核实，已安排相关单位处理完毕，感谢您的反映。",
    "已协调责任单位于近日整改到位，后续将加强日常巡查。",
    "该问题已纳入本年度改造计划，施工期间请您谅解。",
    "已联系物业公司落实整改，社区将持续跟进。",
    "经核查，相关部门已完成维修，如仍有问题请再次反映。",
];
const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "马", "朱",
];
const GIVEN: &[&str] = &[
    "秀英", "建国", "丽", "伟", "芳", "军", "静", "磊", "敏", "强", "桂兰", "志明", "海燕", "洋",
];

const DAY_MS: i64 = 86_400_000;

struct Place {
    grid_id: i64,
    path: String,
    district_id: Option<i64>,
    station_id: Option<i64>,
}

/// One generated item and its events.
struct Gen {
    tracking_no: String,
    query_hash: String,
    channel: &'static str,
    channel_ref: String,
    station_id: Option<i64>,
    region_id: i64,
    region_path: String,
    district_id: Option<i64>,
    grid_id: i64,
    category_id: Option<i64>,
    title: String,
    body: String,
    address: String,
    name_enc: String,
    phone_enc: String,
    phone_index: String,
    status: &'static str,
    level: &'static str,
    unit_id: Option<i64>,
    deadline_at: Option<i64>,
    accepted_at: Option<i64>,
    replied_at: Option<i64>,
    closed_at: Option<i64>,
    reply_text: String,
    satisfaction: &'static str,
    reopen_count: i64,
    converted_kind: &'static str,
    created_at: i64,
    updated_at: i64,
    events: Vec<GenEvent>,
}

/// (at, actor_role, actor_name, action, from, to, note, unit_id)
type GenEvent = (
    i64,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    String,
    Option<i64>,
);

async fn places(o: &Opinions) -> anyhow::Result<Vec<Place>> {
    let stations: Vec<(i64, String)> = sqlx::query(
        "SELECT s.id, r.path FROM stations s JOIN regions r ON r.id = s.region_id ORDER BY s.id",
    )
    .fetch_all(o.db.pool())
    .await?
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect();
    let mut rows = sqlx::query("SELECT id, path, district_id FROM regions WHERE level = 'grid' AND retired = 0 ORDER BY id")
        .fetch_all(o.db.pool())
        .await?;
    if rows.is_empty() {
        rows = sqlx::query("SELECT id, path, district_id FROM regions WHERE level = 'community' AND retired = 0 ORDER BY id")
            .fetch_all(o.db.pool())
            .await?;
    }
    Ok(rows
        .iter()
        .map(|r| {
            let path: String = r.get(1);
            // The station closest to the grid: the one whose region is its deepest ancestor.
            let station_id = stations
                .iter()
                .filter(|(_, sp)| path.starts_with(sp.as_str()))
                .max_by_key(|(_, sp)| sp.len())
                .map(|s| s.0);
            Place {
                grid_id: r.get(0),
                path,
                district_id: r.get(2),
                station_id,
            }
        })
        .collect())
}

fn region_id_of(path: &str) -> i64 {
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Loads `n` items spread over the two years before now; returns how many were written.
pub async fn load_history(o: &Opinions, n: usize, seed: u64) -> anyhow::Result<usize> {
    let places = places(o).await?;
    anyhow::ensure!(
        !places.is_empty(),
        "the demo history needs grids or communities in the registry"
    );
    let categories: Vec<i64> = sqlx::query(
        "SELECT id FROM categories WHERE retired = 0 AND parent_id IS NOT NULL ORDER BY id",
    )
    .fetch_all(o.db.pool())
    .await?
    .iter()
    .map(|r| r.get(0))
    .collect();
    let units: Vec<i64> = sqlx::query("SELECT id FROM units ORDER BY id")
        .fetch_all(o.db.pool())
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let now = yidu_kernel::clock::now_ms();
    let start = now - 730 * DAY_MS;
    let mut rng = Rng(seed ^ 0x005E_ED0F_0D1E);
    let mut written = 0;
    let batch = 400;
    let mut i = 0;
    while i < n {
        let m = batch.min(n - i);
        let mut items = Vec::with_capacity(m);
        for k in 0..m {
            items.push(generate(
                o,
                &mut rng,
                seed,
                i + k,
                n,
                start,
                now,
                &places,
                &categories,
                &units,
            ));
        }
        written += insert_batch(o, &items).await?;
        i += m;
    }
    yidu_cockpit::counters::rebuild(&o.db, &o.calendar, o.config.reply_days).await?;
    Ok(written)
}

/// The query code of demo item `idx` of the history generated with `seed`: each item
/// has its own, derived (not random) so the demo can tell people one to try and a
/// reloaded demo gives the same codes. The alphabet is the receipts' one.
pub fn query_code(seed: u64, idx: usize) -> String {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    let mut r = Rng(seed.rotate_left(17) ^ (idx as u64).wrapping_mul(0x2545_F491_4F6C_DD1D));
    (0..6)
        .map(|_| ALPHABET[r.below(ALPHABET.len())] as char)
        .collect()
}

/// A demo item to try the tracking page with: the tracking number and query code of a
/// replied item waiting for its rating (else of any item), from the history made with
/// `seed`. None when there is no history.
pub async fn tracking_sample(o: &Opinions, seed: u64) -> anyhow::Result<Option<(String, String)>> {
    let row = sqlx::query(
        "SELECT tracking_no FROM opinions WHERE tracking_no LIKE 'D%'
         ORDER BY CASE WHEN status = 'replied' THEN 0 ELSE 1 END, created_at DESC LIMIT 1",
    )
    .fetch_optional(o.db.pool())
    .await?;
    Ok(row.and_then(|r| {
        let no: String = r.get(0);
        // The last six digits of a demo tracking number are the item's number.
        let idx: usize = no.get(no.len().saturating_sub(6)..)?.parse().ok()?;
        Some((no.clone(), query_code(seed, idx)))
    }))
}

#[allow(clippy::too_many_arguments)]
fn generate(
    o: &Opinions,
    rng: &mut Rng,
    seed: u64,
    idx: usize,
    n: usize,
    start: i64,
    now: i64,
    places: &[Place],
    cats: &[i64],
    units: &[i64],
) -> Gen {
    // Items arrive evenly over time, in the day hours, a little more in recent months.
    let t = (idx as f64 + rng.unit()) / n as f64;
    let t = t.powf(0.9);
    let day0 = start + ((now - start - DAY_MS) as f64 * t) as i64;
    let created = day0 - day0.rem_euclid(DAY_MS) - 8 * 3_600_000
        + (8 * 3_600_000 + rng.below(12 * 3_600_000) as i64);
    let created = created.min(now - 60_000);
    let place = &places[(rng.unit().powi(2) * places.len() as f64) as usize % places.len()];
    let (problem, detail) = *rng.pick(PROBLEMS);
    let spot = *rng.pick(PLACES);
    let title = format!("{spot}{problem}");
    let body = format!(
        "{}{spot}{problem}，{detail}。{}",
        rng.pick(OPENINGS),
        rng.pick(ASKS)
    );
    let anonymous = rng.chance(0.35);
    let (name_enc, phone_enc, phone_index) = if anonymous {
        (String::new(), String::new(), String::new())
    } else {
        let name = format!("{}{}", rng.pick(SURNAMES), rng.pick(GIVEN));
        let phone = format!("13{}{:08}", 5 + rng.below(5), rng.below(100_000_000));
        (
            o.keys.seal(&name),
            o.keys.seal(&phone),
            o.keys.blind_index("phone", &phone),
        )
    };
    let tracking_no = format!(
        "D{}{:06}",
        yidu_cockpit::counters::day_of(created) % 1_000_000,
        idx % 1_000_000
    );
    let age_days = (now - created) / DAY_MS;
    let cal = &o.calendar;
    let due = |from: i64, days: u32| cal.due_at_ms(from, days).ok();
    let mut g = Gen {
        query_hash: query_hash(&tracking_no, &query_code(seed, idx)),
        tracking_no,
        channel: if place.station_id.is_some() && rng.chance(0.7) {
            "station_code"
        } else {
            "general"
        },
        channel_ref: String::new(),
        station_id: place.station_id,
        region_id: region_id_of(&place.path),
        region_path: place.path.clone(),
        district_id: place.district_id,
        grid_id: place.grid_id,
        category_id: (!cats.is_empty()).then(|| *rng.pick(cats)),
        title,
        body,
        address: String::new(),
        name_enc,
        phone_enc,
        phone_index,
        status: "submitted",
        level: "",
        unit_id: None,
        deadline_at: due(created, o.config.accept_days),
        accepted_at: None,
        replied_at: None,
        closed_at: None,
        reply_text: String::new(),
        satisfaction: "",
        reopen_count: 0,
        converted_kind: "",
        created_at: created,
        updated_at: created,
        events: vec![(
            created,
            "citizen",
            "群众",
            "submit",
            "submitted",
            "submitted",
            String::new(),
            None,
        )],
    };
    // How far along the loop it got: old items are almost all finished.
    let r = rng.unit();
    let stage = if age_days > 45 {
        match r {
            x if x < 0.03 => 0,  // still open somewhere (overdue)
            x if x < 0.07 => 9,  // rejected
            x if x < 0.10 => 10, // merged
            x if x < 0.12 => 11, // converted
            x if x < 0.20 => 5,  // replied, never rated
            _ => 6,              // rated and closed
        }
    } else {
        match r {
            x if x < 0.12 => 1,
            x if x < 0.25 => 2,
            x if x < 0.35 => 3,
            x if x < 0.55 => 4,
            x if x < 0.58 => 12,
            x if x < 0.60 => 9,
            x if x < 0.75 => 5,
            _ => 6,
        }
    };
    let stage = if stage == 0 { 1 + rng.below(4) } else { stage };
    // The newest items walk through every stage once, so that even a small history shows
    // every state of the loop.
    const EVERY_STAGE: [usize; 10] = [1, 2, 3, 4, 12, 5, 9, 10, 11, 6];
    let stage = match n - idx {
        k if k <= EVERY_STAGE.len() && n >= 2 * EVERY_STAGE.len() => EVERY_STAGE[k - 1],
        _ => stage,
    };
    let mut at = created + 3_600_000 + rng.below((DAY_MS * 2) as usize) as i64;
    let station_actor = "站点工作人员";
    if stage == 1 {
        g.updated_at = created;
        return finish(g, now);
    }
    if stage == 9 {
        g.status = "rejected";
        g.closed_at = Some(at);
        g.deadline_at = None;
        g.events.push((
            at,
            "station",
            station_actor,
            "reject",
            "submitted",
            "rejected",
            "该事项已进入诉讼程序，依法不予受理。".into(),
            None,
        ));
        g.updated_at = at;
        return finish(g, now);
    }
    g.status = "accepted";
    g.accepted_at = Some(at);
    g.level = if rng.chance(0.8) {
        "township"
    } else {
        "district"
    };
    g.deadline_at = due(at, o.config.reply_days);
    g.events.push((
        at,
        "station",
        station_actor,
        "accept",
        "submitted",
        "accepted",
        String::new(),
        None,
    ));
    if stage == 10 {
        at += rng.below(DAY_MS as usize) as i64;
        g.status = "merged";
        g.closed_at = Some(at);
        g.deadline_at = None;
        g.events.push((
            at,
            "township",
            "镇街工作人员",
            "merge",
            "accepted",
            "merged",
            "与同一问题的其他意见合并办理。".into(),
            None,
        ));
        g.updated_at = at;
        return finish(g, now);
    }
    if stage == 11 {
        at += rng.below((DAY_MS * 3) as usize) as i64;
        g.status = "converted";
        g.converted_kind = if rng.chance(0.6) {
            "suggestion"
        } else {
            "supervision"
        };
        g.closed_at = Some(at);
        g.deadline_at = None;
        g.events.push((
            at,
            "office",
            "人大办工作人员",
            "convert",
            "accepted",
            "converted",
            String::new(),
            None,
        ));
        g.updated_at = at;
        return finish(g, now);
    }
    if stage == 12 {
        at += rng.below(DAY_MS as usize) as i64;
        g.status = "escalated";
        g.level = "district";
        g.deadline_at = due(at, o.config.accept_days);
        g.events.push((
            at,
            "station",
            station_actor,
            "escalate",
            "accepted",
            "escalated",
            String::new(),
            None,
        ));
        g.updated_at = at;
        return finish(g, now);
    }
    if stage == 2 {
        g.updated_at = at;
        return finish(g, now);
    }
    let unit = (!units.is_empty() && rng.chance(0.6)).then(|| *rng.pick(units));
    if let Some(u) = unit {
        at += rng.below((DAY_MS / 2) as usize) as i64;
        g.status = "assigned";
        g.unit_id = Some(u);
        g.deadline_at = due(at, o.config.take_days);
        g.events.push((
            at,
            "township",
            "镇街工作人员",
            "assign",
            "accepted",
            "assigned",
            String::new(),
            Some(u),
        ));
        if stage == 3 {
            g.updated_at = at;
            return finish(g, now);
        }
        at += rng.below((DAY_MS * 2) as usize) as i64;
        g.status = "in_progress";
        g.deadline_at = due(at, o.config.reply_days);
        g.events.push((
            at,
            "unit",
            "承办单位",
            "take",
            "assigned",
            "in_progress",
            String::new(),
            Some(u),
        ));
    } else {
        at += rng.below(DAY_MS as usize) as i64;
        g.status = "in_progress";
        g.deadline_at = due(at, o.config.reply_days);
        g.events.push((
            at,
            "station",
            station_actor,
            "start",
            "accepted",
            "in_progress",
            String::new(),
            None,
        ));
    }
    if stage <= 4 {
        g.updated_at = at;
        return finish(g, now);
    }
    // Replies: most within the deadline, some late.
    let span = if rng.chance(0.88) {
        1 + rng.below(18)
    } else {
        22 + rng.below(20)
    } as i64;
    at += span * DAY_MS + rng.below(DAY_MS as usize) as i64;
    if at >= now {
        g.updated_at = g.events.last().map(|e| e.0).unwrap_or(created);
        return finish(g, now);
    }
    g.status = "replied";
    g.replied_at = Some(at);
    g.deadline_at = None;
    g.reply_text = rng.pick(REPLIES).to_string();
    g.events.push((
        at,
        if g.unit_id.is_some() {
            "unit"
        } else {
            "station"
        },
        "办理人",
        "reply",
        "in_progress",
        "replied",
        g.reply_text.clone(),
        g.unit_id,
    ));
    if stage == 5 {
        g.updated_at = at;
        return finish(g, now);
    }
    let rate_at = (at + (1 + rng.below(6)) as i64 * DAY_MS).min(now - 1);
    let r = rng.unit();
    g.satisfaction = if r < 0.78 {
        "satisfied"
    } else if r < 0.94 {
        "basic"
    } else {
        "unsatisfied"
    };
    g.updated_at = rate_at;
    if g.satisfaction == "unsatisfied" && rng.chance(0.5) {
        // Reopened, then handled again.
        g.status = "in_progress";
        g.reopen_count = 1;
        g.replied_at = None;
        g.deadline_at = due(rate_at, o.config.reply_days);
        g.events.push((
            rate_at,
            "citizen",
            "群众",
            "rate",
            "replied",
            "in_progress",
            "不满意 问题没有根本解决".into(),
            None,
        ));
        return finish(g, now);
    }
    g.status = "closed";
    g.closed_at = Some(rate_at);
    let label = match g.satisfaction {
        "satisfied" => "满意",
        "basic" => "基本满意",
        _ => "不满意",
    };
    g.events.push((
        rate_at,
        "citizen",
        "群众",
        "rate",
        "replied",
        "closed",
        label.into(),
        None,
    ));
    finish(g, now)
}

fn finish(g: Gen, _now: i64) -> Gen {
    g
}

const OPINION_COLS: &str = "tracking_no, query_hash, channel, channel_ref, station_id, region_id, region_path, district_id, grid_id, \
    category_id, title, body, address, citizen_name_enc, citizen_phone_enc, phone_index, client_index, status, level, unit_id, \
    deadline_at, accepted_at, replied_at, closed_at, reply_text, satisfaction, rating_comment, reopen_count, converted_kind, \
    created_at, updated_at";
const OPINION_NCOLS: usize = 31;

fn marks(rows: usize, cols: usize) -> String {
    (0..rows)
        .map(|r| {
            format!(
                "({})",
                (1..=cols)
                    .map(|c| format!("${}", r * cols + c))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

async fn insert_batch(o: &Opinions, items: &[Gen]) -> anyhow::Result<usize> {
    let tokens: Vec<String> = items
        .iter()
        .map(|g| {
            let seg = &o.segmenter;
            let path = &g.region_path;
            crate::service::search::item_tokens(seg, &g.title, &g.body, path, g.station_id, None)
        })
        .collect();
    let mut tx = o.db.begin().await?;
    let sql = format!(
        "INSERT INTO opinions ({OPINION_COLS}) VALUES {} RETURNING id, tracking_no",
        marks(items.len(), OPINION_NCOLS)
    );
    let mut q = sqlx::query(&sql);
    for g in items {
        q = q
            .bind(g.tracking_no.clone())
            .bind(g.query_hash.clone())
            .bind(g.channel)
            .bind(g.channel_ref.clone())
            .bind(g.station_id)
            .bind(g.region_id)
            .bind(g.region_path.clone())
            .bind(g.district_id)
            .bind(g.grid_id)
            .bind(g.category_id)
            .bind(g.title.clone())
            .bind(g.body.clone())
            .bind(g.address.clone())
            .bind(g.name_enc.clone())
            .bind(g.phone_enc.clone())
            .bind(g.phone_index.clone())
            .bind("")
            .bind(g.status)
            .bind(g.level)
            .bind(g.unit_id)
            .bind(g.deadline_at)
            .bind(g.accepted_at)
            .bind(g.replied_at)
            .bind(g.closed_at)
            .bind(g.reply_text.clone())
            .bind(g.satisfaction)
            .bind("")
            .bind(g.reopen_count)
            .bind(g.converted_kind)
            .bind(g.created_at)
            .bind(g.updated_at);
    }
    let rows = q.fetch_all(&mut *tx).await?;
    let ids: HashMap<String, i64> = rows
        .iter()
        .map(|r| (r.get::<String, _>(1), r.get::<i64, _>(0)))
        .collect();
    let search: Vec<(i64, String)> = items
        .iter()
        .zip(tokens)
        .filter_map(|(g, t)| ids.get(&g.tracking_no).map(|id| (*id, t)))
        .collect();
    crate::service::search::index_batch(&mut tx, o.db.backend(), &search).await?;
    let events: Vec<(i64, &_)> = items
        .iter()
        .flat_map(|g| {
            let id = ids.get(&g.tracking_no).copied().unwrap_or(0);
            g.events.iter().map(move |e| (id, e))
        })
        .collect();
    for chunk in events.chunks(1500) {
        let sql = format!(
            "INSERT INTO opinion_events (opinion_id, at, actor_id, actor_name, actor_role, action, from_status, to_status, note, unit_id, public) VALUES {}",
            marks(chunk.len(), 11)
        );
        let mut q = sqlx::query(&sql);
        for (id, e) in chunk {
            q = q
                .bind(*id)
                .bind(e.0)
                .bind(0i64)
                .bind(e.2)
                .bind(e.1)
                .bind(e.3)
                .bind(e.4)
                .bind(e.5)
                .bind(e.6.clone())
                .bind(e.7)
                .bind(1i64);
        }
        q.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(items.len())
}
