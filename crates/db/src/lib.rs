//! Storage for every room: one [`Db`] handle over SQLite or PostgreSQL, chosen at run
//! time by URL, with one code path for queries.
//!
//! Queries are plain SQL written once in the dialect both engines share, with `$1`-style
//! placeholders, and run through sqlx's `Any` driver. Column types are kept to what both
//! engines agree on (BIGINT, TEXT, DOUBLE PRECISION, BLOB/BYTEA); booleans are stored as
//! 0/1 integers and times as UTC milliseconds. The few dialect-specific spots ask
//! [`Db::backend`]. ARCHITECTURE.md explains why this and not Diesel.
//!
//! SQLite has one writer: [`Db::begin`] hands out transactions from a one-connection
//! writer pool, so writers queue in the process instead of failing with SQLITE_BUSY,
//! while reads go to a pool of reader connections (WAL mode lets them run during writes).
//! Hot write paths use [`Db::write`] instead: group commit (see [`write`]), so that many
//! requests share one fsync on SQLite.

pub mod batch;
pub mod checkpoint;
pub mod migrate;
pub mod placeholders;
pub mod testing;
pub mod write;

pub use batch::Batch;
pub use placeholders::positional;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
pub use write::{BoxFuture, GroupCommit, WriteStats};

pub use sqlx::any::AnyRow;
pub use sqlx::{Any, AnyConnection, AnyPool, Row};

/// A write transaction. Commit it; dropping it rolls back.
pub type Tx = sqlx::Transaction<'static, Any>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// How SQLite write transactions start: with the write lock taken at once. A deferred
/// transaction whose first statement reads takes a snapshot, and if any other connection
/// writes before its first write (the background workers still do, through the reader
/// pool), that first write fails with SQLITE_BUSY_SNAPSHOT at once, without waiting, and
/// took every job of the group commit with it. IMMEDIATE waits its turn instead.
pub(crate) const SQLITE_BEGIN: &str = "BEGIN IMMEDIATE";

/// WAL pages after which the SQLite writer's COMMIT checkpoints (see `connect_with`).
pub const WAL_AUTOCHECKPOINT_PAGES: u32 = 40_000;

#[derive(Debug, Clone)]
pub struct DbOptions {
    /// Connections for reads (SQLite) or for everything (PostgreSQL).
    pub max_connections: u32,
    /// SQLite `synchronous` setting: FULL makes every commit durable across power loss.
    pub sqlite_synchronous: String,
    /// SQLite page cache of each connection, in KiB (`PRAGMA cache_size = -N`). Each of
    /// the up to `max_connections` + 1 connections fills its own; the file's pages are
    /// also in the operating system's cache, so a smaller one costs a system call per
    /// page read instead of a disk read. 512 rather than SQLite's 2000: the idle server
    /// with 100,000 items held 14 MB less after the same pages (bench/memory/README.md,
    /// later on 2026-12-07).
    pub sqlite_cache_kb: u32,
    /// The SQLite writer connection's page cache, in KiB. A commit of intake dirties
    /// ~850 pages (3.4 MB); with the readers' small cache SQLite spilled dirty pages into
    /// the WAL in the middle of the transaction and read pages back that it had just
    /// evicted. The writer gives back what it holds when it has been idle a while
    /// (`PRAGMA shrink_memory`, see [`write`]), so the idle server does not keep it.
    pub sqlite_writer_cache_kb: u32,
    /// Readers refuse to write (`PRAGMA query_only`): for tests that check a path writes
    /// only through the writer. Off in service: some background work still writes
    /// through the reader pool (opinions README, "Eighth run").
    pub sqlite_readers_query_only: bool,
    /// How [`Db::write`] batches jobs on SQLite.
    pub group_commit: GroupCommit,
}

impl Default for DbOptions {
    fn default() -> Self {
        DbOptions {
            max_connections: 8,
            sqlite_synchronous: "FULL".into(),
            sqlite_cache_kb: 512,
            sqlite_writer_cache_kb: 16 * 1024,
            sqlite_readers_query_only: false,
            group_commit: GroupCommit::default(),
        }
    }
}

#[derive(Clone)]
pub struct Db {
    backend: Backend,
    read: AnyPool,
    write: AnyPool,
    display_url: String,
    /// The group-commit writer (SQLite only).
    writer: Option<Arc<write::Writer>>,
    counters: Arc<write::Counters>,
    /// The queues of [`Db::write_batched`].
    batchers: Arc<batch::Batchers>,
    /// Whether [`Db::write_batched`] batches (else each request is its own job).
    batch_requests: bool,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Db({})", self.display_url)
    }
}

