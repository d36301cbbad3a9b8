//! Searches with more matches than the count cap ("1000+"), and with a few hundred: the
//! newest first and paged exactly as a full sort of every match would give them, for the
//! office and a township, with and without a filter left in SQL. On PostgreSQL this goes
//! through each of the ways a page is read (ids of few matches; the bounded walk of the
//! key; its fallback when the newest items do not match; reading every match through the
//! text index), on SQLite through FTS5's own order: the answers must be the same.

use crate::helpers::TestApp;
use serde_json::Value;
use yidu_db::Row;
use yidu_opinions::service::search::{self, COUNT_CAP};
use yidu_text::Segmenter;

/// Adds `n` copies of item `template` titled `title` (empty body), indexed as the
/// application indexes an item; returns their ids, oldest first.
async fn copies(app: &TestApp, template: i64, n: i64, title: &str) -> Vec<i64> {
    let before: i64 = sqlx::query("SELECT MAX(id) FROM opinions")
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    sqlx::query(
        "INSERT INTO opinions (tracking_no, query_hash, channel, region_id, region_path, title, body, status, created_at, updated_at)
         WITH RECURSIVE s(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM s WHERE k < $2)
         SELECT o.tracking_no || '-' || $3 || CAST(s.k AS TEXT), o.query_hash, o.channel, o.region_id, o.region_path,
                $3, '', o.status, o.created_at + s.k, o.updated_at
         FROM opinions o, s WHERE o.id = $1",
    )
    .bind(template)
    .bind(n)
    .bind(title)
    .execute(app.db.pool())
    .await
    .unwrap();
    let rows = sqlx::query(
        "SELECT id, title, body, region_path, station_id, deputy_id FROM opinions WHERE id > $1 ORDER BY id",
    )
    .bind(before)
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    // Every copy has the same text and scope: tokenized once.
    let r = &rows[0];
    let (t, b, path): (String, String, String) = (r.get(1), r.get(2), r.get(3));
    let tokens = search::item_tokens(&Segmenter::new(), &t, &b, &path, r.get(4), r.get(5));
    let docs: Vec<(i64, String)> = rows.iter().map(|r| (r.get(0), tokens.clone())).collect();
    let mut tx = app.db.begin().await.unwrap();
    search::index_batch(&mut tx, app.db.backend(), &docs)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    docs.iter().map(|d| d.0).collect()
}

/// One page of a search through the API: (ids, total, capped).
async fn page(
    app: &TestApp,
    token: &str,
    query: &str,
    page: u32,
    per: u32,
) -> (Vec<i64>, i64, bool) {
    let url = format!(
        "/api/v1/opinions?page={page}&per_page={per}&{}",
        serde_urlencoded::to_string([("q", query)]).unwrap()
    );
    let r = app.get(&url, Some(token)).await;
    assert_eq!(r.status, 200, "{url}: {}", r.text());
    let v: Value = r.json();
    let ids = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    let capped = v["total_capped"].as_bool().unwrap_or(false);
    (ids, v["total"].as_i64().unwrap(), capped)
}

/// Checks pages of `query` against `matches` (every matching id, any order).
async fn check(app: &TestApp, token: &str, query: &str, mut matches: Vec<i64>) {
    matches.sort_unstable_by(|a, b| b.cmp(a));
    let n = matches.len() as i64;
    let (total, capped) = if n > COUNT_CAP {
        (COUNT_CAP, true)
    } else {
        (n, false)
    };
    for (pg, per) in [(1u32, 20u32), (2, 20), (3, 7), (12, 100), (60, 20)] {
        let from = ((pg - 1) * per) as usize;
        let want: Vec<i64> = matches
            .iter()
            .skip(from)
            .take(per as usize)
            .copied()
            .collect();
        let got = page(app, token, query, pg, per).await;
        assert_eq!(got, (want, total, capped), "{query}, page {pg} of {per}");
    }
}

