//! The command line: migrate, demo, users, audit verify and online backup, run as the
//! real binary against the backend under test.

use crate::helpers::TestApp;
use std::process::{Command, Output};
use yidu_db::{Backend, Db, Row};

fn yidu(db_url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_yidu"))
        .args(args)
        .arg("--database")
        .arg(db_url)
        .env("YIDU_LOG", "warn")
        .env("YIDU_DEMO_HISTORY", "300")
        // Key files go to a directory of the test run's own, never into the source tree.
        .env(
            "YIDU_DATA",
            std::env::temp_dir().join(format!("yidu-cli-data-{}", std::process::id())),
        )
        .env_remove("YIDU_NEW_PASSWORD")
        .output()
        .expect("run yidu")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test]
async fn migrate_demo_users_and_audit_verify_from_the_command_line() {
    let app = TestApp::spawn_empty().await;
    let url = app.config.database_url.clone();
    let o = yidu(&url, &["migrate"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = yidu(&url, &["demo"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("deputy1"));
    let again = yidu(&url, &["demo"]);
    assert!(!again.status.success(), "demo refuses a non-empty database");
    assert!(text(&again).contains("not empty"), "{}", text(&again));

    let district: i64 = sqlx::query("SELECT id FROM regions WHERE level = 'district'")
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    let d = district.to_string();
    let o = yidu(
        &url,
        &[
            "user",
            "add",
            "alice",
            "--role",
            "office",
            "--scope",
            &d,
            "--name",
            "张三",
            "--password",
            "Strong#2026",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let bad = yidu(
        &url,
        &[
            "user",
            "add",
            "bob",
            "--role",
            "emperor",
            "--name",
            "x",
            "--password",
            "weak",
        ],
    );
    assert!(!bad.status.success());
    let msg = text(&bad);
    assert!(msg.contains("role") && msg.contains("password"), "{msg}");
    let o = yidu(&url, &["user", "disable", "alice"]);
    assert!(o.status.success(), "{}", text(&o));

    let o = yidu(&url, &["audit", "verify"]);
    assert!(o.status.success(), "{}", text(&o));
    // Tamper with one record: verify fails and names it.
    let id: i64 = sqlx::query(
        "SELECT id FROM audit_log WHERE action = 'user.create' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap()
    .get(0);
    let mut tx = app.db.begin().await.unwrap();
    sqlx::query("UPDATE audit_log SET actor_name = 'someone-else' WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let o = yidu(&url, &["audit", "verify"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("record id {id}")),
        "{}",
        text(&o)
    );
}

#[test]
fn every_command_has_help() {
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["migrate", "--help"],
        vec!["demo", "--help"],
        vec!["user", "add", "--help"],
        vec!["user", "passwd", "--help"],
        vec!["user", "disable", "--help"],
        vec!["import", "--help"],
        vec!["export", "--help"],
        vec!["backup", "--help"],
        vec!["audit", "verify", "--help"],
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_yidu"))
            .args(&args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("Usage"),
            "{args:?}"
        );
    }
}

async fn table_dump(db: &Db, sql: &str) -> Vec<String> {
    sqlx::query(sql)
        .fetch_all(db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{}|{}|{}",
                r.get::<i64, _>(0),
                r.get::<String, _>(1),
                r.get::<String, _>(2)
            )
        })
        .collect()
}

#[tokio::test]
async fn backup_taken_under_writes_is_consistent_and_restores_identical() {
    let app = TestApp::spawn().await;
    if app.db.backend() != Backend::Sqlite {
        // PostgreSQL deployments back up with pg_dump; `yidu backup` is for SQLite.
        let o = yidu(&app.config.database_url, &["backup", "/tmp/never.db"]);
        assert!(!o.status.success());
        return;
    }
    let url = app.config.database_url.clone();
    let dir = std::env::temp_dir().join(format!("yidu-backup-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let first = dir.join("under-writes.db");
    let _ = std::fs::remove_file(&first);

    // Writers keep appending audited changes while the backup runs.
    let db = app.db.clone();
    let writer = tokio::spawn(async move {
        for i in 0..300 {
            let actor = yidu_audit::Actor::system("test");
            let e = yidu_audit::Entry::new("test.write", "test", i).summary(format!("write {i}"));
            yidu_audit::service::record_alone(&db, &actor, e)
                .await
                .unwrap();
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let path = first.to_str().unwrap().to_string();
    let o = tokio::task::spawn_blocking(move || yidu(&url, &["backup", &path]))
        .await
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    writer.await.unwrap();

    // The copy is a consistent database: integrity holds and its audit chains verify.
    let copy = Db::connect(&format!("sqlite://{}", first.display()))
        .await
        .unwrap();
    let ok: String = sqlx::query("PRAGMA integrity_check")
        .fetch_one(copy.pool())
        .await
        .unwrap()
        .get(0);
    assert_eq!(ok, "ok");
    let report = yidu_audit::verify(&copy).await.unwrap();
    assert!(report.first_problem.is_none(), "{report:?}");
    copy.close().await;

    // Once writes stop, a backup equals the live database row for row.
    let second = dir.join("quiet.db");
    let _ = std::fs::remove_file(&second);
    let o = yidu(
        &app.config.database_url,
        &["backup", second.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", text(&o));
    let restored = Db::connect(&format!("sqlite://{}", second.display()))
        .await
        .unwrap();
    for sql in [
        "SELECT id, hash, summary FROM audit_log ORDER BY id",
        "SELECT id, code, name FROM deputies ORDER BY id",
        "SELECT id, username, password_hash FROM users ORDER BY id",
    ] {
        assert_eq!(
            table_dump(&app.db, sql).await,
            table_dump(&restored, sql).await,
            "{sql}"
        );
    }
    restored.close().await;
    let exists = yidu(
        &app.config.database_url,
        &["backup", second.to_str().unwrap()],
    );
    assert!(!exists.status.success(), "never overwrites a file");
    let _ = std::fs::remove_dir_all(dir);
}

/// One raw HTTP/1.1 GET, so the test needs no HTTP client library.
fn http_get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[tokio::test]
async fn serve_logs_json_and_shuts_down_gracefully_on_sigterm() {
    use std::io::BufRead;
    let app = TestApp::spawn_empty().await;
    let data = app.config.data_dir.clone();
    let mut child = Command::new(env!("CARGO_BIN_EXE_yidu"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--log-format",
            "json",
            "--data",
        ])
        .arg(&data)
        .arg("--database")
        .arg(&app.config.database_url)
        .env_remove("MALLOC_ARENA_MAX")
        .env_remove("MALLOC_MMAP_THRESHOLD_")
        .env("MALLOC_TRIM_THRESHOLD_", "262144")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let addr = first
        .split("http://")
        .nth(1)
        .expect("the first line names the URL")
        .trim()
        .to_string();
    let resp = http_get(&addr, "/readyz");
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    let pid = child.id().to_string();
    // It restarted itself in place (same process) with glibc's arenas limited (main.rs).
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let env = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
        let has = |var: &[u8]| env.split(|b| *b == 0).any(|v| v == var);
        assert!(has(b"MALLOC_ARENA_MAX=2"), "serve runs with two arenas");
        assert!(
            has(b"MALLOC_MMAP_THRESHOLD_=131072"),
            "and a fixed mmap threshold"
        );
        // A tunable the operator set is kept.
        assert!(
            has(b"MALLOC_TRIM_THRESHOLD_=262144"),
            "operator's value kept"
        );
    }
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "graceful shutdown exits 0: {status:?}");
    let mut logs = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut logs).unwrap();
    let lines: Vec<&str> = logs.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty());
    for l in &lines {
        let v: serde_json::Value =
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {l}"));
        assert!(v["level"].is_string(), "{l}");
    }
    assert!(logs.contains("shutting down"), "{logs}");
}
