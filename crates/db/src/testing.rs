//! Fresh databases for tests: a temporary SQLite file by default, or a new PostgreSQL
//! database when `YIDU_TEST_POSTGRES` holds a server URL (CI always sets it). Under
//! `CI=true` a PostgreSQL URL that cannot be reached fails the test; it is never skipped.

use crate::Backend;
use rand::Rng;

/// The PostgreSQL server URL tests should use, if any.
pub fn postgres_server() -> Option<String> {
    std::env::var("YIDU_TEST_POSTGRES")
        .ok()
        .filter(|s| !s.trim().is_empty())
}

pub fn backend_under_test() -> Backend {
    if postgres_server().is_some() {
        Backend::Postgres
    } else {
        Backend::Sqlite
    }
}

/// A database URL nobody else uses. Keep the returned guard alive as long as the
/// database is needed: it owns the temporary directory of a SQLite database.
pub async fn fresh_database_url() -> anyhow::Result<(String, TempGuard)> {
    match postgres_server() {
        Some(server) => fresh_postgres_url(&server).await,
        None => fresh_sqlite_url(),
    }
}

/// A new, empty database on the given PostgreSQL server.
pub async fn fresh_postgres_url(server: &str) -> anyhow::Result<(String, TempGuard)> {
    let tag: u64 = rand::thread_rng().gen();
    let name = format!("yidu_test_{}_{:x}", std::process::id(), tag);
    {
        sqlx::any::install_default_drivers();
        let admin = sqlx::AnyPool::connect(server).await.map_err(|e| {
            anyhow::anyhow!(
                "PostgreSQL at {} is not reachable: {e}",
                crate::redact_url(server)
            )
        })?;
        sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
            .execute(&admin)
            .await?;
        admin.close().await;
        let base = match server.rfind('/') {
            Some(i) if i > "postgres://".len() => &server[..i],
            _ => server,
        };
        Ok((format!("{base}/{name}"), TempGuard { dir: None }))
    }
}

/// A new SQLite database file in a temporary directory.
pub fn fresh_sqlite_url() -> anyhow::Result<(String, TempGuard)> {
    let tag: u64 = rand::thread_rng().gen();
    let dir = std::env::temp_dir().join(format!("yidu-test-{}-{:x}", std::process::id(), tag));
    std::fs::create_dir_all(&dir)?;
    let url = format!("sqlite://{}/yidu.db", dir.display());
    Ok((url, TempGuard { dir: Some(dir) }))
}

/// Removes a temporary SQLite directory when dropped.
pub struct TempGuard {
    pub dir: Option<std::path::PathBuf>,
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
