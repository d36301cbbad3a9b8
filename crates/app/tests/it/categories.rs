//! Staff editing of the category tree: the API (add, rename, reorder, move, retire,
//! restore, delete only when unused), who may edit, what citizens and Open311 are offered
//! afterwards, the audit records, the page, and `yidu categories import/export`.

use crate::helpers::{csrf_of_page, TestApp};
use serde_json::{json, Value};
use std::process::Command;
use yidu_db::Row;
use yidu_opinions::model::{Channel, Submission};

async fn create(app: &TestApp, token: &str, parent: Option<i64>, name: &str) -> Value {
    let r = app
        .post_json(
            "/api/v1/categories/all",
            Some(token),
            &json!({"parent_id": parent, "name": name, "name_en": ""}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()
}

/// The names citizens are offered, depth first.
async fn offered(app: &TestApp) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        for c in v.as_array().unwrap() {
            out.push(c["name"].as_str().unwrap().to_string());
            walk(&c["children"], out);
        }
    }
    let mut out = Vec::new();
    walk(&app.get("/api/v1/categories", None).await.json(), &mut out);
    out
}

async fn open311_names(app: &TestApp) -> Vec<String> {
    app.get("/open311/v2/services.json", None)
        .await
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["service_name"].as_str().unwrap().to_string())
        .collect()
}

