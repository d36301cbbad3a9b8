//! Migrations 0015 (PostgreSQL's narrow search table) and 0016 (bucketed region tokens) on
//! a database that already has items: going down and up again keeps every item's lexemes
//! and every search's answers (0016 adds exactly the bucketed tokens the application
//! writes, and its down removes them), new items are indexed afterwards, and the table's
//! rows really are narrow. On SQLite the
//! migration changes nothing, and the same searches must give the same answers there.

use crate::helpers::TestApp;
use crate::search::submit_all;
use serde_json::Value;
use std::collections::BTreeSet;
use yidu_db::{Backend, Row};
use yidu_opinions::model::{Channel, Submission};
use yidu_opinions::service::search;

/// Words, bigrams, a lone character (a prefix), Latin letters and two words together.
const QUERIES: &[&str] = &["路灯", "灯坏", "坏", "垃圾", "wifi", "路灯 晚上", "小区"];

/// What each query finds through the search condition, and through the office's queue.
async fn answers(app: &TestApp, office: &str) -> Vec<(BTreeSet<i64>, Value)> {
    let backend = app.db.backend();
    let mut out = Vec::new();
    for q in QUERIES {
        let expr = search::match_expr(backend, &search::query_terms(q)).unwrap();
        let sql = format!(
            "SELECT o.id FROM opinions o WHERE {}",
            search::condition(backend, "$1")
        );
        let ids: BTreeSet<i64> = sqlx::query(&sql)
            .bind(expr)
            .fetch_all(app.db.pool())
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        let url = format!(
            "/api/v1/opinions?per_page=100&{}",
            serde_urlencoded::to_string([("q", q)]).unwrap()
        );
        let r = app.get(&url, Some(office)).await;
        assert_eq!(r.status, 200, "{q}: {}", r.text());
        let v: Value = r.json();
        let page: Vec<i64> = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_i64().unwrap())
            .collect();
        out.push((ids, serde_json::json!({"total": v["total"], "page": page})));
    }
    out
}

/// Every index row's lexemes (PostgreSQL; positions left out, the old rows had them).
async fn lexemes(app: &TestApp) -> Vec<(i64, String)> {
    sqlx::query(
        "SELECT opinion_id, array_to_string(tsvector_to_array(tsv), ' ') FROM opinion_search
         ORDER BY opinion_id",
    )
    .fetch_all(app.db.pool())
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect()
}

/// The rows without their bucketed region tokens (migration 0016), as before it.
fn without_buckets(rows: &[(i64, String)]) -> Vec<(i64, String)> {
    let bucketed = |l: &str| l.starts_with('r') && l.ends_with('域') && l.contains('b');
    rows.iter()
        .map(|(id, l)| {
            let kept: Vec<&str> = l.split(' ').filter(|l| !bucketed(l)).collect();
            (*id, kept.join(" "))
        })
        .collect()
}

/// Heap bytes per row of the search table (PostgreSQL).
async fn heap_bytes_per_row(app: &TestApp) -> f64 {
    sqlx::query(
        "SELECT CAST(pg_relation_size('opinion_search') AS DOUBLE PRECISION)
                / CAST((SELECT COUNT(*) FROM opinion_search) AS DOUBLE PRECISION)",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap()
    .get(0)
}

#[tokio::test]
async fn the_narrow_search_table_goes_down_and_up_with_the_same_answers() {
    let app = TestApp::spawn().await;
    let ids = submit_all(&app).await;
    let o = yidu_app::router::opinions(app.db.clone(), &app.config).unwrap();
    yidu_opinions::demo::load_history(&o, 300, 7).await.unwrap();
    let office = app.token("office").await;
    let pg = app.db.backend() == Backend::Postgres;

    let before = answers(&app, &office).await;
    // The queries find something, or comparing answers would prove nothing.
    assert!(before.iter().all(|(ids, _)| !ids.is_empty()), "{before:?}");
    let rows = if pg { lexemes(&app).await } else { Vec::new() };
    if pg {
        assert!(rows.len() > 300 && rows.iter().all(|(_, l)| !l.is_empty()));
        // About 90 bytes a row in the heap (the tsvector lives out of line); inline, the
        // demo's short texts alone take several hundred.
        let narrow = heap_bytes_per_row(&app).await;
        assert!(narrow < 150.0, "{narrow} heap bytes a row");
        // Every region token also in its bucket's form (0016), and nothing else added.
        for (id, l) in &rows {
            let all: Vec<&str> = l.split(' ').collect();
            let region: Vec<&str> = all.iter().copied().filter(|t| t.starts_with('r')).collect();
            assert!(region.len() >= 2, "{id}: {l}");
            for t in &region {
                if let Some(b) = search::bucket_token(t, search::bucket_of(*id)) {
                    assert!(all.contains(&b.as_str()), "{id}: {b} not in {l}");
                }
            }
        }
        assert_ne!(without_buckets(&rows), rows);
    }

    yidu_db::migrate::revert_to(&app.db, 14).await.unwrap();
    if pg {
        // The old table again, with its tokens text, indexing the same lexemes.
        let tokens: String = sqlx::query("SELECT tokens FROM opinion_search WHERE opinion_id = $1")
            .bind(ids[0])
            .fetch_one(app.db.pool())
            .await
            .unwrap()
            .get(0);
        assert!(tokens.split(' ').any(|t| t == "路灯"), "{tokens}");
        assert_eq!(lexemes(&app).await, without_buckets(&rows));
        let wide = heap_bytes_per_row(&app).await;
        assert!(wide > 300.0, "{wide} heap bytes a row before the migration");
    }
    assert_eq!(answers(&app, &office).await, before, "after going down");

    yidu_db::migrate::run(&app.db).await.unwrap();
    assert_eq!(answers(&app, &office).await, before, "after going up again");
    if pg {
        assert_eq!(lexemes(&app).await, rows);
        assert!(heap_bytes_per_row(&app).await < 150.0);
    }

    // Items written after the migration are indexed and found.
    let s = Submission {
        title: "路灯又坏了".into(),
        body: "晚上一片漆黑".into(),
        grid_id: Some(crate::search::places(&app).await.inside),
        consent: true,
        ..Default::default()
    };
    yidu_opinions::service::submit::submit(&o, Channel::General, &s, &[], "203.0.113.99", None)
        .await
        .expect("submit");
    let after = answers(&app, &office).await;
    assert_eq!(
        after[0].0.len(),
        before[0].0.len() + 1,
        "路灯 finds the new item"
    );
    assert_eq!(after[3], before[3], "垃圾 does not");
}
