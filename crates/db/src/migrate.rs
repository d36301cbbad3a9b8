//! Embedded migrations, one tree per engine, kept in step by a test that compares the
//! resulting schemas (`tests/schema_parity.rs` in the app crate). Each migration has an
//! up and a down script; `yidu migrate` and server start run what is pending.

use crate::{Backend, Db};
use sha2::{Digest, Sha256};
use sqlx::{Acquire, Row};

pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sqlite_up: &'static str,
    pub sqlite_down: &'static str,
    pub postgres_up: &'static str,
    pub postgres_down: &'static str,
}

impl Migration {
    fn up(&self, backend: Backend) -> &'static str {
        match backend {
            Backend::Sqlite => self.sqlite_up,
            Backend::Postgres => self.postgres_up,
        }
    }
    fn down(&self, backend: Backend) -> &'static str {
        match backend {
            Backend::Sqlite => self.sqlite_down,
            Backend::Postgres => self.postgres_down,
        }
    }
    fn checksum(&self, backend: Backend) -> String {
        hex::encode(Sha256::digest(self.up(backend).as_bytes()))
    }
}

macro_rules! migration {
    ($version:expr, $name:literal) => {
        Migration {
            version: $version,
            name: $name,
            sqlite_up: include_str!(concat!("../migrations/sqlite/", $name, ".up.sql")),
            sqlite_down: include_str!(concat!("../migrations/sqlite/", $name, ".down.sql")),
            postgres_up: include_str!(concat!("../migrations/postgres/", $name, ".up.sql")),
            postgres_down: include_str!(concat!("../migrations/postgres/", $name, ".down.sql")),
        }
    };
}

/// Every migration, oldest first. The room that owns the tables is named in each file.
pub static MIGRATIONS: &[Migration] = &[
    migration!(1, "0001_registry"),
    migration!(2, "0002_accounts_audit"),
    migration!(3, "0003_opinions"),
    migration!(4, "0004_cockpit"),
    migration!(5, "0005_outbound"),
    migration!(6, "0006_channels"),
    migration!(7, "0007_search"),
    migration!(8, "0008_opinions_more"),
    migration!(9, "0009_classes"),
    migration!(10, "0010_text_assist"),
    migration!(11, "0011_queue_order"),
    migration!(12, "0012_cockpit_clustered"),
    migration!(13, "0013_search_scope"),
    migration!(14, "0014_held_deadline"),
    migration!(15, "0015_search_narrow"),
    migration!(16, "0016_search_buckets"),
];

pub fn latest_version() -> i64 {
    MIGRATIONS.last().map(|m| m.version).unwrap_or(0)
}

const LOCK_KEY: i64 = 7_262_001;

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at BIGINT NOT NULL
)";

/// Versions applied so far, with their checksums.
pub async fn applied(db: &Db) -> anyhow::Result<Vec<(i64, String)>> {
    sqlx::query(CREATE_TABLE).execute(&db.write).await?;
    let rows = sqlx::query("SELECT version, checksum FROM schema_migrations ORDER BY version")
        .fetch_all(&db.write)
        .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get::<i64, _>(0), r.get::<String, _>(1)))
        .collect())
}

/// Number of migrations not yet applied (0 means the schema is current).
pub async fn pending(db: &Db) -> anyhow::Result<usize> {
    let done = sqlx::query("SELECT COUNT(*) FROM schema_migrations WHERE version <= $1")
        .bind(latest_version())
        .fetch_one(db.pool())
        .await
        .map(|r| r.get::<i64, _>(0))
        .unwrap_or(0);
    Ok(MIGRATIONS.len().saturating_sub(done as usize))
}

/// Applies every pending migration; returns the versions applied. Safe to call from
/// several processes at once: PostgreSQL serializes them with an advisory lock, SQLite
/// with its write lock.
pub async fn run(db: &Db) -> anyhow::Result<Vec<i64>> {
    let backend = db.backend();
    let mut conn = db.write.acquire().await?;
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(LOCK_KEY)
            .execute(&mut *conn)
            .await?;
    }
    let result = run_locked(&mut conn, backend).await;
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(LOCK_KEY)
            .execute(&mut *conn)
            .await?;
    }
    result
}

async fn run_locked(conn: &mut sqlx::AnyConnection, backend: Backend) -> anyhow::Result<Vec<i64>> {
    sqlx::query(CREATE_TABLE).execute(&mut *conn).await?;
    let done: Vec<(i64, String)> =
        sqlx::query("SELECT version, checksum FROM schema_migrations ORDER BY version")
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| (r.get::<i64, _>(0), r.get::<String, _>(1)))
            .collect();
    let mut applied_now = Vec::new();
    for m in MIGRATIONS {
        if let Some((_, sum)) = done.iter().find(|(v, _)| *v == m.version) {
            anyhow::ensure!(
                *sum == m.checksum(backend),
                "迁移 {} 已应用但内容被修改 / migration {} was applied but its script has since changed",
                m.name,
                m.name
            );
            continue;
        }
        let mut tx = conn.begin().await?;
        sqlx::raw_sql(m.up(backend))
            .execute(&mut *tx)
            .await
            .map_err(|e| anyhow::anyhow!("迁移失败 / migration {} failed: {e}", m.name))?;
        sqlx::query(
            "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(m.version)
        .bind(m.name)
        .bind(m.checksum(backend))
        .bind(yidu_kernel::clock::now_ms())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        tracing::info!(version = m.version, name = m.name, "migration applied");
        applied_now.push(m.version);
    }
    Ok(applied_now)
}

/// Reverts migrations newer than `target`, newest first (used by tests that check every
/// migration goes down and up again cleanly).
pub async fn revert_to(db: &Db, target: i64) -> anyhow::Result<Vec<i64>> {
    let backend = db.backend();
    let applied: Vec<i64> = applied(db).await?.into_iter().map(|(v, _)| v).collect();
    let mut reverted = Vec::new();
    for m in MIGRATIONS.iter().rev() {
        if m.version <= target || !applied.contains(&m.version) {
            continue;
        }
        let mut tx = db.write.begin().await?;
        sqlx::raw_sql(m.down(backend)).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM schema_migrations WHERE version = $1")
            .bind(m.version)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        reverted.push(m.version);
    }
    Ok(reverted)
}
