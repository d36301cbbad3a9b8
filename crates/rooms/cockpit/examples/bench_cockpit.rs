//! Cockpit at 1,000,000 items: fills a fresh SQLite database (and a fresh database on
//! the PostgreSQL server named by YIDU_BENCH_POSTGRES, when set) with the counters of a million
//! items spread over two years x 10 townships x 20 categories x 30 stations x 100 grids,
//! 30,000 open opinions for the overdue list, and the same million items as plain rows;
//! then times the cockpit query (100 runs) against a naive GROUP BY over the rows.
//!
//!     cargo run --release -p yidu-cockpit --example bench_cockpit

use std::time::Instant;
use yidu_cockpit::counters::{Counts, Key, Totals};
use yidu_cockpit::service::{self, Period};
use yidu_db::{Db, Row};
use yidu_kernel::{clock, Principal};

const ITEMS: usize = 1_000_000;
const DAY_MS: i64 = 86_400_000;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> i64 {
        (self.next() % n) as i64
    }
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

async fn fill(db: &Db) -> anyhow::Result<()> {
    let now = clock::now_ms();
    let t = Instant::now();
    let mut tx = db.begin().await?;
    sqlx::query("INSERT INTO regions (parent_id, level, name, path, district_id, created_at, updated_at) VALUES (NULL, 'district', '测试区', '/1/', 1, 0, 0)")
        .execute(&mut *tx)
        .await?;
    for town in 0..10i64 {
        let id = 2 + town;
        sqlx::query("INSERT INTO regions (parent_id, level, name, path, district_id, created_at, updated_at) VALUES (1, 'township', $1, $2, 1, 0, 0)")
            .bind(format!("街道{town}"))
            .bind(format!("/1/{id}/"))
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("CREATE TABLE bench_items (day BIGINT NOT NULL, region_path TEXT NOT NULL, category_id BIGINT NOT NULL, station_id BIGINT NOT NULL, \
                 grid_id BIGINT NOT NULL, handled BIGINT NOT NULL, on_time BIGINT NOT NULL, late BIGINT NOT NULL, satisfied BIGINT NOT NULL, \
                 basic BIGINT NOT NULL, unsatisfied BIGINT NOT NULL, working_mdays BIGINT NOT NULL)")
        .execute(&mut *tx)
        .await?;
    sqlx::query("CREATE INDEX bench_items_day ON bench_items (day)")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;

    let mut rng = Rng(42);
    let mut totals = Totals::default();
    let mut rows = Vec::with_capacity(ITEMS);
    for _ in 0..ITEMS {
        let created = now - 730 * DAY_MS + rng.below(730 * DAY_MS as u64);
        let town = rng.below(10);
        let k = Key {
            day: yidu_cockpit::counters::day_of(created),
            region_path: format!("/1/{}/", 2 + town),
            category_id: 1 + rng.below(20),
            station_id: 1 + town * 3 + rng.below(3),
            grid_id: 100 + town * 10 + rng.below(10),
        };
        let handled = i64::from(rng.below(100) < 90);
        let on_time = handled * i64::from(rng.below(100) < 92);
        let s = rng.below(100);
        let c = Counts {
            received: 1,
            accepted: 1,
            handled,
            replied: handled,
            closed: handled,
            on_time,
            late: handled - on_time,
            satisfied: handled * i64::from(s < 78),
            basic: handled * i64::from((78..94).contains(&s)),
            unsatisfied: handled * i64::from(s >= 94),
            handling_ms: handled * rng.below(20 * DAY_MS as u64),
            working_mdays: handled * rng.below(18_000),
        };
        totals.add(&k, &c);
        rows.push((k, c));
    }
    let mut tx = db.begin().await?;
    totals.write(&mut tx).await?;
    tx.commit().await?;
    println!(
        "  counters: {} rows, {} grid rows, written in {:.1?}",
        totals.counters.len(),
        totals.grids.len(),
        t.elapsed()
    );

    // The plain rows, as literal multi-row INSERTs (numbers and fixed paths only, so
    // nothing needs quoting): one statement per 5,000 rows, one transaction in all.
    let t = Instant::now();
    let mut tx = db.begin().await?;
    for chunk in rows.chunks(5000) {
        let mut sql = String::with_capacity(chunk.len() * 64);
        sql.push_str("INSERT INTO bench_items VALUES ");
        for (i, (k, c)) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!(
                "({}, '{}', {}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
                k.day,
                k.region_path,
                k.category_id,
                k.station_id,
                k.grid_id,
                c.handled,
                c.on_time,
                c.late,
                c.satisfied,
                c.basic,
                c.unsatisfied,
                c.working_mdays
            ));
        }
        sqlx::query(&sql).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    // Open items for the overdue list: 3 % of a million.
    let statuses = [
        "submitted",
        "accepted",
        "assigned",
        "in_progress",
        "escalated",
        "replied",
        "closed",
    ];
    for b in 0..30 {
        let mut tx = db.begin().await?;
        let n = 1000;
        let marks: Vec<String> = (0..n)
            .map(|i| {
                format!(
                    "(${}, 'h', 'general', $1, '/1/2/', 't', 'b', ${}, ${}, 0, 0)",
                    i * 3 + 2,
                    i * 3 + 3,
                    i * 3 + 4
                )
            })
            .collect();
        let sql = format!("INSERT INTO opinions (tracking_no, query_hash, channel, region_id, region_path, title, body, status, deadline_at, created_at, updated_at) VALUES {}", marks.join(", "));
        let mut q = sqlx::query(&sql).bind(2i64);
        for i in 0..n {
            q = q
                .bind(format!("B{b:03}{i:05}"))
                .bind(statuses[rng.below(7) as usize])
                .bind(now - 100 * DAY_MS + rng.below(130 * DAY_MS as u64));
        }
        q.execute(&mut *tx).await?;
        tx.commit().await?;
    }
    println!(
        "  1,000,000 item rows and 30,000 opinions written in {:.1?}",
        t.elapsed()
    );
    Ok(())
}

