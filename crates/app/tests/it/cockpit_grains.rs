//! The cockpit's week grain (migration 0012): week rows are the sums of their day rows
//! whichever way they are written (incrementally, by a rebuild, by the migration itself),
//! and periods and the 12-week trend read from weeks give the numbers the days give.

use crate::helpers::TestApp;
use std::collections::BTreeMap;
use yidu_cockpit::counters::{self, Change, Item, DAY, MONTH, WEEK};
use yidu_cockpit::service::{self, Period};
use yidu_db::Row;
use yidu_kernel::Principal;
use yidu_opinions::model::{Channel, MoveInput, Submission};
use yidu_opinions::service::{moves, submit};

type Sums = BTreeMap<(i64, i64, String, i64, i64), Vec<i64>>;

const COLS: &str = "grain, day, region_path, category_id, station_id, received, accepted, handled, replied, closed, \
     on_time_replies, late_replies, satisfied, basic, unsatisfied, handling_ms_sum, working_mdays_sum";

/// Every counter row (all grains) and every grid row, as sorted text.
async fn all_rows(app: &TestApp) -> (Sums, BTreeMap<(i64, i64, String, i64), i64>) {
    let rows = sqlx::query(&format!("SELECT {COLS} FROM cockpit_counters"))
        .fetch_all(app.db.pool())
        .await
        .unwrap();
    let mut c = Sums::new();
    for r in &rows {
        let nums: Vec<i64> = (5..17).map(|i| r.get::<i64, _>(i)).collect();
        if nums.iter().any(|n| *n != 0) {
            c.insert((r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)), nums);
        }
    }
    let rows = sqlx::query("SELECT grain, day, region_path, grid_id, received FROM cockpit_grids")
        .fetch_all(app.db.pool())
        .await
        .unwrap();
    let mut g = BTreeMap::new();
    for r in &rows {
        let n: i64 = r.get(4);
        if n != 0 {
            g.insert((r.get(0), r.get(1), r.get(2), r.get(3)), n);
        }
    }
    (c, g)
}

/// Week and month rows recomputed from the day rows must equal the stored ones.
async fn assert_grains_add_up(app: &TestApp) {
    let (c, g) = all_rows(app).await;
    let mut want = Sums::new();
    for ((grain, day, path, cat, st), nums) in &c {
        if *grain != DAY {
            continue;
        }
        for (gr, d) in [(WEEK, counters::monday_of(*day)), (MONTH, day / 100 * 100)] {
            let e = want
                .entry((gr, d, path.clone(), *cat, *st))
                .or_insert_with(|| vec![0; 12]);
            for (a, b) in e.iter_mut().zip(nums) {
                *a += b;
            }
        }
    }
    want.retain(|_, v| v.iter().any(|n| *n != 0));
    let stored: Sums = c.into_iter().filter(|(k, _)| k.0 != DAY).collect();
    assert!(stored.keys().any(|k| k.0 == WEEK), "there are week rows");
    assert_eq!(stored, want, "week and month rows = sums of their days");
    let mut want_g = BTreeMap::new();
    for ((grain, day, path, grid), n) in &g {
        if *grain == DAY {
            *want_g
                .entry((WEEK, counters::monday_of(*day), path.clone(), *grid))
                .or_insert(0) += n;
            *want_g
                .entry((MONTH, day / 100 * 100, path.clone(), *grid))
                .or_insert(0) += n;
        }
    }
    want_g.retain(|_, n| *n != 0);
    let stored_g: BTreeMap<_, _> = g.into_iter().filter(|(k, _)| k.0 != DAY).collect();
    assert_eq!(
        stored_g, want_g,
        "grid week and month rows = sums of their days"
    );
}

fn mv(action: &str) -> MoveInput {
    serde_json::from_value(serde_json::json!({"action": action, "note": "好"})).unwrap()
}

#[tokio::test]
async fn week_rows_add_up_after_moves_rebuild_and_the_migration() {
    let app = TestApp::spawn().await;
    let o = yidu_app::router::opinions(app.db.clone(), &app.config).unwrap();
    // A bulk-loaded history (counted by a rebuild), then real submissions and moves
    // (counted incrementally).
    yidu_opinions::demo::load_history(&o, 300, 3).await.unwrap();
    let grid: i64 = sqlx::query("SELECT id FROM regions WHERE level = 'grid' ORDER BY id LIMIT 1")
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    let admin = Principal::system();
    for i in 0..3 {
        let form = Submission {
            category_id: None,
            title: format!("楼道灯坏了 {i}"),
            body: "晚上看不见路。".into(),
            grid_id: Some(grid),
            address: String::new(),
            latitude: None,
            longitude: None,
            name: String::new(),
            phone: String::new(),
            consent: true,
            website: String::new(),
        };
        let receipt = submit::submit(&o, Channel::General, &form, &[], "10.0.0.1", None)
            .await
            .unwrap();
        let id: i64 = sqlx::query("SELECT id FROM opinions WHERE tracking_no = $1")
            .bind(&receipt.tracking_no)
            .fetch_one(app.db.pool())
            .await
            .unwrap()
            .get(0);
        for a in ["accept", "start", "reply"].iter().take(i + 1) {
            moves::apply(&o, &admin, "10.0.0.2", id, &mv(a))
                .await
                .unwrap();
        }
    }
    assert_grains_add_up(&app).await;
    let incremental = all_rows(&app).await;

    // A rebuild from the opinions table writes the same rows, weeks included.
    counters::rebuild(&app.db, &o.calendar, o.config.reply_days)
        .await
        .unwrap();
    assert_eq!(all_rows(&app).await, incremental, "rebuild = incremental");

    // Down removes the week rows; up derives them again from the day rows.
    yidu_db::migrate::revert_to(&app.db, 11).await.unwrap();
    let weeks: i64 = sqlx::query("SELECT COUNT(*) FROM cockpit_counters WHERE grain = 3")
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    assert_eq!(weeks, 0);
    yidu_db::migrate::run(&app.db).await.unwrap();
    assert_eq!(all_rows(&app).await, incremental, "migrated = incremental");
}

