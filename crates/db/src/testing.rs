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
        drop_leftovers_once(&admin).await;
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

/// Test databases are not dropped when a test ends (its pools may still be open), so each
/// test process first drops those of earlier processes that have exited: the name carries
/// the creating process's id. Once per process; failures only leave leftovers behind.
async fn drop_leftovers_once(admin: &sqlx::AnyPool) {
    use sqlx::Row;
    use std::sync::atomic::{AtomicBool, Ordering};
    static DONE: AtomicBool = AtomicBool::new(false);
    if DONE.swap(true, Ordering::AcqRel) {
        return;
    }
    let Ok(rows) = sqlx::query(
        "SELECT CAST(datname AS TEXT) FROM pg_database WHERE datname LIKE 'yidu\\_test\\_%'",
    )
    .fetch_all(admin)
    .await
    else {
        return;
    };
    for row in rows {
        let Ok(name) = row.try_get::<String, _>(0) else {
            continue;
        };
        if !leftover_of_exited_process(&name) {
            continue;
        }
        // FORCE ends connections an exited process left half-closed (PostgreSQL 13+).
        let _ = sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .execute(admin)
            .await;
    }
}

/// True for `yidu_test_<pid>_<tag>` when no process `<pid>` runs on this machine.
fn leftover_of_exited_process(name: &str) -> bool {
    let Some(pid) = name
        .strip_prefix("yidu_test_")
        .and_then(|rest| rest.split('_').next())
        .and_then(|pid| pid.parse::<u32>().ok())
    else {
        return false;
    };
    pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists()
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

#[cfg(test)]
mod tests {
    #[test]
    fn only_databases_of_exited_processes_are_leftovers() {
        let me = std::process::id();
        assert!(!super::leftover_of_exited_process(&format!(
            "yidu_test_{me}_ab12"
        )));
        // Process ids are below 2^22 on Linux: this one cannot be running.
        assert!(super::leftover_of_exited_process(
            "yidu_test_4294967290_ab12"
        ));
        assert!(!super::leftover_of_exited_process("yidu_bench_search"));
        assert!(!super::leftover_of_exited_process("yidu_test_notapid_ab12"));
    }
}