/// Hides the password in a database URL before it is logged.
pub fn redact_url(url: &str) -> String {
    if let (Some(scheme_end), Some(at)) = (url.find("://"), url.rfind('@')) {
        let creds = &url[scheme_end + 3..at];
        if let Some(colon) = creds.find(':') {
            return format!(
                "{}{}:***{}",
                &url[..scheme_end + 3],
                &creds[..colon],
                &url[at..]
            );
        }
    }
    url.to_string()
}

fn backend_of(url: &str) -> anyhow::Result<Backend> {
    if url.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Backend::Postgres)
    } else {
        anyhow::bail!(
            "数据库地址须以 sqlite:// 或 postgres:// 开头 / database URL must start with sqlite:// or postgres://: {}",
            redact_url(url)
        )
    }
}

/// Path of the database file in a `sqlite://` URL (None for in-memory databases).
pub fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or("");
    if path.is_empty() || path == ":memory:" {
        None
    } else {
        Some(std::path::PathBuf::from(path))
    }
}

impl Db {
    pub async fn connect(url: &str) -> anyhow::Result<Db> {
        Db::connect_with(url, &DbOptions::default()).await
    }

    pub async fn connect_with(url: &str, opts: &DbOptions) -> anyhow::Result<Db> {
        sqlx::any::install_default_drivers();
        let backend = backend_of(url)?;
        let display_url = redact_url(url);
        match backend {
            Backend::Sqlite => {
                let mut url = url.to_string();
                if let Some(path) = sqlite_path(&url) {
                    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                        std::fs::create_dir_all(dir)?;
                    }
                }
                if !url.contains("mode=") {
                    url.push_str(if url.contains('?') {
                        "&mode=rwc"
                    } else {
                        "?mode=rwc"
                    });
                }
                let sync = match opts.sqlite_synchronous.to_ascii_uppercase().as_str() {
                    "OFF" => "OFF",
                    "NORMAL" => "NORMAL",
                    "EXTRA" => "EXTRA",
                    _ => "FULL",
                };
                let pragmas: Vec<String> = vec![
                    "PRAGMA journal_mode = WAL".into(),
                    "PRAGMA foreign_keys = ON".into(),
                    "PRAGMA busy_timeout = 10000".into(),
                    format!("PRAGMA synchronous = {sync}"),
                    format!("PRAGMA cache_size = -{}", opts.sqlite_cache_kb.max(64)),
                ];
                let make = |max: u32, extra: &[String]| {
                    let mut pragmas = pragmas.clone();
                    pragmas.extend_from_slice(extra);
                    sqlx::pool::PoolOptions::<Any>::new()
                        .max_connections(max)
                        .min_connections(1)
                        // A connection left over from a busy moment closes after a minute
                        // idle, and its page cache goes with it (the pool's default is ten
                        // minutes).
                        .idle_timeout(Duration::from_secs(60))
                        .acquire_timeout(Duration::from_secs(30))
                        // sqlx pings a connection before lending it (and again when it
                        // comes back: that one cannot be turned off). For a connection
                        // in this process that is a round trip to its thread for nothing:
                        // two context switches on every read of every request.
                        .test_before_acquire(false)
                        .after_connect(move |conn, _meta| {
                            let pragmas = pragmas.clone();
                            Box::pin(async move {
                                for pragma in &pragmas {
                                    sqlx::query(pragma).execute(&mut *conn).await?;
                                }
                                Ok(())
                            })
                        })
                };
                // The writer is created first so that WAL mode is set before readers open.
                let writer_pragmas = [
                    format!(
                        "PRAGMA cache_size = -{}",
                        opts.sqlite_writer_cache_kb.max(64)
                    ),
                    // Every job of the group commit runs in a SAVEPOINT, and its journal
                    // (the pages' earlier content) went to a temporary file once past
                    // 64 KiB: a third of all bytes the writer wrote under intake. In
                    // memory, a large statement (a migration) holds its journal in memory
                    // while it runs.
                    "PRAGMA temp_store = MEMORY".to_string(),
                    // The writer checkpoints in the COMMIT that takes the WAL past this
                    // many pages. At SQLite's 1,000 nearly every commit of an intake batch
                    // (~850 pages) ran one, 4.0 ms per COMMIT against 2.6 at 10,000
                    // (opinions README, "Eighth run"). Checkpoints now run in the
                    // background (`checkpoint`), and this one is the backstop that lets
                    // the WAL start over under sustained writes; the WAL file can reach
                    // about 160 MB.
                    format!("PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}"),
                ];
                let write = make(1, &writer_pragmas).connect(&url).await?;
                let read_pragmas: &[String] = if opts.sqlite_readers_query_only {
                    &["PRAGMA query_only = ON".to_string()]
                } else {
                    &[]
                };
                let read = make(opts.max_connections.max(2), read_pragmas)
                    .connect(&url)
                    .await?;
                let counters = Arc::new(write::Counters::default());
                Ok(Db {
                    backend,
                    read: read.clone(),
                    writer: Some(Arc::new(write::Writer::new(
                        write.clone(),
                        read,
                        opts.group_commit,
                        counters.clone(),
                    ))),
                    write,
                    display_url,
                    counters,
                    batchers: Arc::default(),
                    batch_requests: opts.group_commit.batch_requests,
                })
            }
            Backend::Postgres => {
                let pool = sqlx::pool::PoolOptions::<Any>::new()
                    .max_connections(opts.max_connections.max(2))
                    .acquire_timeout(Duration::from_secs(30))
                    .connect(url)
                    .await?;
                Ok(Db {
                    backend,
                    read: pool.clone(),
                    write: pool,
                    display_url,
                    writer: None,
                    counters: Arc::default(),
                    batchers: Arc::default(),
                    batch_requests: opts.group_commit.batch_requests,
                })
            }
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Pool for reads.
    pub fn pool(&self) -> &AnyPool {
        &self.read
    }

    /// Starts a write transaction.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.write.begin_with(SQLITE_BEGIN).await,
            Backend::Postgres => self.write.begin().await,
        }
    }

    /// Runs `job` in a write transaction and answers once its writes are durable.
    ///
    /// On SQLite the job joins a group commit (see [`write`]): it runs inside its own
    /// SAVEPOINT in a transaction shared with concurrent jobs; if it fails only its own
    /// writes are rolled back; the result comes back after the shared COMMIT, and if that
    /// COMMIT fails the job gets an error even though it ran. On PostgreSQL, which has
    /// many writers, each job gets a transaction of its own.
    ///
    /// The job must not commit or roll back itself, and should only run SQL: it holds
    /// the single SQLite writer while it runs, so slow work (tokenizing, encryption)
    /// belongs before the call. Never call it while holding a [`Db::begin`] transaction:
    /// on SQLite both need the one writer connection.
    pub async fn write<T, E, F>(&self, job: F) -> Result<T, E>
    where
        F: for<'c> FnOnce(&'c mut Tx) -> BoxFuture<'c, Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: From<sqlx::Error> + Send + 'static,
    {
        if let Some(writer) = &self.writer {
            return writer.submit(job).await;
        }
        let mut tx = self.write.begin().await?;
        let out = job(&mut tx).await;
        self.counters.add(1, 1);
        let out = out?;
        tx.commit().await?;
        Ok(out)
    }

    /// Jobs run through [`Db::write`] and the commits they took (since connecting).
    pub fn write_stats(&self) -> WriteStats {
        self.counters.get()
    }

    /// Cheap round trip for readiness checks.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1")
            .execute(&self.read)
            .await
            .map(|_| ())
    }

    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }

    pub fn display_url(&self) -> &str {
        &self.display_url
    }

    /// A consistent copy of a SQLite database taken while it is in use (`VACUUM INTO`
    /// reads one snapshot, so concurrent writers neither block it nor tear it).
    pub async fn sqlite_backup(&self, dest: &std::path::Path) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.backend == Backend::Sqlite,
            "备份命令只适用于 SQLite；PostgreSQL 请使用 pg_dump / backup applies to SQLite only; use pg_dump for PostgreSQL"
        );
        anyhow::ensure!(
            !dest.exists(),
            "目标文件已存在 / destination already exists: {}",
            dest.display()
        );
        let dest = dest.to_string_lossy().replace('\'', "''");
        sqlx::raw_sql(&format!("VACUUM INTO '{dest}'"))
            .execute(&self.read)
            .await?;
        Ok(())
    }
}

