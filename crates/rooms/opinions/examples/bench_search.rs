//! Search at 1,000,000 items: fills a fresh SQLite database (and a fresh database on the
//! PostgreSQL server in `YIDU_BENCH_POSTGRES`, when set) with synthetic citizens' messages
//! recombined from the phrases below, indexes them with the room's own tokenizer, then runs
//! 1,000 queries of one to three words through the same SQL condition the queues use
//! (count plus the newest page of 20) and prints p50/p95/p99, against a naive
//! `LIKE '%word%'` scan over title and body in the same run.
//!
//! `cargo run --release -p yidu-opinions --example bench_search` (`YIDU_BENCH_ITEMS` to
//! change the size).

use std::time::Instant;
use yidu_db::{Backend, Db, DbOptions, Row};
use yidu_opinions::service::search;
use yidu_text::Segmenter;

const PROBLEMS: &[&str] = &[
    "路灯坏了",
    "路灯不亮",
    "垃圾清运不及时",
    "噪音扰民",
    "停车难",
    "下水道堵塞",
    "道路坑洼",
    "违章停车占道",
    "电梯经常故障",
    "楼道堆放杂物",
    "绿化带杂草丛生",
    "公交站台破损",
    "井盖缺失",
    "广场舞音响太吵",
    "外墙瓷砖脱落",
    "自来水水压不足",
    "暖气不热",
    "小区门禁失灵",
    "充电桩不够用",
    "健身器材损坏",
    "菜市场卫生差",
    "油烟污染严重",
    "施工夜间作业",
    "积水严重",
    "流浪狗伤人",
    "学校门口交通拥堵",
    "医保卡无法使用",
    "老旧小区加装电梯",
    "物业费收费不透明",
    "无障碍通道被占用",
];
const PLACES: &[&str] = &[
    "幸福路",
    "人民小区",
    "滨河花园",
    "3号楼",
    "东门",
    "菜市场旁边",
    "实验小学门口",
    "社区卫生服务站",
    "公交总站",
    "青禾湾",
    "北辰家园",
    "老街",
    "体育公园",
    "地铁口",
    "建设大道",
    "银杏苑",
    "农贸市场",
    "十字路口",
    "地下车库",
    "垃圾中转站",
];
const DETAILS: &[&str] = &[
    "已经一个多月了",
    "晚上看不清路",
    "老人孩子出行不安全",
    "多次反映没有解决",
    "希望尽快处理",
    "影响居民休息",
    "气味很大",
    "一下雨就更严重",
    "物业说不归他们管",
    "请相关部门看看",
    "电动车经过容易摔倒",
    "周末特别严重",
    "投诉了几次都没用",
    "邻居们都很有意见",
    "存在安全隐患",
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

/// Tokens per phrase, computed once: a message's tokens are the union of its phrases'
/// tokens (bigrams across phrase boundaries are left out; they change nothing here).
struct Vocab {
    tokens: std::collections::HashMap<&'static str, Vec<String>>,
}

impl Vocab {
    fn new(seg: &Segmenter) -> Self {
        let tokens = PROBLEMS
            .iter()
            .chain(PLACES)
            .chain(DETAILS)
            .map(|p| {
                let t = search::document_tokens(seg, p, "");
                (*p, t.split(' ').map(str::to_string).collect())
            })
            .collect();
        Vocab { tokens }
    }
    fn doc(&self, parts: &[&str]) -> String {
        let mut seen = std::collections::HashSet::new();
        let mut out: Vec<&str> = Vec::new();
        for p in parts {
            for t in &self.tokens[p] {
                if seen.insert(t.as_str()) {
                    out.push(t);
                }
            }
        }
        out.join(" ")
    }
}

async fn fill(db: &Db, n: usize, vocab: &Vocab) -> anyhow::Result<()> {
    let started = Instant::now();
    let backend = db.backend();
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO regions (id, level, name, path, created_at, updated_at) VALUES (1, 'district', '测试区', '/1/', 0, 0)",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut rng = Rng(0x5EED_2026);
    let batch = 2000;
    let mut id = 0usize;
    while id < n {
        let m = batch.min(n - id);
        let mut rows = Vec::with_capacity(m);
        let mut docs = Vec::with_capacity(m);
        for k in 0..m {
            let i = (id + k + 1) as i64;
            let (problem, place, detail) =
                (rng.pick(PROBLEMS), rng.pick(PLACES), rng.pick(DETAILS));
            let title = format!("{place}{problem}");
            let body = format!("{place}{problem}，{detail}。");
            docs.push((i, vocab.doc(&[problem, place, detail])));
            rows.push((i, title, body));
        }
        let marks: Vec<String> = (0..m)
            .map(|r| {
                let b = r * 4;
                format!(
                    "(${}, ${}, 'x', 'general', 1, '/1/', ${}, ${}, 'submitted', ${}, ${})",
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 1,
                    b + 1
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO opinions (id, tracking_no, query_hash, channel, region_id, region_path, title, body, status, created_at, updated_at) VALUES {}",
            marks.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for (i, title, body) in rows {
            q = q.bind(i).bind(format!("B{i}")).bind(title).bind(body);
        }
        let mut tx = db.begin().await?;
        q.execute(&mut *tx).await?;
        search::index_batch(&mut tx, backend, &docs).await?;
        tx.commit().await?;
        id += m;
        if id.is_multiple_of(100_000) {
            println!("  {id} items ({:.0} s)", started.elapsed().as_secs_f64());
        }
    }
    if backend == Backend::Postgres {
        sqlx::query("ANALYZE").execute(db.pool()).await?;
    }
    println!(
        "  filled {n} items in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Query words: the dictionary words of the phrases, plus bigrams jieba does not produce.
fn query_words(seg: &Segmenter) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for p in PROBLEMS.iter().chain(PLACES).chain(DETAILS) {
        for w in seg.search_tokens(p) {
            if w.chars().count() >= 2 && !words.contains(&w) {
                words.push(w);
            }
        }
    }
    words
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// The queue's search: how many items match and the newest page of them.
async fn search_once(db: &Db, q: &str) -> anyhow::Result<i64> {
    let backend = db.backend();
    let Some(expr) = search::match_expr(backend, &search::query_terms(q)) else {
        return Ok(0);
    };
    let cond = search::condition(backend, "$1");
    let total: i64 = sqlx::query(&format!("SELECT COUNT(*) FROM opinions o WHERE {cond}"))
        .bind(expr.clone())
        .fetch_one(db.pool())
        .await?
        .get(0);
    sqlx::query(&format!(
        "SELECT o.id, o.title FROM opinions o WHERE {cond} ORDER BY o.id DESC LIMIT 20"
    ))
    .bind(expr)
    .fetch_all(db.pool())
    .await?;
    Ok(total)
}

/// The naive way: every word as a substring of title or body, same count and page.
async fn like_once(db: &Db, q: &str) -> anyhow::Result<i64> {
    let words: Vec<&str> = q.split(' ').collect();
    let cond: Vec<String> = (1..=words.len())
        .map(|i| format!("(o.title LIKE ${i} OR o.body LIKE ${i})"))
        .collect();
    let cond = cond.join(" AND ");
    let count_sql = format!("SELECT COUNT(*) FROM opinions o WHERE {cond}");
    let mut c = sqlx::query_scalar::<_, i64>(&count_sql);
    for w in &words {
        c = c.bind(format!("%{w}%"));
    }
    let total = c.fetch_one(db.pool()).await?;
    let sql =
        format!("SELECT o.id, o.title FROM opinions o WHERE {cond} ORDER BY o.id DESC LIMIT 20");
    let mut p = sqlx::query(&sql);
    for w in &words {
        p = p.bind(format!("%{w}%"));
    }
    p.fetch_all(db.pool()).await?;
    Ok(total)
}

async fn measure(db: &Db, label: &str, words: &[String]) -> anyhow::Result<()> {
    let mut rng = Rng(0xC0FF_EE11);
    let queries: Vec<String> = (0..1000)
        .map(|_| {
            let k = 1 + (rng.next() % 3) as usize;
            (0..k)
                .map(|_| words[(rng.next() % words.len() as u64) as usize].clone())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    // Warm the caches once.
    for q in queries.iter().take(50) {
        search_once(db, q).await?;
    }
    let mut times = Vec::with_capacity(queries.len());
    let mut hits = 0i64;
    for q in &queries {
        let t = Instant::now();
        hits += search_once(db, q).await?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    let (p50, p95, p99) = (
        percentile(&times, 0.50),
        percentile(&times, 0.95),
        percentile(&times, 0.99),
    );
    // LIKE scans every row: a few of the same queries are enough for its figures.
    let like_n = 20;
    let mut like = Vec::with_capacity(like_n);
    // LIKE also matches across phrase boundaries; the counts should still mostly agree.
    let mut differ = 0;
    for q in queries.iter().take(like_n) {
        let t = Instant::now();
        let n = like_once(db, q).await?;
        like.push(t.elapsed().as_secs_f64() * 1000.0);
        if search_once(db, q).await? != n {
            differ += 1;
        }
    }
    like.sort_by(f64::total_cmp);
    let like50 = percentile(&like, 0.50);
    println!(
        "{label}: {} queries of 1-3 words, {:.1} hits on average",
        times.len(),
        hits as f64 / times.len() as f64
    );
    println!(
        "  search   p50 {p50:.2} ms  p95 {p95:.2} ms  p99 {p99:.2} ms  max {:.2} ms",
        times[times.len() - 1]
    );
    println!(
        "  LIKE     p50 {like50:.1} ms  p95 {:.1} ms ({like_n} queries, {differ} with other counts)",
        percentile(&like, 0.95)
    );
    println!(
        "  LIKE p50 / search p50 = {:.0}x; target p99 <= 20 ms: {}",
        like50 / p50,
        if p99 <= 20.0 { "met" } else { "NOT met" }
    );
    Ok(())
}

async fn run(url: &str, label: &str, n: usize, seg: &Segmenter) -> anyhow::Result<()> {
    let db = Db::connect_with(
        url,
        &DbOptions {
            sqlite_synchronous: "NORMAL".into(),
            ..Default::default()
        },
    )
    .await?;
    yidu_db::migrate::run(&db).await?;
    println!("{label}");
    fill(&db, n, &Vocab::new(seg)).await?;
    measure(&db, label, &query_words(seg)).await?;
    db.close().await;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::var("YIDU_BENCH_ITEMS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let seg = Segmenter::new();
    let (url, _guard) = yidu_db::testing::fresh_sqlite_url()?;
    run(&url, "SQLite", n, &seg).await?;
    if let Some(server) = std::env::var("YIDU_BENCH_POSTGRES")
        .ok()
        .filter(|s| !s.is_empty())
    {
        // A fresh database on that server, never the one named in the URL (dropped by
        // hand afterwards: its name starts with yidu_test_).
        let (pg, _guard) = yidu_db::testing::fresh_postgres_url(&server).await?;
        run(&pg, "PostgreSQL", n, &seg).await?;
    }
    Ok(())
}