#[tokio::test]
async fn periods_and_the_trend_read_from_weeks_count_what_the_days_count() {
    let app = TestApp::spawn().await;
    let s = app.demo.as_ref().unwrap().summary.clone();
    let town: String = sqlx::query("SELECT path FROM regions WHERE id = $1")
        .bind(s.township_id)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    let cal = yidu_calendar::Calendar::builtin();
    // 1, 2 or 3 items a day from Thursday 2026-01-01 to 2026-04-30, at 10:00 Beijing; every
    // fifth day's items are replied the next day.
    let t0 = 1_767_232_800_000i64;
    let ms_day = 86_400_000;
    let mut items = Vec::new();
    let mut tx = app.db.begin().await.unwrap();
    for d in 0..120 {
        for k in 0..(d % 3 + 1) {
            let created = t0 + d * ms_day + k * 60_000;
            let replied = d % 5 == 0;
            let it = Item {
                created_at: created,
                region_path: town.clone(),
                station_id: Some(s.station_id),
                status: if replied { "replied" } else { "accepted" }.into(),
                accepted_at: Some(created),
                replied_at: replied.then_some(created + ms_day),
                ..Item::default()
            };
            counters::record(&mut tx, &Change::submitted(&cal, 15, it))
                .await
                .unwrap();
            items.push((counters::day_of(created), i64::from(replied)));
        }
    }
    tx.commit().await.unwrap();
    assert_grains_add_up(&app).await;

    let ymd = |n: i64| format!("{:04}-{:02}-{:02}", n / 10_000, n / 100 % 100, n % 100);
    let periods = [
        (20260101, 20260430),
        (20260107, 20260329), // Wednesday .. Sunday: weeks at both edges
        (20260107, 20260325), // .. Wednesday
        (20260105, 20260111), // exactly one week
        (20260203, 20260205),
        (20260115, 20260415),
    ];
    for (f, t) in periods {
        let p = Period {
            from: Some(ymd(f)),
            to: Some(ymd(t)),
        };
        let c = service::cockpit(&app.db, &Principal::system(), &p)
            .await
            .unwrap();
        let inside: Vec<_> = items.iter().filter(|(d, _)| *d >= f && *d <= t).collect();
        assert_eq!(c.totals.received, inside.len() as i64, "{f}..{t}");
        assert_eq!(
            c.totals.handled,
            inside.iter().map(|(_, h)| h).sum::<i64>(),
            "{f}..{t}"
        );
        // The trend: 12 weeks ending with `to`, the last one cut at `to`.
        assert_eq!(c.weekly.len(), 12);
        for w in &c.weekly {
            let want: Vec<_> = items
                .iter()
                .filter(|(d, _)| ymd(counters::monday_of(*d)) == w.week && *d <= t)
                .collect();
            assert_eq!(w.received, want.len() as i64, "week {} up to {t}", w.week);
            assert_eq!(w.handled, want.iter().map(|(_, h)| h).sum::<i64>());
        }
    }
}

#[tokio::test]
async fn the_overdue_list_is_the_most_overdue_open_items_in_scope() {
    let app = TestApp::spawn().await;
    let o = yidu_app::router::opinions(app.db.clone(), &app.config).unwrap();
    yidu_opinions::demo::load_history(&o, 600, 9).await.unwrap();
    let town: String = sqlx::query(
        "SELECT r.path FROM opinions o JOIN regions r ON o.region_path LIKE r.path || '%' \
         WHERE r.level = 'township' GROUP BY r.path ORDER BY COUNT(*) DESC LIMIT 1",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap()
    .get(0);
    for like in ["/%".to_string(), format!("{town}%")] {
        let want: Vec<i64> = sqlx::query(
            "SELECT id FROM opinions WHERE status IN ('submitted', 'accepted', 'assigned', 'in_progress', 'escalated') \
             AND deadline_at < $1 AND region_path LIKE $2 ORDER BY deadline_at, id LIMIT 20",
        )
        .bind(yidu_kernel::clock::now_ms())
        .bind(like.clone())
        .fetch_all(app.db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
        let got: Vec<i64> = service::overdue(&app.db, &like)
            .await
            .unwrap()
            .iter()
            .map(|i| i.id)
            .collect();
        assert!(want.len() >= 5, "the history has overdue items in {like}");
        assert_eq!(got, want, "{like}");
    }
}
