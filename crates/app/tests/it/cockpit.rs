//! The cockpit (一舱): counters follow real moves, queries are scoped, rates are right,
//! a rebuild matches incremental counting, pages draw SVG, and the demo history loads.

use crate::helpers::TestApp;
use yidu_cockpit::counters::{self, Change, Item};
use yidu_cockpit::service::{self, Period};
use yidu_db::Row;
use yidu_kernel::Principal;
use yidu_opinions::model::{Channel, MoveInput, Submission};
use yidu_opinions::service::{moves, submit};

async fn a_grid_in(app: &TestApp, region_id: i64) -> (i64, String) {
    let town: String = sqlx::query("SELECT path FROM regions WHERE id = $1")
        .bind(region_id)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    let r = sqlx::query(
        "SELECT id FROM regions WHERE level = 'grid' AND path LIKE $1 ORDER BY id LIMIT 1",
    )
    .bind(format!("{town}%"))
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    (r.get(0), town)
}

fn form(grid: i64) -> Submission {
    Submission {
        category_id: None,
        title: "小区路灯不亮".into(),
        body: "3号楼前的路灯坏了一个多月。".into(),
        grid_id: Some(grid),
        address: String::new(),
        latitude: None,
        longitude: None,
        name: String::new(),
        phone: String::new(),
        consent: true,
        website: String::new(),
    }
}

fn mv(action: &str, note: &str) -> MoveInput {
    serde_json::from_value(serde_json::json!({"action": action, "note": note})).unwrap()
}

async fn snapshot(app: &TestApp) -> Vec<String> {
    let rows = sqlx::query(
        "SELECT grain, day, region_path, category_id, station_id, received, accepted, handled, replied, closed, on_time_replies, \
         late_replies, satisfied, basic, unsatisfied, handling_ms_sum, working_mdays_sum FROM cockpit_counters \
         WHERE received <> 0 OR handled <> 0 ORDER BY grain, day, region_path, category_id, station_id",
    )
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    rows.iter()
        .map(|r| {
            let path: String = r.get(2);
            let nums: Vec<String> = (0..17)
                .filter(|i| *i != 2)
                .map(|i| r.get::<i64, _>(i).to_string())
                .collect();
            format!("{path} {}", nums.join(" "))
        })
        .collect()
}

#[tokio::test]
async fn counters_follow_real_moves_and_rebuild_agrees() {
    let app = TestApp::spawn().await;
    let s = app.demo.as_ref().unwrap().summary.clone();
    let o = yidu_app::router::opinions(app.db.clone(), &app.config).unwrap();
    let admin = Principal::system();
    let (grid, _) = a_grid_in(&app, s.township_id).await;
    let total = |c: &service::Cockpit| {
        (
            c.totals.received,
            c.totals.replied,
            c.totals.on_time_replies,
            c.totals.satisfied,
        )
    };

    let before = service::cockpit(&app.db, &admin, &Period::default())
        .await
        .unwrap();
    let receipt = submit::submit(
        &o,
        Channel::Station(s.station_code.clone()),
        &form(grid),
        &[],
        "10.0.0.1",
        None,
    )
    .await
    .unwrap();
    let after = service::cockpit(&app.db, &admin, &Period::default())
        .await
        .unwrap();
    assert_eq!(total(&after).0, total(&before).0 + 1, "received + 1");

    let id: i64 = sqlx::query("SELECT id FROM opinions WHERE tracking_no = $1")
        .bind(&receipt.tracking_no)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    moves::apply(&o, &admin, "10.0.0.2", id, &mv("accept", ""))
        .await
        .unwrap();
    moves::apply(&o, &admin, "10.0.0.2", id, &mv("start", ""))
        .await
        .unwrap();
    moves::apply(&o, &admin, "10.0.0.2", id, &mv("reply", "已修好"))
        .await
        .unwrap();
    let replied = service::cockpit(&app.db, &admin, &Period::default())
        .await
        .unwrap();
    assert_eq!(total(&replied).1, total(&before).1 + 1, "replied + 1");
    assert_eq!(total(&replied).2, total(&before).2 + 1, "on time + 1");
    moves::rate(
        &o,
        &receipt.tracking_no,
        &receipt.query_code,
        "satisfied",
        "",
        "10.0.0.1",
    )
    .await
    .unwrap();
    let rated = service::cockpit(&app.db, &admin, &Period::default())
        .await
        .unwrap();
    assert_eq!(total(&rated).3, total(&before).3 + 1, "satisfied + 1");
    assert_eq!(rated.totals.closed, before.totals.closed + 1);
    assert!(rated.totals.mean_working_days.is_some());

    // A second item left open, then a rebuild from the opinions table gives the same rows.
    submit::submit(&o, Channel::General, &form(grid), &[], "10.0.0.3", None)
        .await
        .unwrap();
    let incremental = snapshot(&app).await;
    assert!(!incremental.is_empty());
    counters::rebuild(&app.db, &o.calendar, o.config.reply_days)
        .await
        .unwrap();
    assert_eq!(snapshot(&app).await, incremental);
}

