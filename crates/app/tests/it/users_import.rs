//! Bulk user accounts from .xlsx: a clean file creates every user (who must change the
//! given or generated password at first login), a bad file lists every problem by row
//! and column and creates nothing, export re-imports, and the CLI and the page do the same.

use crate::helpers::{csrf_of_page, TestApp, TestResponse};
use axum::http::header;
use serde_json::json;
use std::collections::BTreeSet;
use std::process::Command;
use yidu_accounts::xlsx::{self, COLUMNS};
use yidu_db::Row;
use yidu_kernel::{AppError, Principal, Role};
use yidu_registry::xlsx::sheet::{self, Column};

fn book(rows: &[[&str; 5]]) -> Vec<u8> {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    sheet::write("用户", COLUMNS, &rows, false).unwrap()
}

async fn one(app: &TestApp, sql: &str) -> String {
    sqlx::query(sql)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get::<String, _>(0)
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query(sql)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get::<i64, _>(0)
}

/// The principal of a demo account, as the web shell would build it.
async fn principal(app: &TestApp, username: &str) -> Principal {
    let r = sqlx::query(
        "SELECT id, display_name, role, scope_id, scope_path FROM users WHERE username = $1",
    )
    .bind(username)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    Principal {
        user_id: r.get(0),
        username: username.into(),
        display_name: r.get(1),
        role: Role::parse(&r.get::<String, _>(2)).unwrap(),
        scope_id: r.get(3),
        scope_path: r.get(4),
        must_change_password: false,
    }
}

/// Names in the demo district that are unique, so a sheet can name them plainly.
struct Names {
    township: String,
    community: String,
    station: String,
    deputy: String,
    unit: String,
    committee: String,
}

async fn names(app: &TestApp) -> Names {
    let unique = |table: &str| {
        format!("SELECT MIN(name) FROM {table} WHERE name IN (SELECT name FROM {table} GROUP BY name HAVING COUNT(*) = 1)")
    };
    let township = one(
        app,
        "SELECT name FROM regions WHERE level = 'township' ORDER BY id LIMIT 1",
    )
    .await;
    let community = one(
        app,
        "SELECT c.name FROM regions c JOIN regions t ON t.id = c.parent_id
         WHERE t.level = 'township' AND c.level = 'community' ORDER BY t.id, c.id LIMIT 1",
    )
    .await;
    Names {
        community: format!("{township}/{community}"),
        township,
        station: one(app, &unique("stations")).await,
        deputy: one(app, &unique("deputies")).await,
        unit: one(app, &unique("units")).await,
        committee: one(app, &unique("committees")).await,
    }
}

async fn api_login(app: &TestApp, username: &str, password: &str) -> TestResponse {
    app.post_json(
        "/api/v1/auth/login",
        None,
        &json!({"username": username, "password": password}),
    )
    .await
}

/// (row, column) of every problem.
fn places(e: &AppError) -> Vec<(u32, String)> {
    e.details()
        .iter()
        .map(|d| (d.row.unwrap_or(0), d.field.clone()))
        .collect()
}

#[tokio::test]
async fn a_good_file_creates_every_user_who_must_change_the_password() {
    let app = TestApp::spawn().await;
    let n = names(&app).await;
    let office = principal(&app, "office").await;
    let audits_before = count(
        &app,
        "SELECT COUNT(*) FROM audit_log WHERE action = 'user.create'",
    )
    .await;
    let bytes = book(&[
        [
            "alice",
            "张三",
            "乡镇（街道）人大工作人员",
            &n.township,
            "Strong#2026a",
        ],
        ["bob", "李四", "station", &n.station, ""],
        ["carol", "王五", "人大代表", &n.deputy, ""],
        ["dave", "赵六", "承办单位经办人", &n.unit, ""],
        ["erin", "钱七", "committee", &n.committee, ""],
        ["frank", "孙八", "人大办工作人员", &n.community, ""],
    ]);
    let report = xlsx::import(&app.db, &office, "test", &bytes)
        .await
        .expect("imported");
    assert_eq!(report.rows, 6);
    assert_eq!(
        report.created,
        ["alice", "bob", "carol", "dave", "erin", "frank"]
    );
    let generated: Vec<&str> = report
        .generated
        .iter()
        .map(|g| g.username.as_str())
        .collect();
    assert_eq!(
        generated,
        ["bob", "carol", "dave", "erin", "frank"],
        "only empty cells get a password"
    );
    assert!(
        !format!("{report:?}").contains(&report.generated[0].password),
        "Debug hides passwords"
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'user.create'"
        )
        .await,
        audits_before + 6,
        "one audit record per user"
    );
    let deputy_scope = count(&app, "SELECT scope_id FROM users WHERE username = 'carol'").await;
    let deputy_id = count(
        &app,
        &format!(
            "SELECT id FROM deputies WHERE name = '{}'",
            n.deputy.replace('\'', "''")
        ),
    )
    .await;
    assert_eq!(deputy_scope, deputy_id);

    let mut logins = vec![("alice".to_string(), "Strong#2026a".to_string())];
    logins.extend(
        report
            .generated
            .iter()
            .map(|g| (g.username.clone(), g.password.clone())),
    );
    for (user, pw) in logins {
        let r = api_login(&app, &user, &pw).await;
        assert_eq!(r.status, 200, "{user}: {}", r.text());
        let token = r.json()["token"].as_str().unwrap().to_string();
        assert_eq!(
            app.get("/api/v1/me", Some(&token)).await.json()["must_change_password"],
            true,
            "{user}"
        );
    }
}

