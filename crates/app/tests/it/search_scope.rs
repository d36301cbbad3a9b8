//! The viewer's scope taken from the search index (scope tokens): exactly the matches the
//! SQL scope gives, for every role; nothing typed or written reaches a scope token; and an
//! index in the previous token format is rebuilt, once, by whichever instance claims it,
//! with the same results before, during and after.

use crate::helpers::TestApp;
use crate::search::{places, submit_all};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use yidu_db::Row;
use yidu_opinions::model::{Channel, Submission};
use yidu_opinions::service::search_build::{self, Outcome};
use yidu_opinions::service::{search, submit};

const USERS: &[&str] = &["office", "town1", "station1", "deputy1", "dept1", "admin"];
const QUERIES: &[&str] = &["路灯", "垃圾", "噪音 小区", "坏", "wifi", "下水道"];

/// Every id a search finds for a user, through the API, all pages.
async fn found_all(app: &TestApp, token: &str, q: &str) -> BTreeSet<i64> {
    let mut out = BTreeSet::new();
    for page in 1.. {
        let url = format!(
            "/api/v1/opinions?per_page=100&page={page}&{}",
            serde_urlencoded::to_string([("q", q)]).unwrap()
        );
        let r = app.get(&url, Some(token)).await;
        assert_eq!(r.status, 200, "{q}: {}", r.text());
        let v: Value = r.json();
        let items = v["items"].as_array().unwrap();
        out.extend(items.iter().map(|i| i["id"].as_i64().unwrap()));
        if items.len() < 100 {
            break;
        }
    }
    out
}

/// (user, query) → ids, for every user and query.
async fn answers(app: &TestApp, queries: &[&str]) -> BTreeMap<(String, String), BTreeSet<i64>> {
    let mut out = BTreeMap::new();
    for u in USERS {
        let token = app.token(u).await;
        for q in queries {
            out.insert(
                (u.to_string(), q.to_string()),
                found_all(app, &token, q).await,
            );
        }
    }
    out
}

/// A few items through a deputy's and a station's code, so that those scopes hold items.
async fn submit_by_codes(app: &TestApp) {
    let s = &app.demo.as_ref().unwrap().summary;
    let o = yidu_app::router::opinions(app.db.clone(), &app.config).unwrap();
    let codes = [
        Channel::Deputy(s.deputy_code.clone()),
        Channel::Deputy(s.deputy_code.clone()),
        Channel::Station(s.station_code.clone()),
    ];
    for (i, channel) in codes.into_iter().enumerate() {
        let body = format!("第{i}次反映，路灯坏了，垃圾也没人清");
        let sub = Submission {
            title: "路灯和垃圾".into(),
            body,
            consent: true,
            ..Default::default()
        };
        submit::submit(&o, channel, &sub, &[], &format!("198.51.100.{i}"), None)
            .await
            .expect("submit by code");
    }
}