/// A nullable floating-point value to bind, as text, where the SQL reads it with
/// `CAST($n AS DOUBLE PRECISION)`.
///
/// Why: sqlx 0.8.6's Any driver binds a NULL `f64` to PostgreSQL as a NULL *float4*
/// (its Real/Double mapping is swapped for nulls). PostgreSQL then prepares the statement with
/// a float4 parameter, the connection caches it, and the next execution of the same statement
/// on that connection with a real `f64` (8 bytes) fails with "incorrect binary data format".
/// Text binds the same way whether the value is there or not, and the cast works on both
/// engines (SQLite gives the column REAL affinity). Rust prints an f64 as the shortest text
/// that reads back as the same number, so nothing is lost.
pub fn opt_f64(v: Option<f64>) -> Option<String> {
    v.filter(|x| x.is_finite()).map(|x| x.to_string())
}

/// SQL fragment for a case-insensitive LIKE that both engines accept.
pub fn ilike(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "LIKE",
        Backend::Postgres => "ILIKE",
    }
}

/// Escapes `%`, `_` and `\` for a LIKE pattern used with `ESCAPE '\'`.
pub fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `%text%` for a contains-search, escaped.
pub fn contains_pattern(s: &str) -> String {
    format!("%{}%", like_escape(s.trim()))
}

impl FromStr for Backend {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        backend_of(s)
    }
}
