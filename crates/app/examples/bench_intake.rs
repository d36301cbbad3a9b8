//! Intake benchmark (民意, issue 3): citizens' submissions over HTTP against the real
//! server, counting only durable acknowledgements (2xx: the receipt comes after the
//! COMMIT), next to the raw rate of writing the same rows straight into the database
//! with the same durability, one committed transaction per submission.
//!
//! `cargo run --release -p yidu --example bench_intake`
//! Environment: `YIDU_BENCH_SECONDS` (per run, default 5), `YIDU_BENCH_CLIENTS`
//! (default `1,8,64`), `YIDU_BENCH_POSTGRES` (server URL, default
//! `postgres://postgres@127.0.0.1:5432/postgres`; `off` skips PostgreSQL),
//! `YIDU_BENCH_RAW` (`off` skips the raw baseline, for quicker A/B runs of the server),
//! `YIDU_BENCH_LOG` (a log filter such as `warn`: the server's log on standard error).
//!
//! Per client count N: N tasks post submissions back to back for the run's duration
//! (after a one-second warm-up) and record each acknowledged request's latency. The raw
//! baseline runs N tasks too, each writing prepared submissions (the same generator, the
//! same rows: item, search tokens, event, counters, notice, outbox event, audit record,
//! idempotency record) through `Db::begin` + `write_rows` + COMMIT, i.e. through the one
//! writer connection on SQLite, with WAL and synchronous=FULL like the server.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use yidu_app::config::{Config, Overrides};
use yidu_db::{Db, Row};
use yidu_opinions::model::{Channel, Submission};
use yidu_opinions::service::submit::{self, Prepared};
use yidu_opinions::Opinions;

const TARGET_RATIO: f64 = 0.5;
const TARGET_P99_MS: f64 = 25.0;
const TARGET_CLIENTS: usize = 64;

/// Codes, grids and categories of the demo registry to spread submissions over.
struct Registry {
    deputies: Vec<String>,
    stations: Vec<String>,
    grids: Vec<i64>,
    categories: Vec<i64>,
}

impl Registry {
    async fn load(db: &Db) -> anyhow::Result<Registry> {
        let strings = |sql: &'static str| async move {
            anyhow::Ok(
                sqlx::query(sql)
                    .fetch_all(db.pool())
                    .await?
                    .iter()
                    .map(|r| r.get::<String, _>(0))
                    .collect::<Vec<_>>(),
            )
        };
        let ints = |sql: &'static str| async move {
            anyhow::Ok(
                sqlx::query(sql)
                    .fetch_all(db.pool())
                    .await?
                    .iter()
                    .map(|r| r.get::<i64, _>(0))
                    .collect::<Vec<_>>(),
            )
        };
        Ok(Registry {
            deputies: strings("SELECT code FROM deputies WHERE retired = 0 ORDER BY id").await?,
            stations: strings("SELECT code FROM stations WHERE retired = 0 ORDER BY id").await?,
            grids: ints("SELECT id FROM regions WHERE level = 'grid' ORDER BY id").await?,
            categories: ints(
                "SELECT id FROM categories WHERE parent_id IS NOT NULL AND retired = 0 ORDER BY id",
            )
            .await?,
        })
    }
}

const PLACES: [&str; 8] = [
    "幸福路",
    "学府街",
    "滨河小区",
    "东门菜市场",
    "光明巷",
    "新村二期",
    "人民公园",
    "工业园",
];
const PROBLEMS: [&str; 10] = [
    "路灯坏了好几天，晚上出行很不方便",
    "井盖松动，车辆经过时响声很大，担心有人踩空",
    "垃圾清运不及时，气味很大，夏天蚊蝇很多",
    "小区门口占道经营，早高峰孩子上学很危险",
    "雨后积水严重，老人出门要绕很远的路",
    "噪音扰民，夜里施工到十二点以后",
    "公交站台没有遮雨棚，等车时淋雨",
    "电动车在楼道充电，存在消防隐患",
    "健身器材损坏，希望尽快维修",
    "希望增设无障碍坡道，方便轮椅通行",
];