async fn audits(app: &TestApp, action: &str) -> i64 {
    sqlx::query("SELECT COUNT(*) FROM audit_log WHERE action = $1")
        .bind(action)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn office_edits_the_tree_and_retired_categories_leave_the_offer() {
    let app = TestApp::spawn().await;
    let office = app.token("office").await;
    let town = app.token("town1").await;

    // Only the administrator and the office edit.
    let r = app
        .post_json(
            "/api/v1/categories/all",
            Some(&town),
            &json!({"name": "乡镇自建"}),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(
        app.get("/api/v1/categories/all", Some(&town)).await.status,
        403
    );

    let top = create(&app, &office, None, "测试大类").await;
    let top_id = top["id"].as_i64().unwrap();
    let a = create(&app, &office, Some(top_id), "甲项").await;
    let b = create(&app, &office, Some(top_id), "乙项").await;
    let (a_id, b_id) = (a["id"].as_i64().unwrap(), b["id"].as_i64().unwrap());
    assert_eq!(a["code"], "测试大类/甲项");
    assert_eq!(a["depth"], 2);

    // Bad names are refused naming the field, in both languages.
    for (body, field) in [
        (json!({"parent_id": top_id, "name": "甲项"}), "name"),
        (json!({"parent_id": top_id, "name": "a/b"}), "name"),
        (json!({"parent_id": 99999999, "name": "孤儿"}), "parent_id"),
    ] {
        let r = app
            .post_json("/api/v1/categories/all", Some(&office), &body)
            .await;
        assert_eq!(r.status, 422, "{}", r.text());
        let v = r.json();
        assert_eq!(v["details"][0]["field"], field, "{v}");
        assert!(
            v["details"][0]["message"].is_string() && v["details"][0]["message_en"].is_string(),
            "{v}"
        );
    }

    // Reorder: 乙项 moves up before 甲项 in what citizens see.
    let r = app
        .post_json(
            &format!("/api/v1/categories/{b_id}/order"),
            Some(&office),
            &json!({"direction": "up"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let names = offered(&app).await;
    let pos = |n: &str| names.iter().position(|x| x == n).unwrap();
    assert!(pos("乙项") < pos("甲项"), "{names:?}");
    // Open311 lists the services in the same configured order as the citizen form.
    let services = open311_names(&app).await;
    assert_eq!(services, names, "Open311 order follows the tree");

    // Rename: the code follows, a sub-subcategory's code too.
    let leaf = create(&app, &office, Some(a_id), "细项").await;
    let leaf_id = leaf["id"].as_i64().unwrap();
    let r = app
        .patch_json(
            &format!("/api/v1/categories/{a_id}"),
            Some(&office),
            &json!({"name": "甲项改", "name_en": "Item A"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let all = app
        .get("/api/v1/categories/all", Some(&office))
        .await
        .json();
    let find = |id: i64| {
        all.as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(find(leaf_id)["code"], "测试大类/甲项改/细项");

    // Move: not under itself, not deeper than three levels; to the top level is fine.
    let r = app
        .post_json(
            &format!("/api/v1/categories/{a_id}/move"),
            Some(&office),
            &json!({"parent_id": leaf_id}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    let r = app
        .post_json(
            &format!("/api/v1/categories/{a_id}/move"),
            Some(&office),
            &json!({"parent_id": b_id}),
        )
        .await;
    assert_eq!(r.status, 422, "three levels: {}", r.text());
    let r = app
        .post_json(
            &format!("/api/v1/categories/{a_id}/move"),
            Some(&office),
            &json!({"parent_id": null}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["code"], "甲项改");
    let all = app
        .get("/api/v1/categories/all", Some(&office))
        .await
        .json();
    let leaf_now = all
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == leaf_id)
        .unwrap();
    assert_eq!(leaf_now["code"], "甲项改/细项");
    assert_eq!(leaf_now["depth"], 2);

    // An item filed under 乙项: it cannot be deleted, only retired.
    let o = yidu_app::router::opinions(app.db.clone(), &app.config).unwrap();
    let s = Submission {
        category_id: Some(b_id),
        title: "测试事项".into(),
        body: "用于测试类别停用".into(),
        ..Default::default()
    };
    let code = app.demo.as_ref().unwrap().summary.deputy_code.clone();
    let receipt = yidu_opinions::service::submit::submit(
        &o,
        Channel::Deputy(code.clone()),
        &s,
        &[],
        "198.51.100.9",
        None,
    )
    .await
    .unwrap();
    let r = app
        .request(
            axum::http::Request::delete(format!("/api/v1/categories/{b_id}"))
                .header("authorization", format!("Bearer {office}"))
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(r.text().contains("retire"), "{}", r.text());
    assert!(open311_names(&app).await.contains(&"乙项".to_string()));
    let r = app
        .post_json(
            &format!("/api/v1/categories/{b_id}/retire"),
            Some(&office),
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(!offered(&app).await.contains(&"乙项".to_string()));
    assert!(!open311_names(&app).await.contains(&"乙项".to_string()));
    // The old item keeps it; a new one cannot use it.
    let id: i64 = sqlx::query("SELECT id FROM opinions WHERE tracking_no = $1")
        .bind(&receipt.tracking_no)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    let item = app
        .get(&format!("/api/v1/opinions/{id}"), Some(&office))
        .await
        .json();
    assert_eq!(item["category"], "乙项", "{item}");
    let again = yidu_opinions::service::submit::submit(
        &o,
        Channel::Deputy(code.clone()),
        &s,
        &[],
        "198.51.100.10",
        None,
    )
    .await;
    assert!(again.is_err());
    // Nor can staff classify an item under it.
    let plain = Submission {
        category_id: None,
        ..s.clone()
    };
    let r2 = yidu_opinions::service::submit::submit(
        &o,
        Channel::Deputy(code.clone()),
        &plain,
        &[],
        "198.51.100.11",
        None,
    )
    .await
    .unwrap();
    let id2: i64 = sqlx::query("SELECT id FROM opinions WHERE tracking_no = $1")
        .bind(&r2.tracking_no)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    let r = app
        .post_json(
            &format!("/api/v1/opinions/{id2}/moves"),
            Some(&office),
            &json!({"action": "accept", "category_id": b_id}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(r.json()["details"][0]["field"], "category_id");
    // Restored, it is offered again; an unused category can be deleted.
    let r = app
        .post_json(
            &format!("/api/v1/categories/{b_id}/restore"),
            Some(&office),
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(offered(&app).await.contains(&"乙项".to_string()));
    let r = app
        .request(
            axum::http::Request::delete(format!("/api/v1/categories/{leaf_id}"))
                .header("authorization", format!("Bearer {office}"))
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text());

    for action in [
        "category.create",
        "category.rename",
        "category.reorder",
        "category.move",
        "category.retire",
        "category.restore",
        "category.delete",
    ] {
        assert!(audits(&app, action).await >= 1, "{action}");
    }
    let v = yidu_audit::verify(&app.db).await.unwrap();
    assert!(v.first_problem.is_none(), "{:?}", v.first_problem);
}

#[tokio::test]
async fn the_page_edits_and_the_command_line_imports_and_exports() {
    let app = TestApp::spawn().await;
    let b = app.browser();
    b.login("office").await;
    let page = b.get("/staff/categories").await;
    assert_eq!(page.status, 200, "{}", page.text());
    assert!(page.text().contains("城乡建设"));
    let r = b
        .post_form(
            "/staff/categories",
            "/staff/categories",
            &[("parent_id", ""), ("name", "页面新增类"), ("name_en", "")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text());
    let id: i64 = sqlx::query("SELECT id FROM categories WHERE code = '页面新增类'")
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    let r = b
        .post_form(
            "/staff/categories",
            &format!("/staff/categories/{id}/retire"),
            &[],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(b.get("/staff/categories").await.text().contains("已停用"));

    let t = app.browser();
    t.login("town1").await;
    assert_eq!(t.get("/staff/categories").await.status, 403);

    // The command line: export what is active, import a file that adds a branch.
    let dir = std::env::temp_dir().join(format!("yidu-cat-{}-{id}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let run = |args: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_yidu"))
            .args(args)
            .arg("--database")
            .arg(&app.config.database_url)
            .arg("--data")
            .arg(&app.config.data_dir)
            .env("YIDU_LOG", "warn")
            .output()
            .expect("run yidu");
        (
            o.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
        )
    };
    let out = dir.join("tree.csv");
    let (ok, text) = run(&["categories", "export", out.to_str().unwrap()]);
    assert!(ok, "{text}");
    let csv = std::fs::read_to_string(&out).unwrap();
    assert!(csv.starts_with("一级分类,二级分类,三级分类\n"), "{csv}");
    assert!(csv.contains("城乡建设,市政设施,"), "{csv}");
    assert!(
        !csv.contains("页面新增类"),
        "retired ones are not exported: {csv}"
    );
    let input = dir.join("more.csv");
    std::fs::write(&input, "一级分类,二级分类,三级分类\n新领域,新主题,新细项\n").unwrap();
    let (ok, text) = run(&["categories", "import", input.to_str().unwrap()]);
    assert!(ok, "{text}");
    assert!(text.contains("3"), "{text}");
    assert!(offered(&app).await.contains(&"新细项".to_string()));
    std::fs::write(&input, "一级,二级\n").unwrap();
    let (ok, text) = run(&["categories", "import", input.to_str().unwrap()]);
    assert!(!ok && text.contains("一级分类"), "{text}");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn the_page_uploads_a_csv_all_or_nothing_and_downloads_the_tree() {
    let app = TestApp::spawn().await;
    let b = app.browser();
    b.login("office").await;
    let html = b.get("/staff/categories").await.text();
    let csrf = csrf_of_page(&html).expect("token on the page");
    assert!(html.contains(&format!("/staff/categories/import?_csrf={csrf}")));
    let count = || async {
        sqlx::query("SELECT COUNT(*) FROM categories")
            .fetch_one(app.db.pool())
            .await
            .unwrap()
            .get::<i64, _>(0)
    };
    let before = count().await;
    let imports = audits(&app, "category.import").await;

    // A file with one bad row (a third level without a second) loads nothing and shows
    // the row and column.
    let bad = "一级分类,二级分类,三级分类\n上传领域,上传主题,上传细项\n断层领域,,断层细项\n";
    let r = b
        .post_multipart(
            &format!("/staff/categories/import?_csrf={csrf}"),
            &[("file", Some("tree.csv"), bad.as_bytes())],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    let text = r.text();
    assert!(
        text.contains("未导入任何类别") && text.contains("<td>3</td>"),
        "{text}"
    );
    assert_eq!(count().await, before, "nothing half-written");

    // Not UTF-8 (GBK bytes for 一级分类) gets a clear message, not a 500.
    let gbk: &[u8] = b"\xd2\xbb\xbc\xb6\xb7\xd6\xc0\xe0\n";
    let r = b
        .post_multipart(
            &format!("/staff/categories/import?_csrf={csrf}"),
            &[("file", Some("gbk.csv"), gbk)],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(r.text().contains("UTF-8"), "{}", r.text());

    // Without the token the upload is refused before anything is read.
    let r = b
        .post_multipart(
            "/staff/categories/import",
            &[("file", Some("tree.csv"), "一级分类\n无令牌\n".as_bytes())],
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("表单已过期"), "{}", r.text());

    // A good file (with the byte-order mark spreadsheets write) loads and is audited
    // under the uploader's name.
    let good = "\u{feff}一级分类,二级分类,三级分类\n上传领域,上传主题,上传细项\n";
    let r = b
        .post_multipart(
            &format!("/staff/categories/import?_csrf={csrf}"),
            &[("file", Some("tree.csv"), good.as_bytes())],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(r.location().contains("created=3"), "{}", r.location());
    assert!(offered(&app).await.contains(&"上传细项".to_string()));
    assert_eq!(audits(&app, "category.import").await, imports + 1);
    let actor: i64 = sqlx::query(
        "SELECT actor_id FROM audit_log WHERE action = 'category.import' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap()
    .get(0);
    assert!(actor > 0, "the uploader is named, not the system");

    // The download is the same CSV, readable by spreadsheet programs.
    let csv = b.get("/staff/categories/export").await;
    assert_eq!(csv.status, 200);
    let text = csv.text();
    assert!(
        text.starts_with("\u{feff}一级分类,二级分类,三级分类\n"),
        "{text}"
    );
    assert!(text.contains("上传领域,上传主题,上传细项"), "{text}");

    // Township staff may neither upload nor download.
    let t = app.browser();
    t.login("town1").await;
    assert_eq!(t.get("/staff/categories/export").await.status, 403);
}