#[tokio::test]
async fn a_bad_file_lists_every_problem_and_creates_nothing() {
    let app = TestApp::spawn().await;
    let town = principal(&app, "town1").await;
    // A station inside town1's township whose name is unique.
    let station = one(
        &app,
        &format!(
            "SELECT MIN(s.name) FROM stations s JOIN regions r ON r.id = s.region_id
             WHERE r.path LIKE '{}%' AND s.name IN (SELECT name FROM stations GROUP BY name HAVING COUNT(*) = 1)",
            town.scope_path
        ),
    )
    .await;
    let township = one(
        &app,
        &format!(
            "SELECT name FROM regions WHERE id = {}",
            town.scope_id.unwrap()
        ),
    )
    .await;
    let users_before = count(&app, "SELECT COUNT(*) FROM users").await;
    let bytes = book(&[
        ["okuser", "好人", "联络站工作人员", &station, ""],
        ["emperor", "某某", "皇帝", &station, ""],
        ["ghost", "某某", "station", "不存在的联络站", ""],
        ["OKUSER", "重名", "station", &station, ""],
        ["weakling", "弱密码", "station", &station, "abc"],
        ["boss", "越权", "office", &township, ""],
        ["office", "已有", "station", &station, ""],
        ["root2", "管理员", "admin", "", ""],
    ]);
    let e = xlsx::import(&app.db, &town, "test", &bytes)
        .await
        .expect_err("rejected");
    assert!(matches!(e, AppError::Validation(_)), "{e:?}");
    let got = places(&e);
    for want in [
        (3, "角色"),
        (4, "所属范围"),
        (5, "用户名"),
        (6, "初始密码"),
        (7, "角色"),
        (8, "用户名"),
        (9, "角色"),
    ] {
        assert!(
            got.contains(&(want.0, want.1.to_string())),
            "{want:?} missing in {got:?}"
        );
    }
    assert!(!got.iter().any(|(r, _)| *r == 2), "row 2 is fine: {got:?}");
    assert!(e
        .details()
        .iter()
        .all(|d| !d.zh.is_empty() && !d.en.is_empty()));
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM users").await,
        users_before,
        "nothing created"
    );

    // A wrong header: every header problem at row 1.
    let mut cols: Vec<Column> = COLUMNS.to_vec();
    cols[2] = Column {
        header: "职务",
        header_en: "Post",
        ..cols[2]
    };
    let wrong = sheet::write(
        "用户",
        &cols,
        &[vec!["x1".into(), "x".into(), "y".into(), "z".into()]],
        false,
    )
    .unwrap();
    let e = xlsx::import(&app.db, &town, "test", &wrong)
        .await
        .expect_err("rejected");
    let got = places(&e);
    assert!(
        got.contains(&(1, "职务".into())) && got.contains(&(1, "角色".into())),
        "{got:?}"
    );

    // Not a spreadsheet, whatever it is called.
    for junk in [
        &b"username,name\nx,y"[..],
        b"PK\x03\x04not really a zip",
        b"\x89PNG\r\n\x1a\n",
    ] {
        let e = xlsx::import(&app.db, &town, "test", junk)
            .await
            .expect_err("refused");
        assert_eq!(e.details()[0].field, "文件", "{e:?}");
    }
    // Staff who may not create users may not import them.
    let station_staff = principal(&app, "station1").await;
    assert!(matches!(
        xlsx::import(&app.db, &station_staff, "test", &bytes).await,
        Err(AppError::Forbidden)
    ));
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM users").await,
        users_before
    );
}

async fn user_set(app: &TestApp) -> BTreeSet<(String, String, String, String)> {
    sqlx::query(
        "SELECT username, display_name, role, scope_path FROM users WHERE role <> 'admin' AND username NOT LIKE '%.old'",
    )
    .fetch_all(app.db.pool())
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
    .collect()
}

