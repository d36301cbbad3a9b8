//! Search at 1,000,000 items, through the queue the staff pages and the API call
//! (`read::queue` with `q`: capped count plus the newest page of 20), against a naive
//! `LIKE '%word%'` scan over title and body measured in the same run.
//!
//! The corpus is realistic so that common words match as many items as they would in
//! real life: when citizens' messages are available as CSV files (columns `text` and
//! optionally `title`, in `YIDU_BENCH_CORPUS`, default /work/shared/data), items are
//! recombined from their titles and sentences at run time (nothing of them is stored in
//! the repository); otherwise sentences are generated from a 30,000-word vocabulary with
//! Zipf-distributed word frequencies. Queries are 1-3 words taken from a random item, so
//! every query has hits and frequent words are searched often.
//!
//!     cargo run --release -p yidu-opinions --example bench_search
//!     YIDU_BENCH_POSTGRES=postgres://postgres@127.0.0.1:5432/postgres cargo run --release -p yidu-opinions --example bench_search
//!
//! `YIDU_BENCH_ITEMS` changes the size (default 1,000,000). The PostgreSQL database is a
//! fresh one, dropped at the end, unless `YIDU_BENCH_PG_KEEP=yidu_bench_NAME` names one
//! to keep (filled on the first run, reused by the next ones). `YIDU_BENCH_SLOWEST=N`
//! prints each user's N slowest queries with their totals (for EXPLAIN).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;
use yidu_db::{Backend, Db, DbOptions};
use yidu_kernel::{PageQuery, Principal, Role};
use yidu_opinions::model::OpinionsConfig;
use yidu_opinions::service::read::{self, QueueFilter};
use yidu_opinions::service::search;
use yidu_opinions::Opinions;
use yidu_text::normalize::normalize;
use yidu_text::Segmenter;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A piece of text with its index tokens and its words (for queries), computed once:
/// an item's tokens are the union of its pieces' tokens (bigrams across two pieces are
/// left out, which changes nothing measurable).
struct Piece {
    text: String,
    tokens: Vec<String>,
    words: Vec<String>,
}

struct Corpus {
    source: String,
    titles: Vec<Piece>,
    sentences: Vec<Piece>,
}

fn piece(seg: &Segmenter, text: &str) -> Piece {
    let tokens = search::document_tokens(seg, text, "");
    let words = seg
        .words(&normalize(text))
        .into_iter()
        .filter(|w| w.chars().count() >= 2 && w.chars().all(char::is_alphanumeric))
        .map(str::to_string)
        .collect();
    Piece {
        text: text.to_string(),
        tokens: tokens.split(' ').map(str::to_string).collect(),
        words,
    }
}

/// Titles and sentences of the CSV files in `dir` (None when there are none).
fn real_corpus(dir: &std::path::Path, seg: &Segmenter) -> Option<Corpus> {
    let mut titles = Vec::new();
    let mut sentences = Vec::new();
    let mut files = 0;
    for entry in std::fs::read_dir(dir).ok()? {
        let path = entry.ok()?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("csv") {
            continue;
        }
        let Ok(rows) = yidu_text::csvio::read_rows(&path, &["text"], &["title"]) else {
            continue;
        };
        files += 1;
        for r in rows {
            if let Some(t) = r.values[1].as_deref().filter(|t| !t.trim().is_empty()) {
                titles.push(t.trim().to_string());
            }
            let text = r.get(0);
            for s in text.split(['。', '！', '？', '；', '\n', '!', '?', ';']) {
                let s = s.trim();
                let n = s.chars().count();
                if (6..=80).contains(&n) {
                    sentences.push(s.to_string());
                }
            }
        }
    }
    if files == 0 || sentences.len() < 1000 {
        return None;
    }
    if titles.len() < 100 {
        titles = sentences.iter().take(5000).cloned().collect();
    }
    Some(Corpus {
        source: format!(
            "{} titles and {} sentences of the messages in {} ({files} files), recombined",
            titles.len(),
            sentences.len(),
            dir.display()
        ),
        titles: titles.iter().map(|t| piece(seg, t)).collect(),
        sentences: sentences.iter().map(|s| piece(seg, s)).collect(),
    })
}