#[tokio::test]
async fn queries_are_scoped_by_role() {
    let app = TestApp::spawn().await;
    let s = app.demo.as_ref().unwrap().summary.clone();
    let o = yidu_app::router::opinions(app.db.clone(), &app.config).unwrap();
    let (grid, town) = a_grid_in(&app, s.township_id).await;
    submit::submit(&o, Channel::General, &form(grid), &[], "10.0.0.1", None)
        .await
        .unwrap();
    // An item in another township.
    let other: i64 = sqlx::query(
        "SELECT id FROM regions WHERE level = 'grid' AND path NOT LIKE $1 ORDER BY id LIMIT 1",
    )
    .bind(format!("{town}%"))
    .fetch_one(app.db.pool())
    .await
    .unwrap()
    .get(0);
    submit::submit(&o, Channel::General, &form(other), &[], "10.0.0.2", None)
        .await
        .unwrap();

    let office = app.token("office").await;
    let r = app.get("/api/v1/cockpit", Some(&office)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["totals"]["received"], 2);
    let town1 = app.token("town1").await;
    let r = app.get("/api/v1/cockpit", Some(&town1)).await;
    assert_eq!(r.status, 200);
    let j = r.json();
    assert_eq!(
        j["totals"]["received"], 1,
        "a township sees only its own items"
    );
    assert!(j["by_township"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["id"].as_str().unwrap().starts_with(&town)));
    let station = app.token("station1").await;
    assert_eq!(app.get("/api/v1/cockpit", Some(&station)).await.status, 403);
    let r = app
        .get("/api/v1/cockpit?from=2026-13-01", Some(&office))
        .await;
    assert_eq!(r.status, 422);
    let r = app
        .get(
            "/api/v1/cockpit?from=2026-05-01&to=2026-04-01",
            Some(&office),
        )
        .await;
    assert_eq!(r.status, 422);
}

