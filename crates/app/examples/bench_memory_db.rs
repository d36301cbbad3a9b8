//! Builds the database of the idle-memory benchmark (bench/memory/run.sh) quickly: the
//! demo district and accounts plus `base` items of history from the real demo generator
//! (opinions, timelines, encrypted personal data), copied with new ids and tracking
//! numbers until there are `items`; then the real search reindex and the real cockpit
//! rebuild, so search tokens and counters are exactly what the server would have made.
//!
//!     cargo run --release -p yidu --example bench_memory_db -- <database-url> <data-dir> <items> [base]

use std::time::Instant;
use yidu_app::config::{Config, Overrides};
use yidu_db::{Backend, Db, Row};

async fn columns(db: &Db, table: &str) -> anyhow::Result<Vec<String>> {
    let sql = match db.backend() {
        Backend::Sqlite => "SELECT name FROM pragma_table_info($1) ORDER BY cid",
        Backend::Postgres => {
            "SELECT column_name FROM information_schema.columns WHERE table_name = $1 AND table_schema = current_schema() ORDER BY ordinal_position"
        }
    };
    let rows = sqlx::query(sql)
        .bind(table.to_string())
        .fetch_all(db.pool())
        .await?;
    Ok(rows
        .iter()
        .map(|r| r.get::<String, _>(0))
        .filter(|c| c != "id")
        .collect())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    anyhow::ensure!(
        args.len() >= 4,
        "usage: bench_memory_db <database-url> <data-dir> <items> [base]"
    );
    let items: i64 = args[3].parse()?;
    let base: i64 = args.get(4).map_or(Ok(20_000), |s| s.parse())?;
    let base = base.min(items);
    // The generator commits batch by batch: durability does not matter for a bench build.
    std::env::set_var("YIDU_SQLITE_SYNCHRONOUS", "OFF");
    std::env::set_var("YIDU_DEMO_HISTORY", base.to_string());
    let config = Config::load(&Overrides {
        database: Some(args[1].clone()),
        data: Some(args[2].clone().into()),
        ..Default::default()
    })?;
    let db = yidu_app::server::connect(&config).await?;
    let t = Instant::now();
    let report = yidu_app::demo::load(&db, &config).await?;
    println!(
        "  demo district and {} generated items in {:.0} s",
        report.history,
        t.elapsed().as_secs_f64()
    );

    // Copies of the generated items (and their timelines) under new ids.
    let t = Instant::now();
    let max: i64 = sqlx::query("SELECT COALESCE(MAX(id), 0) FROM opinions")
        .fetch_one(db.pool())
        .await?
        .get(0);
    let cols = columns(&db, "opinions").await?;
    let select: Vec<String> = cols
        .iter()
        .map(|c| match c.as_str() {
            "tracking_no" => "tracking_no || '-' || CAST($1 AS TEXT)".to_string(),
            "merged_into" => "merged_into + $1 * $2".to_string(),
            other => other.to_string(),
        })
        .collect();
    let ev_cols = columns(&db, "opinion_events").await?;
    let ev_select: Vec<String> = ev_cols
        .iter()
        .map(|c| {
            if c == "opinion_id" {
                "opinion_id + $1 * $2".to_string()
            } else {
                c.clone()
            }
        })
        .collect();
    let mut total = report.history as i64;
    let mut k = 1i64;
    while total < items {
        let take = (items - total).min(base);
        let mut tx = db.begin().await?;
        sqlx::query(&format!(
            "INSERT INTO opinions (id, {}) SELECT id + $1 * $2, {} FROM opinions WHERE id <= $2 AND id > $2 - $3",
            cols.join(", "),
            select.join(", ")
        ))
        .bind(k)
        .bind(max)
        .bind(take)
        .execute(&mut *tx)
        .await?;
        sqlx::query(&format!(
            "INSERT INTO opinion_events ({}) SELECT {} FROM opinion_events WHERE opinion_id <= $2 AND opinion_id > $2 - $3",
            ev_cols.join(", "),
            ev_select.join(", ")
        ))
        .bind(k)
        .bind(max)
        .bind(take)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        total += take;
        k += 1;
    }
    if db.backend() == Backend::Postgres {
        // Copied ids were given explicitly: move the sequence past them.
        sqlx::query("SELECT setval(pg_get_serial_sequence('opinions', 'id'), (SELECT MAX(id) FROM opinions))")
            .execute(db.pool())
            .await?;
    }
    println!(
        "  copied up to {total} items in {:.0} s",
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let o = yidu_app::router::opinions(db.clone(), &config)?;
    let n = yidu_opinions::service::search::reindex(&o)
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    println!(
        "  search index of {n} items rebuilt in {:.0} s",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let n = yidu_cockpit::counters::rebuild(&db, &o.calendar, o.config.reply_days).await?;
    println!(
        "  cockpit counters of {n} items rebuilt in {:.0} s",
        t.elapsed().as_secs_f64()
    );
    db.close().await;
    Ok(())
}