#[tokio::test]
async fn export_then_import_into_a_fresh_district_round_trips() {
    let app = TestApp::spawn().await;
    let n = names(&app).await;
    let system = Principal::system();
    let bytes = book(&[
        ["t.one", "一号", "township", &n.township, ""],
        ["d.one", "二号", "deputy", &n.deputy, ""],
        ["c.one", "三号", "工委工作人员", &n.committee, ""],
    ]);
    xlsx::import(&app.db, &system, "test", &bytes)
        .await
        .expect("imported");
    let exported = xlsx::export(&app.db, &system).await.expect("exported");
    // No password column in an export.
    let table = sheet::read(&exported, COLUMNS).expect("reads back");
    assert!(table.rows.iter().all(|(_, c)| c[4].is_empty()));
    let before = user_set(&app).await;
    assert_eq!(table.rows.len(), before.len());

    let fresh = TestApp::spawn().await;
    // The fresh district's own demo accounts step aside so the names are free.
    let mut tx = fresh.db.begin().await.unwrap();
    sqlx::query("UPDATE users SET username = username || '.old' WHERE role <> 'admin'")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let report = xlsx::import(&fresh.db, &system, "test", &exported)
        .await
        .expect("re-imported");
    assert_eq!(report.created.len(), before.len());
    assert_eq!(
        report.generated.len(),
        before.len(),
        "every password is new"
    );
    assert_eq!(user_set(&fresh).await, before);

    // The template reads as an empty sheet of the same columns.
    let t = sheet::read(&xlsx::template().unwrap(), COLUMNS).unwrap();
    assert!(t.rows.is_empty());
}

#[tokio::test]
async fn the_command_line_imports_and_exports_users() {
    let app = TestApp::spawn().await;
    let n = names(&app).await;
    let dir = std::env::temp_dir().join(format!(
        "yidu-users-cli-{}-{}",
        std::process::id(),
        app.db.backend() as u8
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("users.xlsx");
    std::fs::write(
        &file,
        book(&[["cli.user", "命令行", "联络站工作人员", &n.station, ""]]),
    )
    .unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_yidu"))
            .args(args)
            .arg("--data")
            .arg(&app.config.data_dir)
            .arg("--database")
            .arg(&app.config.database_url)
            .env("YIDU_LOG", "warn")
            .output()
            .expect("run yidu")
    };
    let o = run(&["import", "users", file.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let line = out
        .lines()
        .find(|l| l.trim_start().starts_with("cli.user\t"))
        .expect("password printed");
    let password = line.split('\t').nth(1).unwrap().trim();
    assert_eq!(api_login(&app, "cli.user", password).await.status, 200);

    // The same file again: the name is taken, the problem is shown by row and column.
    let o = run(&["import", "users", file.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(err.contains("row 2") && err.contains("用户名"), "{err}");

    let out_file = dir.join("export.xlsx");
    let o = run(&["export", "users", out_file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let table = sheet::read(&std::fs::read(&out_file).unwrap(), COLUMNS).unwrap();
    assert!(table.rows.iter().any(|(_, c)| c[0] == "cli.user"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A multipart upload of `file` from a logged-in browser, the token in the query string.
async fn upload(b: &crate::helpers::Browser<'_>, csrf: &str, file: &[u8]) -> TestResponse {
    b.post_multipart(
        &format!("/staff/users/import?_csrf={csrf}"),
        &[("file", Some("users.xlsx"), file)],
    )
    .await
}

#[tokio::test]
async fn staff_import_users_through_the_page() {
    let app = TestApp::spawn().await;
    let n = names(&app).await;
    let b = app.browser();
    b.login("office").await;
    let page = b.get("/staff/users/import").await;
    assert_eq!(page.status, 200, "{}", page.text());
    let html = page.text();
    assert!(html.contains("/staff/users/import/template.xlsx"));
    let csrf = csrf_of_page(&html).expect("token on the page");

    let template = b.get("/staff/users/import/template.xlsx").await;
    assert_eq!(template.status, 200);
    assert!(sheet::read(&template.body, COLUMNS).is_ok());

    // A bad file: the page lists the problem with its row; nothing is created.
    let bad = upload(
        &b,
        &csrf,
        &book(&[["page.bad", "坏", "皇帝", &n.station, ""]]),
    )
    .await;
    assert_eq!(bad.status, 422, "{}", bad.text());
    assert!(
        bad.text().contains("<td>2</td><td>角色</td>"),
        "{}",
        bad.text()
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM users WHERE username = 'page.bad'"
        )
        .await,
        0
    );
    let junk = upload(&b, &csrf, b"not a spreadsheet").await;
    assert_eq!(junk.status, 422);

    // Without the token the upload is refused.
    let no_token = upload(
        &b,
        "wrong",
        &book(&[["page.user", "页面", "station", &n.station, ""]]),
    )
    .await;
    assert_eq!(no_token.status, 400, "pages refuse a wrong form token");
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM users WHERE username = 'page.user'"
        )
        .await,
        0
    );

    let ok = upload(
        &b,
        &csrf,
        &book(&[["page.user", "页面", "station", &n.station, ""]]),
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(ok.headers.get(header::CACHE_CONTROL).unwrap(), "no-store");
    let html = ok.text();
    let marker = "class=\"generated-password\">";
    let at = html.find(marker).expect("generated password shown") + marker.len();
    let password = &html[at..at + html[at..].find('<').unwrap()];
    let login = app.browser();
    let r = login
        .post_form(
            "/login",
            "/login",
            &[("username", "page.user"), ("password", password)],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(
        r.location(),
        "/password",
        "must change the initial password first"
    );

    let export = b.get("/staff/users/export.xlsx").await;
    assert_eq!(export.status, 200);
    let table = sheet::read(&export.body, COLUMNS).unwrap();
    assert!(table.rows.iter().any(|(_, c)| c[0] == "page.user"));
}