/// The n-th submission: a channel (deputy or station code), sometimes a grid and a
/// category, a title and a body of ordinary length, a name and phone in half of them.
fn submission(reg: &Registry, n: u64) -> (Channel, serde_json::Value) {
    let i = n as usize;
    let place = PLACES[i % PLACES.len()];
    let problem = PROBLEMS[(i / 8) % PROBLEMS.len()];
    let mut v = serde_json::json!({
        "title": format!("{place}{}", &problem[..problem.char_indices().nth(8).map_or(problem.len(), |c| c.0)]),
        "body": format!(
            "我住在{place}附近，{problem}。已经向物业反映过，但一直没有解决，请代表帮忙协调有关部门处理。编号{n}。"
        ),
        "address": format!("{place}{}号", i % 200 + 1),
    });
    if i.is_multiple_of(2) {
        v["name"] = "张先生".into();
        v["phone"] = format!("139{:08}", n % 100_000_000).into();
        v["consent"] = true.into();
    }
    if i.is_multiple_of(3) && !reg.grids.is_empty() {
        v["grid_id"] = reg.grids[i % reg.grids.len()].into();
    }
    if !i.is_multiple_of(4) && !reg.categories.is_empty() {
        v["category_id"] = reg.categories[i % reg.categories.len()].into();
    }
    let channel = if i.is_multiple_of(2) {
        let c = reg.deputies[i % reg.deputies.len()].clone();
        v["deputy_code"] = c.clone().into();
        Channel::Deputy(c)
    } else {
        let c = reg.stations[i % reg.stations.len()].clone();
        v["station_code"] = c.clone().into();
        Channel::Station(c)
    };
    (channel, v)
}

/// The n-th citizen's address: each submission comes from its own.
fn citizen_addr(n: u64) -> String {
    format!("10.{}.{}.{}", (n >> 16) & 255, (n >> 8) & 255, n & 255)
}

#[derive(Default)]
struct Sample {
    ok: u64,
    refused: u64,
    elapsed: Duration,
    lat_us: Vec<u64>,
    /// CPU seconds of the whole process over the measured window, where known.
    cpu_secs: Option<f64>,
}

impl Sample {
    fn with_cpu(self, cpu_secs: Option<f64>) -> Sample {
        Sample { cpu_secs, ..self }
    }
    /// Milliseconds of CPU (server and load generator together) per acknowledgement.
    fn cpu_ms_per_ok(&self) -> Option<f64> {
        self.cpu_secs
            .filter(|_| self.ok > 0)
            .map(|c| c * 1000.0 / self.ok as f64)
    }
    fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }
    fn pct_ms(&self, p: f64) -> f64 {
        if self.lat_us.is_empty() {
            return f64::NAN;
        }
        let i = ((self.lat_us.len() as f64 * p).ceil() as usize).clamp(1, self.lat_us.len()) - 1;
        self.lat_us[i] as f64 / 1000.0
    }
    fn merge(parts: Vec<(u64, u64, Vec<u64>)>, elapsed: Duration) -> Sample {
        let mut s = Sample {
            elapsed,
            ..Sample::default()
        };
        for (ok, refused, lat) in parts {
            s.ok += ok;
            s.refused += refused;
            s.lat_us.extend(lat);
        }
        s.lat_us.sort_unstable();
        s
    }
}

/// N clients posting to the server for `run` after `warm` (not counted).
async fn http_run(
    base: &str,
    reg: &Arc<Registry>,
    clients: usize,
    warm: Duration,
    run: Duration,
    seq: &Arc<AtomicU64>,
) -> anyhow::Result<Sample> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()?;
    let url = format!("{base}/api/v1/opinions");
    let start = Instant::now();
    let (measure_from, until) = (start + warm, start + warm + run);
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (http, url, reg, seq) = (http.clone(), url.clone(), reg.clone(), seq.clone());
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut refused, mut lat) = (0u64, 0u64, Vec::new());
            let mut example = None;
            loop {
                let n = seq.fetch_add(1, Ordering::Relaxed);
                let (_, body) = submission(&reg, n);
                let t0 = Instant::now();
                if t0 >= until {
                    break;
                }
                let resp = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("idempotency-key", format!("bench-{n}"))
                    .header("x-forwarded-for", citizen_addr(n))
                    .body(body.to_string())
                    .send()
                    .await;
                let (status, text) = match resp {
                    Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
                    Err(e) => (0, e.to_string()),
                };
                if t0 < measure_from {
                    continue;
                }
                if (200..300).contains(&status) {
                    ok += 1;
                    lat.push(t0.elapsed().as_micros() as u64);
                } else {
                    refused += 1;
                    example.get_or_insert((status, text));
                }
            }
            if let Some((status, text)) = example {
                eprintln!(
                    "  refused: HTTP {status} {}",
                    text.chars().take(200).collect::<String>()
                );
            }
            (ok, refused, lat)
        }));
    }
    // The process's CPU time over the measured window (server and load generator: on
    // a shared machine CPU per acknowledgement varies far less than the rate does).
    let cpu = tokio::spawn(async move {
        tokio::time::sleep_until(measure_from.into()).await;
        let before = process_cpu();
        tokio::time::sleep_until(until.into()).await;
        process_cpu().zip(before).map(|(b, a)| b - a)
    });
    let mut parts = Vec::new();
    for t in tasks {
        parts.push(t.await?);
    }
    let cpu = cpu.await?;
    Ok(Sample::merge(parts, run).with_cpu(cpu))
}