#[tokio::test]
async fn rates_on_a_hand_made_history() {
    let app = TestApp::spawn().await;
    let s = app.demo.as_ref().unwrap().summary.clone();
    let (grid, town) = a_grid_in(&app, s.township_id).await;
    let cal = yidu_calendar::Calendar::builtin();
    // Four items received on Monday 2026-03-02 10:00 Beijing (02:00 UTC).
    let t0 = 1_772_416_800_000i64;
    let day = 86_400_000;
    let base = Item {
        created_at: t0,
        region_path: town.clone(),
        grid_id: Some(grid),
        station_id: Some(s.station_id),
        status: "submitted".into(),
        ..Item::default()
    };
    let items = vec![
        // Replied after 2 calendar days (2 working days), rated satisfied, closed.
        Item {
            status: "closed".into(),
            accepted_at: Some(t0),
            replied_at: Some(t0 + 2 * day),
            closed_at: Some(t0 + 3 * day),
            satisfaction: "satisfied".into(),
            ..base.clone()
        },
        // Replied late (40 days), rated basic; then one rated unsatisfied.
        Item {
            status: "closed".into(),
            accepted_at: Some(t0),
            replied_at: Some(t0 + 40 * day),
            closed_at: Some(t0 + 41 * day),
            satisfaction: "basic".into(),
            ..base.clone()
        },
        Item {
            status: "closed".into(),
            accepted_at: Some(t0),
            replied_at: Some(t0 + 4 * day),
            closed_at: Some(t0 + 5 * day),
            satisfaction: "unsatisfied".into(),
            ..base.clone()
        },
        // Still open.
        Item {
            status: "accepted".into(),
            accepted_at: Some(t0),
            ..base.clone()
        },
    ];
    let mut tx = app.db.begin().await.unwrap();
    for it in items {
        counters::record(&mut tx, &Change::submitted(&cal, 15, it))
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let p = Period {
        from: Some("2026-03-01".into()),
        to: Some("2026-03-31".into()),
    };
    let c = service::cockpit(&app.db, &Principal::system(), &p)
        .await
        .unwrap();
    let t = &c.totals;
    assert_eq!(
        (
            t.received,
            t.handled,
            t.replied,
            t.on_time_replies,
            t.late_replies
        ),
        (4, 3, 3, 2, 1)
    );
    assert_eq!(t.handling_rate, Some(0.75));
    assert!((t.on_time_rate.unwrap() - 2.0 / 3.0).abs() < 1e-9);
    assert!((t.satisfaction_rate.unwrap() - 2.0 / 3.0).abs() < 1e-9);
    // 2 + 4 working days for the first and third; the late one took more than 20.
    let mean = t.mean_working_days.unwrap();
    assert!(mean > 8.0 && mean < 12.0, "{mean}");
    assert_eq!(c.by_township.len(), 1);
    assert_eq!(c.grids[0].received, 4);
    // A period that only partly covers March reads the day rows and finds the same items.
    let p = Period {
        from: Some("2026-02-15".into()),
        to: Some("2026-03-02".into()),
    };
    assert_eq!(
        service::cockpit(&app.db, &Principal::system(), &p)
            .await
            .unwrap()
            .totals
            .received,
        4
    );
    let p = Period {
        from: Some("2026-03-03".into()),
        to: Some("2026-04-30".into()),
    };
    assert_eq!(
        service::cockpit(&app.db, &Principal::system(), &p)
            .await
            .unwrap()
            .totals
            .received,
        0
    );
}

#[tokio::test]
async fn the_page_draws_svg_and_the_demo_history_loads() {
    let app = TestApp::spawn().await;
    let o = yidu_app::router::opinions(app.db.clone(), &app.config).unwrap();
    let n = yidu_opinions::demo::load_history(&o, 500, 7).await.unwrap();
    assert_eq!(n, 500);
    let statuses: Vec<String> = sqlx::query("SELECT DISTINCT status FROM opinions")
        .fetch_all(app.db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    for s in [
        "submitted",
        "accepted",
        "assigned",
        "in_progress",
        "escalated",
        "replied",
        "closed",
        "rejected",
        "merged",
        "converted",
    ] {
        assert!(
            statuses.iter().any(|x| x == s),
            "no item is {s}: {statuses:?}"
        );
    }
    let events: i64 = sqlx::query("SELECT COUNT(*) FROM opinion_events")
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    assert!(events > 1000);
    let p = Period {
        from: Some("2020-01-01".into()),
        to: None,
    };
    let c = service::cockpit(&app.db, &Principal::system(), &p)
        .await
        .unwrap();
    assert_eq!(c.totals.received, 500);
    assert!(!c.overdue.is_empty(), "some items are overdue");
    assert!(c.totals.satisfaction_rate.unwrap() > 0.8);

    let b = app.browser();
    b.login("office").await;
    let r = b.get("/staff/cockpit").await;
    assert_eq!(r.status, 200);
    let html = r.text();
    assert!(html.contains("<svg") && html.contains("驾驶舱"));
    let r = b.get("/staff/cockpit?from=2025-01-01&to=2025-12-31").await;
    assert_eq!(r.status, 200);
    let s = app.browser();
    s.login("station1").await;
    assert_eq!(s.get("/staff/cockpit").await.status, 403);
}
