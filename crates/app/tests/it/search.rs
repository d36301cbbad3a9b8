//! Chinese full-text search in the queues: found however the words are segmented, in
//! traditional or simplified script, within the viewer's scope only, with any characters in
//! the query, through the API, the page and the export, and from a second app instance.

use crate::helpers::TestApp;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use yidu_db::Row;
use yidu_opinions::model::{Channel, Submission};
use yidu_opinions::service::search;

/// Short citizens' messages: (title, body, in the demo's first township?).
pub(crate) const MESSAGES: &[(&str, &str, bool)] = &[
    ("小区门口路灯坏了", "晚上看不清路，老人容易摔倒", true),
    ("路灯不亮", "幸福路上的路燈已經三天不亮了", true),
    ("垃圾清运不及时", "垃圾桶满了好几天没人管", true),
    ("噪音扰民", "楼下KTV深夜噪音很大，影响休息", true),
    ("停车难", "小区车位太少，车停到了人行道上", true),
    ("WiFi信号差", "3号楼公共WiFi经常断线", true),
    ("绿化带杂草丛生", "没有人修剪，蚊虫很多", true),
    ("下水道堵塞", "一下雨就积水，污水漫到路面", false),
    ("路灯坏了没人修", "报修两次了还是黑的", false),
    ("公交站台破损", "遮雨棚塌了一半", false),
];

pub(crate) struct Places {
    /// A community or grid in the demo's first township (town1's scope).
    pub inside: i64,
    /// One in another township.
    pub outside: i64,
}

pub(crate) async fn places(app: &TestApp) -> Places {
    let s = &app.demo.as_ref().unwrap().summary;
    let town: String = sqlx::query("SELECT path FROM regions WHERE id = $1")
        .bind(s.township_id)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    let rows = sqlx::query(
        "SELECT id, path FROM regions WHERE level IN ('community', 'grid') ORDER BY id",
    )
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    let pick = |inside: bool| -> i64 {
        rows.iter()
            .find(|r| r.get::<String, _>(1).starts_with(&town) == inside)
            .expect("demo has communities inside and outside the township")
            .get(0)
    };
    Places {
        inside: pick(true),
        outside: pick(false),
    }
}

/// Submits the messages through the service; returns the ids in order.
pub(crate) async fn submit_all(app: &TestApp) -> Vec<i64> {
    let o = yidu_app::router::opinions(app.db.clone(), &app.config).unwrap();
    let p = places(app).await;
    let mut ids = Vec::new();
    for (i, (title, body, inside)) in MESSAGES.iter().enumerate() {
        let s = Submission {
            title: (*title).into(),
            body: (*body).into(),
            grid_id: Some(if *inside { p.inside } else { p.outside }),
            consent: true,
            ..Default::default()
        };
        let r = yidu_opinions::service::submit::submit(
            &o,
            Channel::General,
            &s,
            &[],
            &format!("203.0.113.{i}"),
            None,
        )
        .await
        .expect("submit");
        let id: i64 = sqlx::query("SELECT id FROM opinions WHERE tracking_no = $1")
            .bind(&r.tracking_no)
            .fetch_one(app.db.pool())
            .await
            .unwrap()
            .get(0);
        ids.push(id);
    }
    ids
}

fn url(q: &str) -> String {
    format!(
        "/api/v1/opinions?per_page=100&{}",
        serde_urlencoded::to_string([("q", q)]).unwrap()
    )
}

/// The ids a query finds for a token, through the API.
async fn found(app: &TestApp, token: &str, q: &str) -> BTreeSet<i64> {
    let r = app.get(&url(q), Some(token)).await;
    assert_eq!(r.status, 200, "{q}: {}", r.text());
    let v: Value = r.json();
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect()
}

fn set(ids: &[i64], which: &[usize]) -> BTreeSet<i64> {
    which.iter().map(|&i| ids[i]).collect()
}

#[tokio::test]
async fn finds_words_however_segmented_within_scope() {
    let app = TestApp::spawn().await;
    let ids = submit_all(&app).await;
    let office = app.token("office").await;
    let town = app.token("town1").await;

    assert_eq!(found(&app, &office, "路灯").await, set(&ids, &[0, 1, 8]));
    // Not a word of "路灯坏了", but a bigram of it.
    assert_eq!(found(&app, &office, "灯坏").await, set(&ids, &[0, 8]));
    // Traditional script finds simplified text and the other way round.
    assert_eq!(found(&app, &office, "路燈").await, set(&ids, &[0, 1, 8]));
    assert_eq!(found(&app, &office, "三天不亮").await, set(&ids, &[1]));
    assert_eq!(found(&app, &office, "路灯坏了").await, set(&ids, &[0, 8]));
    // Every word is required; full-width and upper case fold.
    assert_eq!(found(&app, &office, "噪音 ＫＴＶ").await, set(&ids, &[3]));
    assert_eq!(found(&app, &office, "路灯 晚上").await, set(&ids, &[0]));
    assert_eq!(found(&app, &office, "小区　车位").await, set(&ids, &[4]));
    assert_eq!(found(&app, &office, "WIFI").await, set(&ids, &[5]));
    assert_eq!(found(&app, &office, "3号楼").await, set(&ids, &[5]));
    // A lone character finds what starts a word or bigram with it.
    assert_eq!(found(&app, &office, "坏").await, set(&ids, &[0, 8]));
    assert!(found(&app, &office, "地铁").await.is_empty());

    // Scope still applies: the township never sees the other township's hit.
    assert_eq!(found(&app, &town, "路灯").await, set(&ids, &[0, 1]));
    assert!(found(&app, &town, "下水道").await.is_empty());
    // Combined with the other filters.
    let r = app
        .get(&format!("{}&status=closed", url("路灯")), Some(&office))
        .await;
    assert_eq!(r.json()["total"], 0);
    let r = app
        .get(&format!("{}&status=submitted", url("路灯")), Some(&office))
        .await;
    assert_eq!(r.json()["total"], 3);
}