/// User plus system CPU seconds this process has used (Linux: /proc/self/stat, fields 14
/// and 15, in clock ticks of 1/100 s); `None` where that cannot be read.
fn process_cpu() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may hold spaces; the fields after it are plain numbers.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<f64>().ok();
    // `rest` starts at field 3, so field n is at index n - 3.
    Some((ticks(11)? + ticks(12)?) / 100.0)
}

/// Bytes and write calls of this process's SQLite connection threads (sqlx runs each
/// connection on a thread of its own), from /proc/self/task/*/io. Nearly all of it is the
/// writer appending WAL frames (a 24-byte header and a page each), so per commit it shows
/// how many pages a commit dirties: what COMMIT's time grows with.
#[derive(Clone, Copy)]
struct WriterIo {
    bytes: u64,
    calls: u64,
}

fn sqlite_writer_io() -> Option<WriterIo> {
    let mut sum = WriterIo { bytes: 0, calls: 0 };
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if !comm.starts_with("sqlx-sqlite") {
            continue;
        }
        let io = std::fs::read_to_string(task.path().join("io")).ok()?;
        let field = |name: &str| {
            io.lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        sum.bytes += field("wchar:")?;
        sum.calls += field("syscw:")?;
    }
    Some(sum)
}

/// Per thread of this process, by thread id: whether it is a SQLite connection thread,
/// its CPU ticks (1/100 s) and its voluntary context switches (waits: for the next
/// statement, a lock or the disk).
fn thread_stats() -> std::collections::HashMap<String, (bool, u64, u64)> {
    let mut out = std::collections::HashMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for task in tasks.flatten() {
        let path = task.path();
        let status = std::fs::read_to_string(path.join("status")).unwrap_or_default();
        let waits = status
            .lines()
            .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
            .and_then(|v| v.trim().parse::<u64>().ok());
        let stat = std::fs::read_to_string(path.join("stat")).unwrap_or_default();
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|r| r.1.split_whitespace().collect())
            .unwrap_or_default();
        let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok());
        if let (Some(u), Some(s), Some(w)) = (ticks(11), ticks(12), waits) {
            let sqlite = status.starts_with("Name:\tsqlx-sqlite");
            out.insert(
                task.file_name().to_string_lossy().into_owned(),
                (sqlite, u + s, w),
            );
        }
    }
    out
}

/// Between two [`thread_stats`] readings: the busiest SQLite thread's CPU milliseconds
/// and waits (the writer's, under intake load), and all threads' waits together.
fn thread_deltas(
    before: &std::collections::HashMap<String, (bool, u64, u64)>,
    after: &std::collections::HashMap<String, (bool, u64, u64)>,
) -> (Option<(f64, u64)>, u64) {
    let deltas: Vec<(bool, u64, u64)> = after
        .iter()
        .map(|(tid, (sqlite, cpu, waits))| {
            let (_, c0, w0) = before.get(tid).copied().unwrap_or((false, 0, 0));
            (*sqlite, cpu.saturating_sub(c0), waits.saturating_sub(w0))
        })
        .collect();
    let writer = deltas
        .iter()
        .filter(|d| d.0)
        .map(|d| (d.1, d.2))
        .max()
        .map(|(ticks, waits)| (ticks as f64 * 10.0, waits));
    (writer, deltas.iter().map(|d| d.2).sum())
}