/// What each user's scope admits, decided on the item's columns alone (the SQL scope).
async fn expected(app: &TestApp, user: &str, q: &str) -> BTreeSet<i64> {
    let s = &app.demo.as_ref().unwrap().summary;
    let town: String = sqlx::query("SELECT path FROM regions WHERE id = $1")
        .bind(s.township_id)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    let backend = app.db.backend();
    let expr = search::match_expr(backend, &search::query_terms(q)).unwrap();
    let sql = format!(
        "SELECT o.id, o.region_path, o.station_id, o.deputy_id, o.unit_id FROM opinions o WHERE {}",
        search::condition(backend, "$1")
    );
    let rows = sqlx::query(&sql)
        .bind(expr)
        .fetch_all(app.db.pool())
        .await
        .unwrap();
    rows.iter()
        .filter(|r| {
            let path: String = r.get(1);
            let (station, deputy, unit): (Option<i64>, Option<i64>, Option<i64>) =
                (r.get(2), r.get(3), r.get(4));
            match user {
                "office" => path.starts_with(&s.district_path),
                "town1" => path.starts_with(&town),
                "station1" => station == Some(s.station_id),
                "deputy1" => deputy == Some(s.deputy_id),
                "dept1" => unit == Some(s.unit_id),
                "admin" => true,
                _ => unreachable!(),
            }
        })
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test]
async fn scope_from_the_index_equals_scope_in_sql() {
    let app = TestApp::spawn().await;
    submit_all(&app).await;
    submit_by_codes(&app).await;
    let o = yidu_app::router::opinions(app.db.clone(), &app.config).unwrap();
    yidu_opinions::demo::load_history(&o, 150, 11)
        .await
        .unwrap();
    assert!(search_build::ready(&o).await.unwrap(), "fresh database");

    let by_index = answers(&app, QUERIES).await;
    for ((user, q), got) in &by_index {
        assert_eq!(*got, expected(&app, user, q).await, "{user} searching {q}");
    }
    // The scopes differ, so the comparison means something.
    let key = |u: &str| (u.to_string(), "路灯".to_string());
    let (office, town) = (&by_index[&key("office")], &by_index[&key("town1")]);
    assert!(
        !town.is_empty() && town.len() < office.len(),
        "{town:?} {office:?}"
    );
    let station = &by_index[&key("station1")];
    assert!(!station.is_empty() && station.is_subset(town));
    assert!(by_index[&key("deputy1")].len() >= 2);
    // With the region, station and deputy filters too.
    let office_token = app.token("office").await;
    let s = &app.demo.as_ref().unwrap().summary;
    let filtered = |f: String| {
        let app = &app;
        let token = office_token.clone();
        async move {
            let r = app
                .get(
                    &format!("/api/v1/opinions?per_page=100&q=%E8%B7%AF%E7%81%AF&{f}"),
                    Some(&token),
                )
                .await;
            let v: Value = r.json();
            let ids: BTreeSet<i64> = v["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_i64().unwrap())
                .collect();
            ids
        }
    };
    assert_eq!(
        filtered(format!("region_id={}", s.township_id)).await,
        *town
    );
    assert_eq!(
        filtered(format!("station_id={}", s.station_id)).await,
        *station
    );
    assert_eq!(
        filtered(format!("deputy_id={}", s.deputy_id)).await,
        by_index[&key("deputy1")]
    );

    // The same answers with the scope checked in SQL, as while a rebuild is pending.
    sqlx::query("DELETE FROM search_index_builds")
        .execute(app.db.pool())
        .await
        .unwrap();
    let other = app.second_instance().await;
    assert_eq!(answers(&other, QUERIES).await, by_index);
}

#[tokio::test]
async fn a_query_never_matches_scope_tokens() {
    let app = TestApp::spawn().await;
    let ids = submit_all(&app).await;
    let s = &app.demo.as_ref().unwrap().summary;
    let town: String = sqlx::query("SELECT path FROM regions WHERE id = $1")
        .bind(s.township_id)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    let town_token = search::region_token(&town).unwrap();
    let district_token = search::region_token(&s.district_path).unwrap();
    // Outside the township, with the township's scope token written in its text.
    let o = yidu_app::router::opinions(app.db.clone(), &app.config).unwrap();
    let planted = Submission {
        title: "路灯编号有误".into(),
        body: format!(
            "编号 r1 和 {town_token} {district_token} s{}域",
            s.station_id
        ),
        grid_id: Some(places(&app).await.outside),
        consent: true,
        ..Default::default()
    };
    let r = submit::submit(&o, Channel::General, &planted, &[], "192.0.2.1", None)
        .await
        .unwrap();
    let planted: i64 = sqlx::query("SELECT id FROM opinions WHERE tracking_no = $1")
        .bind(&r.tracking_no)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);

    let office = app.token("office").await;
    let only_planted = BTreeSet::from([planted]);
    // Every item carries r1-like scope tokens; only the text "r1" is found.
    assert_eq!(found_all(&app, &office, "r1").await, only_planted);
    for q in [
        town_token.clone(),
        district_token.clone(),
        format!("s{}域", s.station_id),
        town_token.trim_end_matches('域').to_string(),
        "域".to_string(),
    ] {
        let hits = found_all(&app, &office, &q).await;
        assert!(hits.is_subset(&only_planted), "{q}: {hits:?}");
    }
    // Text cannot put an item into a scope: the township never sees the planted item.
    let town1 = app.token("town1").await;
    let seen = found_all(&app, &town1, "路灯").await;
    assert!(!seen.contains(&planted));
    assert_eq!(seen, BTreeSet::from([ids[0], ids[1]]));
    let station1 = app.token("station1").await;
    assert!(!found_all(&app, &station1, "编号").await.contains(&planted));
}