#[tokio::test]
async fn special_characters_never_break_a_query() {
    let app = TestApp::spawn().await;
    let ids = submit_all(&app).await;
    let office = app.token("office").await;
    for q in [
        "\"",
        "路灯\"",
        "\"路灯",
        "*",
        "路灯*",
        ":",
        "tokens:路灯",
        "-路灯",
        "路灯 - 垃圾",
        "路灯 AND",
        "OR",
        "NOT 路灯",
        "路灯 OR 垃圾",
        "NEAR(路灯 垃圾)",
        "&|!",
        "路灯 & 垃圾 | !噪音",
        "'",
        "路灯'",
        "\\",
        "()",
        "{路灯}",
        "^路灯",
        "%_",
        "路灯:*",
        "<->",
        "\u{0}",
        "　",
        &"灯".repeat(300),
        &"x".repeat(300),
    ] {
        let r = app.get(&url(q), Some(&office)).await;
        assert_eq!(r.status, 200, "{q:?}: {}", r.text());
    }
    // Punctuation around a word is no part of it.
    assert_eq!(
        found(&app, &office, "\"路灯\"*").await,
        set(&ids, &[0, 1, 8])
    );
    assert_eq!(found(&app, &office, "路灯:").await, set(&ids, &[0, 1, 8]));
}

#[tokio::test]
async fn page_and_export_keep_the_search() {
    let app = TestApp::spawn().await;
    submit_all(&app).await;
    let b = app.browser();
    assert_eq!(b.login("office").await.status, 303);
    let page = b.get("/staff/opinions?q=%E8%B7%AF%E7%81%AF").await;
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(html.contains("name=\"q\""), "a search box");
    assert!(html.contains("小区门口路灯坏了"), "{html}");
    assert!(!html.contains("垃圾清运不及时"));
    assert!(
        html.contains("export.xlsx?q=%E8%B7%AF%E7%81%AF"),
        "export keeps it"
    );
    let x = b
        .get("/staff/opinions/export.xlsx?q=%E8%B7%AF%E7%81%AF")
        .await;
    assert_eq!(x.status, 200);
    assert!(x.body.starts_with(b"PK"));
    let api = app
        .get(
            "/api/v1/opinions/export.xlsx?q=%E5%9E%83%E5%9C%BE",
            Some(&app.token("office").await),
        )
        .await;
    assert_eq!(api.status, 200);
}

#[tokio::test]
async fn an_item_submitted_on_one_instance_is_found_on_another() {
    let app = TestApp::spawn().await;
    let other = app.second_instance().await;
    let code = app.demo.as_ref().unwrap().summary.deputy_code.clone();
    let r = app
        .post_json(
            "/api/v1/opinions",
            None,
            &json!({"title": "健身器材损坏", "body": "广场上的单杠断了", "consent": true, "deputy_code": code}),
        )
        .await;
    assert!(r.status == 200 || r.status == 201, "{}", r.text());
    let office = other.token("office").await;
    let hits = found(&other, &office, "单杠").await;
    assert_eq!(hits.len(), 1, "{hits:?}");
}

#[tokio::test]
async fn reindex_and_demo_history_are_searchable() {
    let app = TestApp::spawn().await;
    let ids = submit_all(&app).await;
    let o = yidu_app::router::opinions(app.db.clone(), &app.config).unwrap();
    yidu_opinions::demo::load_history(&o, 120, 7).await.unwrap();

    // Every demo item is indexed: its own title finds it.
    let row = sqlx::query("SELECT id, title FROM opinions WHERE id > $1 ORDER BY id LIMIT 1")
        .bind(ids[ids.len() - 1])
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let (demo_id, title): (i64, String) = (row.get(0), row.get(1));
    let backend = app.db.backend();
    let count = |q: String| {
        let db = app.db.clone();
        async move {
            let expr = search::match_expr(backend, &search::query_terms(&q)).unwrap();
            let sql = format!(
                "SELECT o.id FROM opinions o WHERE {}",
                search::condition(backend, "$1")
            );
            sqlx::query(&sql)
                .bind(expr)
                .fetch_all(db.pool())
                .await
                .unwrap()
                .iter()
                .map(|r| r.get::<i64, _>(0))
                .collect::<BTreeSet<i64>>()
        }
    };
    assert!(count(title.clone()).await.contains(&demo_id), "{title}");
    let before = count("路灯".into()).await;
    assert!(before.len() > 3);

    // Empty the index; reindex rebuilds the same answers.
    let mut tx = app.db.begin().await.unwrap();
    sqlx::query("DELETE FROM opinion_search")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(count("路灯".into()).await.is_empty());
    let n = search::reindex(&o).await.unwrap();
    assert_eq!(n, ids.len() + 120);
    assert_eq!(count("路灯".into()).await, before);
    // Reindexing again replaces rows rather than adding a second copy.
    search::reindex(&o).await.unwrap();
    assert_eq!(count("路灯".into()).await, before);
}
