//! Class cases at a district's scale: fills a fresh SQLite database with synthetic
//! citizens' messages (recombined from the phrases below, spread over the last 150 days),
//! then measures
//! - a batch rebuild of the district (the baseline: what placing one new item would cost
//!   without the worker's in-memory model),
//! - the worker placing new items one at a time (p50/p95 per item, and the ratio to the
//!   baseline),
//! - the class list (30 per page) and the hot topics (10) the cockpit reads.
//!
//! `cargo run --release -p yidu-classes --example bench_classes` (`YIDU_BENCH_ITEMS` to
//! change the size, default 5,000).

use std::sync::Arc;
use std::time::{Duration, Instant};
use yidu_audit::Actor;
use yidu_classes::service::{cluster, read};
use yidu_classes::worker::Worker;
use yidu_classes::{Classes, ClassesConfig};
use yidu_db::{Db, DbOptions};
use yidu_kernel::{PageQuery, Principal};

const PROBLEMS: &[&str] = &[
    "路灯不亮",
    "垃圾没人清运",
    "夜间施工噪音大",
    "停车位不够",
    "下水道堵了",
    "路面坑坑洼洼",
    "电梯老是坏",
    "楼道堆满杂物",
    "公交站台坏了",
    "井盖丢了",
    "广场舞音响吵",
    "自来水没水压",
    "暖气不热",
    "门禁坏了",
    "充电桩太少",
];
const PLACES: &[&str] = &[
    "幸福路",
    "和平小区",
    "河畔花园",
    "五号楼",
    "南门",
    "市场旁",
    "小学门口",
    "卫生站",
    "公交总站",
    "青山湾",
    "北苑",
    "老街",
    "体育场",
    "地铁站口",
    "建设路",
];
const DETAILS: &[&str] = &[
    "快两个月了",
    "晚上很危险",
    "老人出门不方便",
    "说了好几次没人管",
    "请尽快解决",
    "吵得睡不着",
    "味道很难闻",
    "下雨更糟糕",
];

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        v[(self.next() % v.len() as u64) as usize]
    }
}

async fn insert(
    db: &Db,
    rng: &mut Rng,
    first_id: i64,
    n: usize,
    at: impl Fn(i64) -> i64,
) -> anyhow::Result<()> {
    let mut id = first_id;
    let end = first_id + n as i64;
    while id < end {
        let m = (end - id).min(1000) as usize;
        let marks: Vec<String> = (0..m)
            .map(|r| {
                let b = r * 5;
                format!(
                    "(${}, ${}, 'x', 'general', 1, '/1/', 1, ${}, ${}, 'submitted', ${}, ${})",
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5,
                    b + 5
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO opinions (id, tracking_no, query_hash, channel, region_id, region_path, district_id, title, body, status, created_at, updated_at) VALUES {}",
            marks.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for k in 0..m as i64 {
            let i = id + k;
            let (problem, place, detail) =
                (rng.pick(PROBLEMS), rng.pick(PLACES), rng.pick(DETAILS));
            q = q
                .bind(i)
                .bind(format!("B{i}"))
                .bind(format!("{place}{problem}"))
                .bind(format!("{place}{problem}，{detail}。"))
                .bind(at(i));
        }
        let mut tx = db.begin().await?;
        q.execute(&mut *tx).await?;
        tx.commit().await?;
        id += m as i64;
    }
    Ok(())
}

fn pct(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::var("YIDU_BENCH_ITEMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000);
    let (url, _guard) = yidu_db::testing::fresh_sqlite_url()?;
    let db = Db::connect_with(&url, &DbOptions::default()).await?;
    yidu_db::migrate::run(&db).await?;
    sqlx::query(
        "INSERT INTO regions (id, level, name, path, district_id, created_at, updated_at) VALUES (1, 'district', '测试区', '/1/', 1, 0, 0)",
    )
    .execute(db.pool())
    .await?;
    let now = yidu_kernel::clock::now_ms();
    let span = 150 * 24 * 3600 * 1000_i64;
    let mut rng = Rng(0x5EED_2026);
    insert(&db, &mut rng, 1, n, |i| now - span + span * i / n as i64).await?;
    let opinions = yidu_opinions::Opinions {
        db: db.clone(),
        keys: Arc::new(yidu_privacy::Keyring::generate()),
        calendar: Arc::new(yidu_calendar::Calendar::builtin()),
        config: Arc::new(Default::default()),
        segmenter: Arc::new(yidu_text::Segmenter::new()),
        routes: Arc::new(yidu_opinions::service::routes::RouteCache::new(
            Duration::from_secs(2),
        )),
        assist: yidu_opinions::assist::TextAssist::new(),
        search: yidu_opinions::service::search_build::IndexState::new(),
    };
    let c = Classes::new(opinions, ClassesConfig::default());

    let started = Instant::now();
    let stop = yidu_classes::service::stream::Stop::new();
    let cluster::Rebuilt::Done(report, _) =
        cluster::rebuild(&c, 1, &Actor::system("bench"), &stop).await?
    else {
        unreachable!("nothing asked the rebuild to stop");
    };
    let rebuild = started.elapsed();
    println!(
        "{} items: batch rebuild {:.2?} ({} clusters, {} proposed classes, {} items placed)",
        n, rebuild, report.clusters, report.proposed, report.placed
    );

    let mut worker = Worker::new(c.clone());
    // Catch up with the existing items: the first round builds the model (one more
    // rebuild), the next ones skip what the model knows.
    while worker.run_once().await?.items > 0 {}
    let mut per_item = Vec::new();
    for k in 0..200 {
        let id = n as i64 + 1 + k;
        insert(&db, &mut rng, id, 1, |_| yidu_kernel::clock::now_ms()).await?;
        let t = Instant::now();
        let r = worker.run_once().await?;
        per_item.push(t.elapsed());
        assert_eq!(r.items, 1);
    }
    let p50 = pct(&mut per_item, 0.5);
    let p95 = pct(&mut per_item, 0.95);
    println!(
        "worker, one new item per round: p50 {:.2?}, p95 {:.2?}; a rebuild per arrival would take {:.0}x the p50",
        p50,
        p95,
        rebuild.as_secs_f64() / p50.as_secs_f64()
    );

    let admin = Principal::system();
    let mut list = Vec::new();
    let mut hot = Vec::new();
    for _ in 0..30 {
        let t = Instant::now();
        read::list(
            &c,
            &admin,
            &Default::default(),
            &PageQuery {
                page: Some(1),
                per_page: Some(30),
            },
        )
        .await?;
        list.push(t.elapsed());
        let t = Instant::now();
        read::hot(&c, &admin, 10).await?;
        hot.push(t.elapsed());
    }
    println!(
        "class list (30 per page) p50 {:.2?}; hot topics (10) p50 {:.2?}",
        pct(&mut list, 0.5),
        pct(&mut hot, 0.5)
    );
    Ok(())
}