/// N tasks writing prepared submissions, one committed transaction each, for `run`.
async fn raw_run(
    o: &Opinions,
    rows: Vec<Prepared>,
    clients: usize,
    run: Duration,
) -> anyhow::Result<Sample> {
    let rows = Arc::new(Mutex::new(rows));
    let start = Instant::now();
    let until = start + run;
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (o, rows) = (o.clone(), rows.clone());
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut lat) = (0u64, Vec::new());
            loop {
                let Some(p) = rows.lock().unwrap().pop() else {
                    break;
                };
                let t0 = Instant::now();
                if t0 >= until {
                    break;
                }
                let mut tx = o.db.begin().await?;
                match submit::write_rows(&mut tx, &o, &p).await {
                    Ok(_) => {}
                    // Two random tracking numbers of the day clashed (the server tries
                    // again with new ones): rolled back, not counted.
                    Err(submit::Refusal::TrackingTaken) => continue,
                    Err(e) => anyhow::bail!("{e:?}"),
                }
                tx.commit().await?;
                ok += 1;
                lat.push(t0.elapsed().as_micros() as u64);
            }
            anyhow::Ok((ok, 0, lat))
        }));
    }
    let mut parts = Vec::new();
    for t in tasks {
        parts.push(t.await??);
    }
    let left = rows.lock().unwrap().len();
    // Ran out of prepared rows before the time was up: the rate counts the time used.
    let elapsed = if left == 0 {
        start.elapsed().min(run)
    } else {
        run
    };
    Ok(Sample::merge(parts, elapsed))
}

/// Submissions prepared exactly as the server prepares them (validated, routed, sealed,
/// tokenized), ready for the raw baseline.
async fn prepare(
    o: &Opinions,
    reg: &Registry,
    seq: &AtomicU64,
    count: usize,
) -> anyhow::Result<Vec<Prepared>> {
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let n = seq.fetch_add(1, Ordering::Relaxed);
        let (channel, v) = submission(reg, n);
        let s: Submission = serde_json::from_value(v)?;
        let key = format!("raw-{n}");
        let p = submit::prepare(o, channel, &s, &[], &citizen_addr(n), Some(&key))
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.message().both()))?;
        out.push(p);
    }
    Ok(out)
}

struct Row3 {
    clients: usize,
    http: Sample,
    raw: Option<Sample>,
    batch: f64,
}

fn free_port() -> anyhow::Result<SocketAddr> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