async fn measure(db: &Db, label: &str) -> anyhow::Result<()> {
    let p = Principal::system();
    let period = Period::default();
    let c = service::cockpit(db, &p, &period).await?;
    assert!(c.totals.received > 400_000, "{}", c.totals.received);
    let mut times = Vec::new();
    let cpu0 = cpu_ms();
    for _ in 0..100 {
        let t = Instant::now();
        std::hint::black_box(service::cockpit(db, &p, &period).await?);
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let cpu_page = cpu0.zip(cpu_ms()).map(|(a, b)| (b - a) / 100.0);
    let (from, to) = service::resolve(&period)?;
    let num = |d: time::Date| {
        i64::from(d.year()) * 10_000 + i64::from(u8::from(d.month())) * 100 + i64::from(d.day())
    };
    // PostgreSQL sums BIGINT into NUMERIC; cast back, as the cockpit's own queries do.
    let sums: Vec<String> = [
        "handled",
        "on_time",
        "late",
        "satisfied",
        "basic",
        "unsatisfied",
        "working_mdays",
    ]
    .iter()
    .map(|c| format!("CAST(SUM({c}) AS BIGINT)"))
    .collect();
    let naive_sql = format!(
        "SELECT region_path, category_id, station_id, COUNT(*), {} FROM bench_items WHERE day BETWEEN $1 AND $2 \
         GROUP BY region_path, category_id, station_id",
        sums.join(", ")
    );
    let mut naive = Vec::new();
    let cpu0 = cpu_ms();
    for _ in 0..20 {
        let t = Instant::now();
        let rows = sqlx::query(&naive_sql)
            .bind(num(from))
            .bind(num(to))
            .fetch_all(db.pool())
            .await?;
        let n: i64 = rows.iter().map(|r| r.get::<i64, _>(3)).sum();
        std::hint::black_box(n);
        naive.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let cpu_naive = cpu0.zip(cpu_ms()).map(|(a, b)| (b - a) / 20.0);
    let (p50, p95, p99) = (
        pct(&mut times, 0.5),
        pct(&mut times, 0.95),
        pct(&mut times, 0.99),
    );
    let (n50, n95, n99) = (
        pct(&mut naive, 0.5),
        pct(&mut naive, 0.95),
        pct(&mut naive, 0.99),
    );
    println!("{label}: cockpit (every query of the page, one year, 1,000,000 items) p50 {p50:.1} ms, p95 {p95:.1} ms, p99 {p99:.1} ms over 100 runs");
    println!("{label}: naive GROUP BY over the item rows (main slice only)      p50 {n50:.1} ms, p95 {n95:.1} ms, p99 {n99:.1} ms over 20 runs");
    if let (Some(c), Some(n)) = (cpu_page, cpu_naive) {
        println!("{label}: CPU time of this process (all threads) per run: cockpit {c:.1} ms, naive {n:.1} ms (PostgreSQL's own CPU is not in it)");
    }
    println!(
        "{label}: naive / cockpit: {:.1}x at p50, {:.1}x at p95; target p95 <= 50 ms: {}",
        n50 / p50,
        n95 / p95,
        if p95 <= 50.0 { "met" } else { "NOT met" }
    );
    Ok(())
}

/// CPU time (user + system, every thread) used by this process so far, in ms, from
/// /proc (Linux): on a machine shared with other work, wall-clock times include waiting
/// for a core, CPU time does not.
fn cpu_ms() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses): utime and stime are the
    // 12th and 13th, in clock ticks (100 per second on Linux).
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks * 10.0)
}

/// Drops a database made by `fresh_postgres_url` once the benchmark is done with it.
async fn drop_database(server: &str, url: &str) -> anyhow::Result<()> {
    let name = url.rsplit('/').next().unwrap_or_default();
    anyhow::ensure!(name.starts_with("yidu_test_"), "not a benchmark database");
    let admin = sqlx::AnyPool::connect(server).await?;
    // FORCE: the closed pool's server processes may not have exited yet.
    sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&admin)
        .await?;
    admin.close().await;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("yidu-bench-cockpit-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let url = format!("sqlite://{}?mode=rwc", dir.join("bench.db").display());
    let db = Db::connect(&url).await?;
    yidu_db::migrate::run(&db).await?;
    println!("SQLite ({})", dir.display());
    fill(&db).await?;
    measure(&db, "SQLite").await?;
    db.close().await;
    // YIDU_BENCH_KEEP=1 keeps the SQLite file for profiling in the sqlite3 shell.
    if std::env::var("YIDU_BENCH_KEEP").is_err() {
        std::fs::remove_dir_all(&dir).ok();
    }
    if let Some(server) = std::env::var("YIDU_BENCH_POSTGRES")
        .ok()
        .filter(|s| !s.is_empty())
    {
        // A fresh database on that server, never the one named in the URL.
        let (pg, _guard) = yidu_db::testing::fresh_postgres_url(&server).await?;
        let db = Db::connect(&pg).await?;
        yidu_db::migrate::run(&db).await?;
        println!("PostgreSQL");
        fill(&db).await?;
        sqlx::query("ANALYZE").execute(db.pool()).await?;
        measure(&db, "PostgreSQL").await?;
        db.close().await;
        drop_database(&server, &pg).await?;
    }
    Ok(())
}