#[tokio::test]
async fn an_old_index_is_rebuilt_once_with_the_same_results() {
    let app = TestApp::spawn().await;
    submit_all(&app).await;
    submit_by_codes(&app).await;
    let o = yidu_app::router::opinions(app.db.clone(), &app.config).unwrap();
    yidu_opinions::demo::load_history(&o, 120, 5).await.unwrap();
    let before = answers(&app, QUERIES).await;

    // An existing deployment: the index in the previous format (text tokens only) and
    // no finished rebuild.
    let rows = sqlx::query("SELECT id, title, body FROM opinions ORDER BY id")
        .fetch_all(app.db.pool())
        .await
        .unwrap();
    let old: Vec<(i64, String)> = rows
        .iter()
        .map(|r| {
            let (t, b): (String, String) = (r.get(1), r.get(2));
            (r.get(0), search::document_tokens(&o.segmenter, &t, &b))
        })
        .collect();
    let mut tx = app.db.begin().await.unwrap();
    sqlx::query("DELETE FROM search_index_builds")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("DELETE FROM opinion_search")
        .execute(&mut *tx)
        .await
        .unwrap();
    search::index_batch(&mut tx, app.db.backend(), &old)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    // Before the rebuild, scope is checked in SQL: same answers.
    let other = app.second_instance().await;
    assert_eq!(answers(&other, QUERIES).await, before);

    // A live claim of another instance: this one waits.
    let now = yidu_kernel::clock::now_ms();
    let mid = old[old.len() / 2].0;
    sqlx::query(
        "INSERT INTO search_index_builds (version, claimed_by, heartbeat_at, last_id) VALUES ($1, 'other', $2, $3)",
    )
    .bind(search_build::TOKEN_VERSION)
    .bind(now)
    .bind(mid)
    .execute(app.db.pool())
    .await
    .unwrap();
    let fresh = yidu_app::router::opinions(app.db.clone(), &app.config).unwrap();
    assert_eq!(
        search_build::run_once(&fresh, "me").await.unwrap(),
        Outcome::Busy
    );
    assert!(!search_build::ready(&fresh).await.unwrap());
    // The other instance went silent with half the items done (which it was: make it so):
    // this one takes over and resumes after its checkpoint.
    search::reindex(&o).await.unwrap();
    sqlx::query("UPDATE search_index_builds SET heartbeat_at = $1")
        .bind(now - search_build::LEASE_MS - 1)
        .execute(app.db.pool())
        .await
        .unwrap();
    let rest = old.iter().filter(|(id, _)| *id > mid).count();
    assert_eq!(
        search_build::run_once(&fresh, "me").await.unwrap(),
        Outcome::Done { items: rest }
    );
    let row = sqlx::query("SELECT claimed_by, last_id FROM search_index_builds")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(row.get::<String, _>(0), "me");
    assert_eq!(row.get::<i64, _>(1), old[old.len() - 1].0);
    // Done once: later attempts do nothing, on any instance.
    let again = yidu_app::router::opinions(app.db.clone(), &app.config).unwrap();
    assert_eq!(
        search_build::run_once(&again, "third").await.unwrap(),
        Outcome::Done { items: 0 }
    );
    let third = app.second_instance().await;
    assert_eq!(answers(&third, QUERIES).await, before);

    // A full reindex changes nothing either.
    search::reindex(&o).await.unwrap();
    assert_eq!(answers(&third, QUERIES).await, before);
}

/// The office of the only top-level region searches without a scope term (it would match
/// every item); once a second top-level region exists, its scope is part of the match again.
#[tokio::test]
async fn a_second_top_level_region_keeps_the_office_to_its_own() {
    let app = TestApp::spawn().await;
    submit_all(&app).await;
    let o = yidu_app::router::opinions(app.db.clone(), &app.config).unwrap();
    let office = app.token("office").await;
    let admin = app.token("admin").await;
    let district_path = app.demo.as_ref().unwrap().summary.district_path.clone();
    assert!(yidu_registry::scope::is_only_root(&app.db, &district_path)
        .await
        .unwrap());
    let everything = found_all(&app, &admin, "路灯").await;
    assert!(everything.len() >= 2, "{everything:?}");
    assert_eq!(found_all(&app, &office, "路灯").await, everything);

    // Another district beside it, with one of the items recorded there (and re-indexed).
    sqlx::query(
        "INSERT INTO regions (id, parent_id, level, name, path, district_id, retired, created_at, updated_at) \
         VALUES (990001, NULL, 'district', '邻区', '/990001/', 990001, 0, 0, 0)",
    )
    .execute(app.db.pool())
    .await
    .unwrap();
    assert!(!yidu_registry::scope::is_only_root(&app.db, &district_path)
        .await
        .unwrap());
    let moved = *everything.iter().next().unwrap();
    sqlx::query("UPDATE opinions SET region_path = '/990001/', district_id = 990001 WHERE id = $1")
        .bind(moved)
        .execute(app.db.pool())
        .await
        .unwrap();
    search::reindex(&o).await.unwrap();
    assert_eq!(found_all(&app, &admin, "路灯").await, everything);
    let office_sees = found_all(&app, &office, "路灯").await;
    let mut expected = everything.clone();
    expected.remove(&moved);
    assert_eq!(
        office_sees, expected,
        "the neighbour's item stays out of the office's search"
    );
}