/// Starts `yidu serve` in this process on a fresh database with the demo registry (no
/// history) and runs every client count; returns the rows of the table.
async fn bench(
    label: &str,
    database_url: &str,
    data_dir: &std::path::Path,
    clients: &[usize],
    run: Duration,
    raw_baseline: bool,
) -> anyhow::Result<Vec<Row3>> {
    let listen = free_port()?;
    let mut config = Config::load(&Overrides {
        listen: Some(listen),
        data: Some(data_dir.to_path_buf()),
        database: Some(database_url.to_string()),
        ..Overrides::default()
    })?;
    config.demo_history = 0;
    // Every connection comes from 127.0.0.1: as behind a reverse proxy, the address of
    // each simulated citizen comes in X-Forwarded-For. The limits stay at their defaults
    // (raising them for one shared address would make every check count that address's
    // whole history, which no real deployment does).
    config.trust_forwarded_for = true;
    println!(
        "{label}: group commit max {} jobs per transaction, wait {} us (SQLite only); submissions written in batches: {} (YIDU_WRITE_BATCH_REQUESTS); route cache {} ms",
        config.group_commit.max_batch,
        config.group_commit.max_wait.as_micros(),
        config.group_commit.batch_requests,
        config.opinions.route_cache_ms
    );
    let db = yidu_app::server::connect(&config).await?;
    let server = tokio::spawn(yidu_app::server::serve_db(db.clone(), config.clone(), true));
    let base = format!("http://{listen}");
    let started = Instant::now();
    while reqwest::get(format!("{base}/healthz")).await.is_err() {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(120) && !server.is_finished(),
            "the server did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The server's own handle: the raw baseline writes through the same writer.
    let o = yidu_app::router::opinions(db.clone(), &config)?;
    let reg = Arc::new(Registry::load(&db).await?);
    println!(
        "{label}: {} deputy codes, {} station codes, {} grids, {} categories",
        reg.deputies.len(),
        reg.stations.len(),
        reg.grids.len(),
        reg.categories.len()
    );
    let seq = Arc::new(AtomicU64::new(0));
    let mut rows = Vec::new();
    for &n in clients {
        let raw = if raw_baseline && env_or("YIDU_BENCH_RAW", "on") != "off" {
            let prepared = prepare(&o, &reg, &seq, 8_000).await?;
            Some(raw_run(&o, prepared, n, run).await?)
        } else {
            None
        };
        let before = db.write_stats();
        let io_before = sqlite_writer_io();
        let threads_before = thread_stats();
        let http = http_run(&base, &reg, n, Duration::from_secs(1), run, &seq).await?;
        let after = db.write_stats();
        // Submissions per COMMIT: a batch of submissions is one job of the group commit.
        let submissions = (after.jobs - before.jobs) - (after.batches - before.batches)
            + (after.batched_requests - before.batched_requests);
        let commits = (after.commits - before.commits).max(1) as f64;
        let batch = submissions as f64 / commits;
        if let Some(ms) = http.cpu_ms_per_ok() {
            println!(
                "  CPU per acknowledgement: {ms:.3} ms (server and load generator, {:.1} cores busy)",
                http.cpu_secs.unwrap_or(0.0) / run.as_secs_f64()
            );
        }
        let batches = after.batches - before.batches;
        let (writer_thread, all_waits) = thread_deltas(&threads_before, &thread_stats());
        println!(
            "  context switches (waits) of all threads per acknowledgement: {:.1}",
            all_waits as f64
                / (http.ok as f64 * (run.as_secs_f64() + 1.0) / run.as_secs_f64()).max(1.0)
        );
        if let Some((ms, waits)) = writer_thread {
            println!(
                "  busiest SQLite thread (the writer): {:.2} ms CPU and {:.1} waits per commit, {:.2} cores",
                ms / commits,
                waits as f64 / commits,
                ms / 1000.0 / (run.as_secs_f64() + 1.0),
            );
        }
        if let (Some(a), Some(b)) = (io_before, sqlite_writer_io()) {
            println!(
                "  SQLite connection threads: {:.0} KB in {:.0} write calls per commit, {:.1} KB per submission",
                (b.bytes - a.bytes) as f64 / commits / 1024.0,
                (b.calls - a.calls) as f64 / commits,
                (b.bytes - a.bytes) as f64 / submissions.max(1) as f64 / 1024.0,
            );
        }
        println!(
            "  writer per commit: {:.2} ms running jobs, {:.2} ms in COMMIT ({} commits); \
             per commit {:.1} jobs, of them {:.2} submission batches of {:.1} submissions",
            (after.run_micros - before.run_micros) as f64 / commits / 1000.0,
            (after.commit_micros - before.commit_micros) as f64 / commits / 1000.0,
            commits,
            (after.jobs - before.jobs) as f64 / commits,
            batches as f64 / commits,
            (after.batched_requests - before.batched_requests) as f64 / batches.max(1) as f64,
        );
        println!(
            "  N={n:>3}  HTTP {:>7.0}/s p50 {:>6.2} ms p99 {:>6.2} ms ({} acknowledged, {} refused, {:.1} submissions per commit){}",
            http.rate(),
            http.pct_ms(0.5),
            http.pct_ms(0.99),
            http.ok,
            http.refused,
            batch,
            raw.as_ref()
                .map(|r| format!(
                    "   raw {:>7.0}/s p50 {:>6.2} ms p99 {:>6.2} ms",
                    r.rate(),
                    r.pct_ms(0.5),
                    r.pct_ms(0.99)
                ))
                .unwrap_or_default()
        );
        rows.push(Row3 {
            clients: n,
            http,
            raw,
            batch,
        });
    }
    server.abort();
    let _ = server.await;
    db.close().await;
    Ok(rows)
}

fn table(label: &str, rows: &[Row3]) {
    println!("\n{label}");
    println!("| clients | HTTP acks/s | p50 ms | p99 ms | submissions/commit | raw rows/s | raw p99 ms | ratio HTTP/raw |");
    println!("|---|---|---|---|---|---|---|---|");
    for r in rows {
        let (raw_rate, raw_p99, ratio) = match &r.raw {
            Some(raw) => (
                format!("{:.0}", raw.rate()),
                format!("{:.2}", raw.pct_ms(0.99)),
                format!("{:.2}", r.http.rate() / raw.rate()),
            ),
            None => ("-".into(), "-".into(), "-".into()),
        };
        println!(
            "| {} | {:.0} | {:.2} | {:.2} | {:.1} | {raw_rate} | {raw_p99} | {ratio} |",
            r.clients,
            r.http.rate(),
            r.http.pct_ms(0.5),
            r.http.pct_ms(0.99),
            r.batch
        );
    }
    if let Some(r) = rows.iter().find(|r| r.clients == TARGET_CLIENTS) {
        let p99 = r.http.pct_ms(0.99);
        println!(
            "target at {TARGET_CLIENTS} clients: p99 {p99:.2} ms <= {TARGET_P99_MS} ms: {}",
            if p99 <= TARGET_P99_MS {
                "met"
            } else {
                "NOT met"
            }
        );
        if let Some(raw) = &r.raw {
            let ratio = r.http.rate() / raw.rate();
            println!(
                "target at {TARGET_CLIENTS} clients: ratio {ratio:.2} >= {TARGET_RATIO}: {}",
                if ratio >= TARGET_RATIO {
                    "met"
                } else {
                    "NOT met"
                }
            );
        }
    }
}

/// A fresh PostgreSQL database for the run, or None (with the reason) when the server
/// cannot be reached.
async fn postgres_database(server: &str) -> Option<String> {
    match yidu_db::testing::fresh_postgres_url(server).await {
        Ok((url, _)) => Some(url),
        Err(e) => {
            println!("\nPostgreSQL skipped: {e}");
            None
        }
    }
}

async fn drop_database(server: &str, url: &str) -> anyhow::Result<()> {
    let name = url.rsplit('/').next().unwrap_or_default();
    anyhow::ensure!(name.starts_with("yidu_test_"), "not a benchmark database");
    let admin = sqlx::AnyPool::connect(server).await?;
    sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&admin)
        .await?;
    admin.close().await;
    Ok(())
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| default.to_string())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // The server's log, when asked for: a refused submission prints only its answer.
    if let Ok(f) = std::env::var("YIDU_BENCH_LOG") {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(f))
            .with_thread_ids(true)
            .with_writer(std::io::stderr)
            .init();
    }
    let run = Duration::from_secs(env_or("YIDU_BENCH_SECONDS", "5").parse()?);
    let clients: Vec<usize> = env_or("YIDU_BENCH_CLIENTS", "1,8,64")
        .split(',')
        .map(|s| s.trim().parse())
        .collect::<Result<_, _>>()?;
    println!(
        "bench_intake: {} build, {} CPUs, {} s per run after 1 s warm-up, clients {clients:?}",
        if cfg!(debug_assertions) {
            "DEBUG"
        } else {
            "release"
        },
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        run.as_secs()
    );
    println!(
        "rate limits: defaults (20 per address per hour, 10 per phone per day); for the benchmark \
         trust_forwarded_for=true and each submission comes from its own X-Forwarded-For \
         address and phone, so the limits are checked but refuse nothing"
    );
    println!("durability: SQLite WAL + synchronous=FULL; only 2xx answers (receipts after COMMIT) are counted");

    let dir = std::env::temp_dir().join(format!("yidu-bench-intake-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let url = format!("sqlite://{}/yidu.db", dir.display());
    let sqlite = bench("SQLite", &url, &dir, &clients, run, true).await;
    std::fs::remove_dir_all(&dir).ok();
    let sqlite = sqlite?;

    let pg_server = env_or(
        "YIDU_BENCH_POSTGRES",
        "postgres://postgres@127.0.0.1:5432/postgres",
    );
    let mut postgres = None;
    if pg_server != "off" {
        if let Some(pg) = postgres_database(&pg_server).await {
            let dir =
                std::env::temp_dir().join(format!("yidu-bench-intake-pg-{}", std::process::id()));
            std::fs::create_dir_all(&dir)?;
            let rows = bench("PostgreSQL", &pg, &dir, &clients, run, true).await;
            std::fs::remove_dir_all(&dir).ok();
            drop_database(&pg_server, &pg).await?;
            postgres = Some(rows?);
        }
    } else {
        println!("\nPostgreSQL skipped (YIDU_BENCH_POSTGRES=off)");
    }

    table("SQLite (raw = one transaction per submission through the one writer connection, WAL, synchronous=FULL)", &sqlite);
    if let Some(rows) = &postgres {
        table(
            "PostgreSQL (raw = one transaction per submission, pool of connections)",
            rows,
        );
    }
    Ok(())
}