#[tokio::test]
async fn many_matches_are_paged_newest_first_with_a_capped_total() {
    let app = TestApp::spawn().await;
    let ids = crate::search::submit_all(&app).await;
    // Message 0 is in the demo's first township, message 7 in another one.
    let inside = copies(&app, ids[0], 700, "常见问题").await;
    let outside = copies(&app, ids[7], 500, "常见问题").await;
    // The newest items do not hold "常见": a walk from the newest id finds none of it.
    let newest = copies(&app, ids[0], 300, "少有问题").await;
    let office = app.token("office").await;
    let town = app.token("town1").await;

    let all =
        |sets: &[&Vec<i64>]| -> Vec<i64> { sets.iter().flat_map(|s| s.iter().copied()).collect() };
    check(&app, &office, "常见", all(&[&inside, &outside])).await;
    check(&app, &office, "问题", all(&[&inside, &outside, &newest])).await;
    check(&app, &office, "少有", newest.clone()).await;
    check(&app, &office, "少有 常见", Vec::new()).await;
    check(&app, &town, "问题", all(&[&inside, &newest])).await;
    check(&app, &town, "常见", inside.clone()).await;

    // A filter the index cannot answer stays in SQL (every copy is still submitted).
    let url = |q: &str, status: &str| {
        format!(
            "/api/v1/opinions?per_page=20&status={status}&{}",
            serde_urlencoded::to_string([("q", q)]).unwrap()
        )
    };
    for q in ["常见", "问题"] {
        let v: Value = app.get(&url(q, "submitted"), Some(&office)).await.json();
        let got: Vec<i64> = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_i64().unwrap())
            .collect();
        let (plain, _, _) = page(&app, &office, q, 1, 20).await;
        assert_eq!(got, plain, "{q} with status");
        assert_eq!(
            (v["total"].as_i64(), v["total_capped"].as_bool()),
            (Some(COUNT_CAP), Some(true))
        );
        let v: Value = app.get(&url(q, "closed"), Some(&office)).await.json();
        assert_eq!(v["total"], 0, "{q} closed");
    }
}

#[tokio::test]
async fn a_word_the_statistics_call_common_is_paged_like_any_other() {
    let app = TestApp::spawn().await;
    let ids = crate::search::submit_all(&app).await;
    // Past SURELY_COMMON (10,000 items) in the statistics: on PostgreSQL a search for
    // "常见" alone by the office is shown "1000+" without counting, its page walked.
    let common = copies(&app, ids[0], 10_200, "常见问题").await;
    // The newest items hold "问题" but not "常见": the walk's window for "常见" finds none
    // of it there, and the search is counted after all.
    let newest = copies(&app, ids[7], 200, "少有问题").await;
    analyze(&app).await;
    let office = app.token("office").await;
    let town = app.token("town1").await;
    let every: Vec<i64> = common.iter().chain(&newest).copied().collect();
    check(&app, &office, "常见", common.clone()).await;
    check(&app, &office, "问题", every).await;
    check(&app, &office, "少有", newest.clone()).await;
    check(&app, &town, "常见", common.clone()).await;
}

/// PostgreSQL: statistics of the index table now, as autovacuum would take them later.
async fn analyze(app: &TestApp) {
    if app.db.backend() == yidu_db::Backend::Postgres {
        sqlx::query("ANALYZE opinion_search")
            .execute(app.db.pool())
            .await
            .unwrap();
    }
}

/// PostgreSQL: the next items get ids from `start + 1` on.
async fn next_ids_after(app: &TestApp, start: i64) {
    sqlx::query("SELECT setval(pg_get_serial_sequence('opinions', 'id'), $1)")
        .bind(start)
        .execute(app.db.pool())
        .await
        .unwrap();
}

#[tokio::test]
async fn counted_among_the_newest_buckets_or_all_the_same() {
    let app = TestApp::spawn().await;
    let ids = crate::search::submit_all(&app).await;
    let pg = app.db.backend() == yidu_db::Backend::Postgres;
    if pg {
        // Ids from just below the start of a bucket of the bucketed region tokens, so that
        // the copies span two buckets.
        next_ids_after(&app, (3_i64 << search::BUCKET_BITS) - 2_000).await;
    }
    // Message 0 is in the demo's first township, message 7 in another one.
    let old = copies(&app, ids[0], 2_000, "常见问题").await;
    let new = copies(&app, ids[0], 1_200, "问题常见").await;
    let other = copies(&app, ids[7], 1_200, "常见问题").await;
    analyze(&app).await;
    let office = app.token("office").await;
    let town = app.token("town1").await;
    let all =
        |sets: &[&Vec<i64>]| -> Vec<i64> { sets.iter().flat_map(|s| s.iter().copied()).collect() };
    // On PostgreSQL the statistics put "常见" in nearly every item and the township in
    // three quarters of them: both are counted among the newest bucket alone (over 1,000
    // of the township's matches are there), the township's pages read from it.
    check(&app, &town, "常见", all(&[&old, &new])).await;
    check(&app, &town, "问题", all(&[&old, &new])).await;
    check(&app, &office, "常见", all(&[&old, &new, &other])).await;
    check(&app, &town, "常见 问题", all(&[&old, &new])).await;
    // Newer than the statistics (read once, then kept for minutes), in the next bucket:
    // the newest bucket holds no "常见", so it is counted over all of the index after all.
    if pg {
        next_ids_after(&app, (4_i64 << search::BUCKET_BITS) - 100).await;
    }
    let fresh = copies(&app, ids[0], 2_500, "少有问题").await;
    check(&app, &town, "常见", all(&[&old, &new])).await;
    check(&app, &town, "问题", all(&[&old, &new, &fresh])).await;
    check(&app, &office, "常见", all(&[&old, &new, &other])).await;
    check(&app, &town, "少有", fresh.clone()).await;
}