/// Frequent characters of citizens' messages; words are made of two to four of them.
const HAN: &str = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处理府研质";
const STATION_WORDS: &[&str] = &[
    "路灯", "垃圾", "噪音", "停车", "小区", "物业", "电梯", "积水", "井盖", "施工", "绿化", "公交",
    "学校", "医保", "暖气", "漏水", "占道", "油烟", "违建", "扰民",
];

/// Sentences of 4-10 words drawn from a Zipf(1.0) vocabulary of 30,000 words.
fn synthetic_corpus(seg: &Segmenter) -> Corpus {
    let chars: Vec<char> = HAN.chars().collect();
    let mut rng = Rng(0x2026_0001);
    let mut vocab: Vec<String> = STATION_WORDS.iter().map(|w| w.to_string()).collect();
    let mut seen: HashSet<String> = vocab.iter().cloned().collect();
    while vocab.len() < 30_000 {
        let len = 2 + rng.below(3);
        let w: String = (0..len).map(|_| chars[rng.below(chars.len())]).collect();
        if seen.insert(w.clone()) {
            vocab.push(w);
        }
    }
    let mut cdf = Vec::with_capacity(vocab.len());
    let mut acc = 0.0;
    for r in 1..=vocab.len() {
        acc += 1.0 / r as f64;
        cdf.push(acc);
    }
    let word = |rng: &mut Rng| {
        let x = rng.unit() * acc;
        &vocab[cdf.partition_point(|c| *c < x).min(vocab.len() - 1)]
    };
    let sentence = |rng: &mut Rng, n: usize| -> String {
        (0..n)
            .map(|_| word(rng).as_str())
            .collect::<Vec<_>>()
            .join("")
    };
    let titles: Vec<String> = (0..20_000).map(|_| sentence(&mut rng, 3)).collect();
    let sentences: Vec<String> = (0..150_000)
        .map(|_| {
            let n = 4 + rng.below(7);
            sentence(&mut rng, n)
        })
        .collect();
    Corpus {
        source: "generated: 30,000-word Zipf vocabulary (no message files found)".into(),
        titles: titles.iter().map(|t| piece(seg, t)).collect(),
        sentences: sentences.iter().map(|s| piece(seg, s)).collect(),
    }
}

/// Which pieces make item number `i` (deterministic, so queries can be drawn from items).
fn composition(corpus: &Corpus, i: u64) -> (usize, Vec<usize>) {
    let mut rng = Rng(i.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    rng.next();
    let title = rng.below(corpus.titles.len());
    let n = 1 + rng.below(4);
    let body = (0..n).map(|_| rng.below(corpus.sentences.len())).collect();
    (title, body)
}

const TOWNSHIPS: i64 = 10;
const STATUSES: [&str; 6] = [
    "submitted",
    "accepted",
    "in_progress",
    "replied",
    "closed",
    "closed",
];

async fn fill(db: &Db, n: usize, corpus: &Corpus) -> anyhow::Result<()> {
    let started = Instant::now();
    let backend = db.backend();
    let mut tx = db.begin().await?;
    sqlx::query("INSERT INTO regions (id, level, name, path, created_at, updated_at) VALUES (1, 'district', '测试区', '/1/', 0, 0)")
        .execute(&mut *tx)
        .await?;
    for t in 0..TOWNSHIPS {
        sqlx::query("INSERT INTO regions (id, parent_id, level, name, path, created_at, updated_at) VALUES ($1, 1, 'township', $2, $3, 0, 0)")
            .bind(2 + t)
            .bind(format!("街道{t}"))
            .bind(format!("/1/{}/", 2 + t))
            .execute(&mut *tx)
            .await?;
    }
    if backend == Backend::Postgres {
        // Bulk load: building the GIN index once at the end is much faster than keeping
        // it up to date row by row; it is recreated exactly as the migration defines it.
        sqlx::query("DROP INDEX opinion_search_tsv")
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    let t0 = yidu_kernel::clock::now_ms() - 730 * 86_400_000;
    let batch = 2000;
    let mut id = 0usize;
    while id < n {
        let m = batch.min(n - id);
        let mut rows = Vec::with_capacity(m);
        let mut docs = Vec::with_capacity(m);
        for k in 0..m {
            let i = (id + k + 1) as i64;
            let (t, body) = composition(corpus, i as u64);
            let title = &corpus.titles[t];
            let mut seen: HashSet<&str> = HashSet::new();
            let mut tokens: Vec<&str> = Vec::new();
            let mut text = String::new();
            for p in std::iter::once(title).chain(body.iter().map(|b| &corpus.sentences[*b])) {
                for tk in &p.tokens {
                    if seen.insert(tk) {
                        tokens.push(tk);
                    }
                }
            }
            for b in &body {
                text.push_str(&corpus.sentences[*b].text);
                text.push('。');
            }
            // The scope tokens the application writes with every item (see search.rs).
            let town = 2 + i % TOWNSHIPS;
            let scope = search::scope_tokens(&format!("/1/{town}/"), None, None);
            tokens.extend(scope.iter().map(String::as_str));
            docs.push((i, tokens.join(" ")));
            rows.push((i, title.text.clone(), text));
        }
        let marks: Vec<String> = (0..m)
            .map(|r| {
                let b = r * 4;
                let i = (id + r + 1) as i64;
                let town = 2 + i % TOWNSHIPS;
                // Items arrive in id order over two years.
                let created = t0 + i * (730 * 86_400_000 / n as i64);
                format!(
                    "(${}, ${}, 'x', 'general', {town}, '/1/{town}/', ${}, ${}, '{}', {created}, {created})",
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    STATUSES[(i % 6) as usize]
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
        if id.is_multiple_of(200_000) {
            println!("  {id} items ({:.0} s)", started.elapsed().as_secs_f64());
        }
    }
    if backend == Backend::Postgres {
        sqlx::query("CREATE INDEX opinion_search_tsv ON opinion_search USING GIN (tsv)")
            .execute(db.pool())
            .await?;
        sqlx::query("VACUUM ANALYZE").execute(db.pool()).await?;
    }
    println!(
        "  filled {n} items in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn staff(role: Role, scope_id: i64, scope_path: &str) -> Principal {
    Principal {
        user_id: 1,
        username: "bench".into(),
        display_name: "bench".into(),
        role,
        scope_id: Some(scope_id),
        scope_path: scope_path.into(),
        must_change_password: false,
    }
}

/// The queue's search, exactly as the staff page and the API run it.
async fn search_once(o: &Opinions, p: &Principal, q: &str) -> anyhow::Result<(i64, bool)> {
    let f = QueueFilter {
        q: Some(q.to_string()),
        ..Default::default()
    };
    let page = PageQuery {
        page: Some(1),
        per_page: Some(20),
    };
    let got = read::queue(o, p, &f, &page)
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    Ok((got.total, got.total_capped))
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

fn queries(corpus: &Corpus, n_items: usize) -> Vec<String> {
    let mut rng = Rng(0xC0FF_EE11);
    let mut out = Vec::new();
    while out.len() < 1000 {
        let (t, body) = composition(corpus, 1 + rng.below(n_items) as u64);
        let words: Vec<&String> = std::iter::once(t)
            .map(|t| &corpus.titles[t])
            .chain(body.iter().map(|b| &corpus.sentences[*b]))
            .flat_map(|p| p.words.iter())
            .collect();
        if words.is_empty() {
            continue;
        }
        let k = 1 + rng.below(3);
        let q: Vec<&str> = (0..k)
            .map(|_| words[rng.below(words.len())].as_str())
            .collect();
        out.push(q.join(" "));
    }
    out
}

async fn timed(o: &Opinions, p: &Principal, qs: &[String]) -> anyhow::Result<(Vec<f64>, f64)> {
    for q in qs.iter().take(50) {
        search_once(o, p, q).await?;
    }
    let mut times = Vec::with_capacity(qs.len());
    let mut each = Vec::with_capacity(qs.len());
    let mut capped = 0;
    for q in qs {
        let t = Instant::now();
        let (total, c) = search_once(o, p, q).await?;
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        times.push(ms);
        each.push((ms, q, total, c));
        capped += usize::from(c);
    }
    let slowest: usize = std::env::var("YIDU_BENCH_SLOWEST")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    each.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (ms, q, total, c) in each.iter().take(slowest) {
        let plus = if *c { "+" } else { "" };
        println!("    {ms:8.2} ms  {total}{plus}  {q}  ({:?})", p.role);
    }
    times.sort_by(f64::total_cmp);
    Ok((times, capped as f64 / qs.len() as f64 * 100.0))
}

async fn measure(o: &Opinions, label: &str, qs: &[String]) -> anyhow::Result<()> {
    let office = staff(Role::Office, 1, "/1/");
    let town = staff(Role::Township, 2, "/1/2/");
    let (times, capped) = timed(o, &office, qs).await?;
    let (p50, p95, p99) = (
        percentile(&times, 0.50),
        percentile(&times, 0.95),
        percentile(&times, 0.99),
    );
    let (ttimes, _) = timed(o, &town, qs).await?;
    // LIKE scans every row: a few of the same queries are enough for its figures.
    let like_n = 20;
    let mut like = Vec::with_capacity(like_n);
    let mut differ = 0;
    for q in qs.iter().take(like_n) {
        let t = Instant::now();
        let n = like_once(&o.db, q).await?;
        like.push(t.elapsed().as_secs_f64() * 1000.0);
        let (total, _) = search_once(o, &office, q).await?;
        if total != n.min(search::COUNT_CAP) {
            differ += 1;
        }
    }
    like.sort_by(f64::total_cmp);
    let like50 = percentile(&like, 0.50);
    println!(
        "{label}: {} queries of 1-3 words through read::queue (count up to {} + newest 20); {capped:.1} % reach the cap",
        times.len(),
        search::COUNT_CAP
    );
    println!(
        "  office (whole district)  p50 {p50:.2} ms  p95 {p95:.2} ms  p99 {p99:.2} ms  max {:.2} ms",
        times[times.len() - 1]
    );
    println!(
        "  township (1/{TOWNSHIPS} of items) p50 {:.2} ms  p95 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
        percentile(&ttimes, 0.5),
        percentile(&ttimes, 0.95),
        percentile(&ttimes, 0.99),
        ttimes[ttimes.len() - 1]
    );
    println!(
        "  LIKE (naive scan)        p50 {like50:.1} ms  p95 {:.1} ms ({like_n} queries; {differ} with another count: LIKE ignores segmentation and script)",
        percentile(&like, 0.95)
    );
    println!(
        "  LIKE p50 / search p50 = {:.0}x, LIKE p50 / search p99 = {:.0}x; target p99 <= 20 ms: {}",
        like50 / p50,
        like50 / p99,
        if p99 <= 20.0 { "met" } else { "NOT met" }
    );
    Ok(())
}

async fn run(url: &str, label: &str, n: usize, corpus: &Corpus) -> anyhow::Result<()> {
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
    let have: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM opinions")
        .fetch_one(db.pool())
        .await?;
    if have == 0 {
        fill(&db, n, corpus).await?;
    } else {
        // A kept database (YIDU_BENCH_PG_KEEP) filled by an earlier run.
        anyhow::ensure!(
            have as usize == n,
            "the kept database holds {have} items, not {n}"
        );
        println!("  reusing {have} items");
    }
    let o = Opinions {
        db: db.clone(),
        keys: Arc::new(yidu_privacy::Keyring::generate()),
        calendar: Arc::new(yidu_calendar::Calendar::builtin()),
        config: Arc::new(OpinionsConfig::default()),
        segmenter: Arc::new(Segmenter::new()),
        routes: Arc::new(yidu_opinions::service::routes::RouteCache::new(
            std::time::Duration::from_millis(OpinionsConfig::default().route_cache_ms),
        )),
        assist: yidu_opinions::assist::TextAssist::new(),
        search: yidu_opinions::service::search_build::IndexState::new(),
    };
    measure(&o, label, &queries(corpus, n)).await?;
    db.close().await;
    Ok(())
}

/// The URL of database `name` on `server` (`YIDU_BENCH_PG_KEEP`), created when missing.
/// Not named `yidu_test_*`: test runs drop those of exited processes.
async fn kept_database(server: &str, name: &str) -> anyhow::Result<String> {
    anyhow::ensure!(
        name.starts_with("yidu_bench_")
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'),
        "YIDU_BENCH_PG_KEEP must be a plain name starting with yidu_bench_"
    );
    sqlx::any::install_default_drivers();
    let admin = sqlx::AnyPool::connect(server).await?;
    let exists = sqlx::query("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_optional(&admin)
        .await?
        .is_some();
    if !exists {
        sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
            .execute(&admin)
            .await?;
    }
    admin.close().await;
    let base = server.rsplit_once('/').map_or(server, |(b, _)| b);
    Ok(format!("{base}/{name}"))
}

/// Drops a database made by `fresh_postgres_url` once the benchmark is done with it.
async fn drop_database(server: &str, url: &str) -> anyhow::Result<()> {
    let name = url.rsplit('/').next().unwrap_or_default();
    anyhow::ensure!(name.starts_with("yidu_test_"), "not a benchmark database");
    let admin = sqlx::AnyPool::connect(server).await?;
    sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name}"))
        .execute(&admin)
        .await?;
    admin.close().await;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::var("YIDU_BENCH_ITEMS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let seg = Segmenter::new();
    let dir = std::env::var("YIDU_BENCH_CORPUS").unwrap_or_else(|_| "/work/shared/data".into());
    let t = Instant::now();
    let corpus =
        real_corpus(std::path::Path::new(&dir), &seg).unwrap_or_else(|| synthetic_corpus(&seg));
    println!(
        "corpus: {} (tokenized in {:.0} s)",
        corpus.source,
        t.elapsed().as_secs_f64()
    );
    let skip_sqlite = std::env::var("YIDU_BENCH_SKIP_SQLITE").is_ok_and(|v| v == "1");
    if !skip_sqlite {
        let (url, _guard) = yidu_db::testing::fresh_sqlite_url()?;
        run(&url, "SQLite", n, &corpus).await?;
    }
    if let Some(server) = std::env::var("YIDU_BENCH_POSTGRES")
        .ok()
        .filter(|s| !s.is_empty())
    {
        if let Some(name) = std::env::var("YIDU_BENCH_PG_KEEP")
            .ok()
            .filter(|s| !s.is_empty())
        {
            // A named database kept between runs (filled once, then reused), so that
            // query changes can be measured without a fill of several minutes.
            let pg = kept_database(&server, &name).await?;
            run(&pg, "PostgreSQL", n, &corpus).await?;
        } else {
            // A fresh database on that server, never the one named in the URL.
            let (pg, _guard) = yidu_db::testing::fresh_postgres_url(&server).await?;
            let result = run(&pg, "PostgreSQL", n, &corpus).await;
            drop_database(&server, &pg).await?;
            result?;
        }
    }
    Ok(())
}
