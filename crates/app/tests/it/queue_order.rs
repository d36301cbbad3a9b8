//! The staff queue's order and totals at any size: open items with a deadline (earliest
//! first), open items without one, then closed items (newest first), paged across the
//! segment edges at every page size, with the filters combined, through the service, the
//! API, the page and the export; a list longer than the count cap gives a lower-bound
//! total ("10000+"), a shorter one an exact total.

use crate::helpers::TestApp;
use yidu_db::{Backend, Row};
use yidu_kernel::PageQuery;
use yidu_opinions::model::{Channel, Submission};
use yidu_opinions::service::queue::QUEUE_COUNT_CAP as COUNT_CAP;
use yidu_opinions::service::read::{self, QueueFilter};

fn demo(app: &TestApp) -> &yidu_registry::demo::DemoSummary {
    &app.demo.as_ref().unwrap().summary
}

async fn submit(app: &TestApp, title: &str) -> i64 {
    let o = yidu_app::router::opinions(app.db.clone(), &app.config).unwrap();
    let s = Submission {
        title: title.into(),
        body: "路灯坏了，晚上看不见路".into(),
        consent: true,
        ..Default::default()
    };
    let receipt = yidu_opinions::service::submit::submit(
        &o,
        Channel::Deputy(demo(app).deputy_code.clone()),
        &s,
        &[],
        "198.51.100.7",
        None,
    )
    .await
    .expect("submit");
    sqlx::query("SELECT id FROM opinions WHERE tracking_no = $1")
        .bind(&receipt.tracking_no)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0)
}

/// Sets an item's status, deadline and creation time directly (ms since 1970: all far
/// in the past, so every deadline is overdue).
async fn shape(app: &TestApp, id: i64, status: &str, deadline: Option<i64>, created: i64) {
    sqlx::query("UPDATE opinions SET status = $1, deadline_at = $2, created_at = $3 WHERE id = $4")
        .bind(status)
        .bind(deadline)
        .bind(created)
        .bind(id)
        .execute(app.db.pool())
        .await
        .unwrap();
}

async fn set_int(app: &TestApp, column: &str, value: i64, ids: &[i64]) {
    for id in ids {
        sqlx::query(&format!("UPDATE opinions SET {column} = $1 WHERE id = $2"))
            .bind(value)
            .bind(*id)
            .execute(app.db.pool())
            .await
            .unwrap();
    }
}

/// The district office, as the service sees it.
fn office(app: &TestApp) -> yidu_kernel::Principal {
    let s = demo(app);
    yidu_kernel::Principal {
        user_id: 1,
        username: "office".into(),
        display_name: "office".into(),
        role: yidu_kernel::Role::Office,
        scope_id: Some(s.district_id),
        scope_path: s.district_path.clone(),
        must_change_password: false,
    }
}

async fn listed(app: &TestApp, f: &QueueFilter, per_page: u32) -> (Vec<i64>, i64, bool) {
    let o = yidu_app::router::opinions(app.db.clone(), &app.config).unwrap();
    let p = office(app);
    let mut ids = Vec::new();
    let mut page = 1;
    loop {
        let q = PageQuery {
            page: Some(page),
            per_page: Some(per_page),
        };
        let got = read::queue(&o, &p, f, &q).await.expect("queue");
        let n = got.items.len();
        ids.extend(got.items.iter().map(|i| i.id));
        if n < per_page as usize {
            return (ids, got.total, got.total_capped);
        }
        page += 1;
    }
}

#[tokio::test]
async fn segments_keep_their_order_across_every_page_edge_and_filter() {
    let app = TestApp::spawn().await;
    let mut ids = Vec::new();
    for t in ["甲", "乙", "丙", "丁", "戊", "己", "庚", "辛"] {
        ids.push(submit(&app, t).await);
    }
    let [a, b, c, d, e, f, g, h] = ids[..] else {
        unreachable!()
    };
    // Open with a deadline: by deadline, the newest first on a tie.
    shape(&app, a, "accepted", Some(1_000), 10).await;
    shape(&app, b, "assigned", Some(2_000), 30).await;
    shape(&app, c, "in_progress", Some(2_000), 40).await;
    // Open without a deadline: the newest first.
    shape(&app, d, "submitted", None, 50).await;
    shape(&app, e, "escalated", None, 60).await;
    // Closed: the newest first, their deadlines play no part.
    shape(&app, f, "replied", Some(500), 70).await;
    shape(&app, g, "closed", None, 80).await;
    shape(&app, h, "rejected", Some(100), 20).await;
    let order = vec![a, c, b, e, d, g, f, h];

    let all = QueueFilter::default();
    for per_page in 1..=9 {
        let (got, total, capped) = listed(&app, &all, per_page).await;
        assert_eq!(got, order, "per_page {per_page}");
        assert_eq!((total, capped), (8, false));
    }

    // The API and the page show the same order and an exact total.
    let office = app.token("office").await;
    let v = app
        .get("/api/v1/opinions?per_page=3&page=2", Some(&office))
        .await
        .json();
    let page2: Vec<i64> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    assert_eq!(page2, vec![e, d, g], "{v}");
    assert_eq!(v["total"], 8);
    assert!(v.get("total_capped").is_none(), "{v}");

    // Filters, alone and combined.
    let unit = demo(&app).unit_id;
    set_int(&app, "unit_id", unit, &[c, e, g]).await;
    let station = demo(&app).station_id;
    let other_station: i64 =
        sqlx::query("SELECT id FROM stations WHERE id <> $1 ORDER BY id LIMIT 1")
            .bind(station)
            .fetch_one(app.db.pool())
            .await
            .unwrap()
            .get(0);
    set_int(&app, "station_id", other_station, &[d, h]).await;
    let category: i64 = sqlx::query("SELECT id FROM categories ORDER BY id LIMIT 1")
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    set_int(&app, "category_id", category, &[a, d, f]).await;
    let cases: Vec<(QueueFilter, Vec<i64>)> = vec![
        (
            QueueFilter {
                overdue: Some(true),
                ..Default::default()
            },
            vec![a, c, b],
        ),
        (
            QueueFilter {
                status: Some("replied".into()),
                ..Default::default()
            },
            vec![f],
        ),
        (
            QueueFilter {
                status: Some("submitted".into()),
                ..Default::default()
            },
            vec![d],
        ),
        (
            QueueFilter {
                unit_id: Some(unit),
                ..Default::default()
            },
            vec![c, e, g],
        ),
        (
            QueueFilter {
                unit_id: Some(unit),
                overdue: Some(true),
                ..Default::default()
            },
            vec![c],
        ),
        (
            QueueFilter {
                unit_id: Some(unit),
                status: Some("closed".into()),
                ..Default::default()
            },
            vec![g],
        ),
        (
            QueueFilter {
                station_id: Some(other_station),
                ..Default::default()
            },
            vec![d, h],
        ),
        (
            QueueFilter {
                category_id: Some(category),
                region_id: Some(demo(&app).district_id),
                ..Default::default()
            },
            vec![a, d, f],
        ),
        (
            QueueFilter {
                category_id: Some(category),
                deputy_id: Some(demo(&app).deputy_id),
                station_id: Some(other_station),
                ..Default::default()
            },
            vec![d],
        ),
        (
            QueueFilter {
                status: Some("closed".into()),
                overdue: Some(true),
                ..Default::default()
            },
            vec![],
        ),
    ];
    for (filter, want) in &cases {
        for per_page in [1, 2, 50] {
            let (got, total, _) = listed(&app, filter, per_page).await;
            assert_eq!(&got, want, "{filter:?} per_page {per_page}");
            assert_eq!(total, want.len() as i64, "{filter:?}");
        }
    }
    // A bad status names the field.
    let r = app
        .get("/api/v1/opinions?status=nonsense", Some(&office))
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(r.text().contains("status"), "{}", r.text());

    // The export lists the same items in the same order.
    let r = app.get("/api/v1/opinions/export.xlsx", Some(&office)).await;
    assert_eq!(r.status, 200);
    let numbers = tracking_numbers(&app, &order).await;
    let rows = sheet_rows(&r.body);
    let exported: Vec<String> = rows[1..].iter().map(|r| r[0].clone()).collect();
    assert_eq!(exported, numbers);
}

async fn tracking_numbers(app: &TestApp, ids: &[i64]) -> Vec<String> {
    let mut out = Vec::new();
    for id in ids {
        out.push(
            sqlx::query("SELECT tracking_no FROM opinions WHERE id = $1")
                .bind(*id)
                .fetch_one(app.db.pool())
                .await
                .unwrap()
                .get(0),
        );
    }
    out
}

fn sheet_rows(bytes: &[u8]) -> Vec<Vec<String>> {
    use calamine::{Reader, Xlsx};
    let mut wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes.to_vec())).expect("xlsx");
    let name = wb.sheet_names()[0].clone();
    let range = wb.worksheet_range(&name).expect("sheet");
    range
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

/// `n` copies of item `id` (new ids and tracking numbers), in one statement.
async fn copies(app: &TestApp, id: i64, n: i64) {
    let sql = match app.db.backend() {
        Backend::Sqlite => "SELECT name FROM pragma_table_info('opinions') ORDER BY cid",
        Backend::Postgres => {
            "SELECT CAST(column_name AS TEXT) FROM information_schema.columns WHERE table_name = 'opinions' AND table_schema = current_schema() ORDER BY ordinal_position"
        }
    };
    let cols: Vec<String> = sqlx::query(sql)
        .fetch_all(app.db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>(0))
        .filter(|c| c != "id")
        .collect();
    let select: Vec<String> = cols
        .iter()
        .map(|c| match c.as_str() {
            "tracking_no" => "o.tracking_no || '-' || CAST(s.n AS TEXT)".to_string(),
            "created_at" => "o.created_at + s.n".to_string(),
            other => format!("o.{other}"),
        })
        .collect();
    sqlx::query(&format!(
        "INSERT INTO opinions ({}) WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {n})
         SELECT {} FROM opinions o, s WHERE o.id = $1",
        cols.join(", "),
        select.join(", ")
    ))
    .bind(id)
    .execute(app.db.pool())
    .await
    .unwrap();
}

#[tokio::test]
async fn closed_items_past_the_cap_give_a_lower_bound_and_open_ones_stay_exact() {
    let app = TestApp::spawn().await;
    let open = submit(&app, "未办结").await;
    let due = submit(&app, "有期限").await;
    let closed = submit(&app, "已办结").await;
    shape(&app, open, "submitted", None, 1_000).await;
    shape(&app, due, "accepted", Some(5_000), 2_000).await;
    shape(&app, closed, "closed", None, 3_000).await;
    copies(&app, closed, COUNT_CAP + 4).await;
    copies(&app, open, 3).await;

    // 5 open + 10,005 closed: counted up to the cap, in the queue's order.
    let o = yidu_app::router::opinions(app.db.clone(), &app.config).unwrap();
    let p = office(&app);
    let got = read::queue(&o, &p, &QueueFilter::default(), &PageQuery::default())
        .await
        .unwrap();
    assert!(got.total_capped);
    assert_eq!(got.total, COUNT_CAP);
    assert_eq!(got.items[0].id, due, "the item with a deadline comes first");
    assert!(got.items[1..5].iter().all(|i| i.status.is_open()));
    assert!(got.items[5..].iter().all(|i| !i.status.is_open()));
    // Closed items newest first: the copies have later creation times than the original.
    let created: Vec<i64> = got.items[5..].iter().map(|i| i.created_at).collect();
    assert!(created.windows(2).all(|w| w[0] >= w[1]), "{created:?}");

    // Open items alone (and any list under the cap) are counted exactly.
    let f = QueueFilter {
        status: Some("submitted".into()),
        ..Default::default()
    };
    let got = read::queue(&o, &p, &f, &PageQuery::default())
        .await
        .unwrap();
    assert_eq!((got.total, got.total_capped), (4, false));

    // Deep pages inside the closed segment continue the order to its oldest item:
    // 5 open + 10,005 closed = 10,010 items, so page 101 of 100 holds the last 10.
    let page = |n: u32| PageQuery {
        page: Some(n),
        per_page: Some(100),
    };
    let all = QueueFilter::default();
    let p100 = read::queue(&o, &p, &all, &page(100)).await.unwrap();
    let p101 = read::queue(&o, &p, &all, &page(101)).await.unwrap();
    let p102 = read::queue(&o, &p, &all, &page(102)).await.unwrap();
    assert_eq!(
        (p100.items.len(), p101.items.len(), p102.items.len()),
        (100, 10, 0)
    );
    let created: Vec<i64> = p100
        .items
        .iter()
        .chain(&p101.items)
        .map(|i| i.created_at)
        .collect();
    assert!(created.windows(2).all(|w| w[0] > w[1]), "{created:?}");
    assert_eq!(p101.items.last().unwrap().id, closed);

    // The API marks the total, the page shows "10000+".
    let office = app.token("office").await;
    let v = app.get("/api/v1/opinions", Some(&office)).await.json();
    assert_eq!(v["total"], COUNT_CAP);
    assert_eq!(v["total_capped"], true);
    let b = app.browser();
    b.login("office").await;
    let html = b.get("/staff/opinions").await.text();
    assert!(
        html.contains(&format!("{COUNT_CAP}+")),
        "total shown as a lower bound"
    );

    // The export has every item of the filtered list, in order, past the cap.
    let r = app
        .get("/api/v1/opinions/export.xlsx?status=closed", Some(&office))
        .await;
    assert_eq!(r.status, 200);
    let rows = sheet_rows(&r.body);
    assert_eq!(rows.len() as i64, 1 + COUNT_CAP + 5);
    assert!(
        rows[1][0].ends_with(&format!("-{}", COUNT_CAP + 4)),
        "newest first: {:?}",
        rows[1]
    );
}

/// The digest on every queue page counts each kind of due item up to
/// `PAGE_DIGEST_CAP` ("10000+" past it) and lists the same items as the exact digest;
/// the digest of the API and the daily notice stay exact.
#[tokio::test]
async fn the_page_digest_counts_up_to_its_cap_and_the_daily_digest_stays_exact() {
    use yidu_opinions::service::handling::{self, PAGE_DIGEST_CAP};
    let app = TestApp::spawn().await;
    let now = yidu_kernel::clock::now_ms();
    let red = submit(&app, "逾期").await;
    let soon = submit(&app, "临期").await;
    shape(&app, red, "accepted", Some(5_000), 1_000).await;
    // Due in ten minutes: yellow (and due today unless midnight falls in between).
    shape(&app, soon, "accepted", Some(now + 600_000), 2_000).await;
    copies(&app, red, PAGE_DIGEST_CAP + 4).await;
    // 60 due soon: more than the 50 listed, so counted, and under the cap, so exactly.
    copies(&app, soon, 59).await;
    let o = yidu_app::router::opinions(app.db.clone(), &app.config).unwrap();
    let p = office(&app);

    let exact = handling::digest(&o, &p).await.unwrap();
    assert_eq!(exact.red, PAGE_DIGEST_CAP + 5);
    assert!(!exact.red_capped && !exact.yellow_capped && !exact.due_today_capped);
    let page = handling::page_digest(&o, &p).await.unwrap();
    assert_eq!((page.red, page.red_capped), (PAGE_DIGEST_CAP, true));
    assert_eq!(page.red_shown(), format!("{PAGE_DIGEST_CAP}+"));
    assert_eq!(
        (page.yellow, page.yellow_capped),
        (exact.yellow, false),
        "under the cap the count is exact"
    );
    assert_eq!(
        (page.due_today, page.due_today_capped),
        (exact.due_today, false)
    );
    if exact.yellow > 0 {
        // The calendar knows the next working day (else nothing is yellow).
        assert_eq!(exact.yellow, 60);
    }
    let ids = |d: &handling::Digest| -> Vec<Vec<i64>> {
        [&d.red_items, &d.yellow_items, &d.due_today_items]
            .iter()
            .map(|l| l.iter().map(|i| i.id).collect())
            .collect()
    };
    assert_eq!(ids(&page), ids(&exact), "the same items listed");
    assert_eq!(page.red_items.len(), 50);

    // A scope with few due items: the lists are the counts, exact.
    let town = yidu_kernel::Principal {
        role: yidu_kernel::Role::Township,
        scope_path: "/nowhere/".into(),
        ..p.clone()
    };
    let none = handling::page_digest(&o, &town).await.unwrap();
    assert!(none.is_empty() && !none.red_capped, "{none:?}");

    // The page shows the lower bound; the API's digest and the daily notice are exact.
    let b = app.browser();
    b.login("office").await;
    let html = b.get("/staff/opinions").await.text();
    let shown = [
        format!("逾期 {PAGE_DIGEST_CAP}+"),
        format!("Overdue {PAGE_DIGEST_CAP}+"),
    ];
    assert!(shown.iter().any(|s| html.contains(s)), "capped red count");
    let token = app.token("office").await;
    let v = app
        .get("/api/v1/opinions/digest", Some(&token))
        .await
        .json();
    assert_eq!(v["red"], PAGE_DIGEST_CAP + 5);
    assert!(v.get("red_capped").is_none(), "not part of the API");
    let today = yidu_kernel::clock::to_china(now).date();
    let system = yidu_kernel::Principal::system();
    yidu_opinions::service::digest_send::send_daily(&o, &system, today, now)
        .await
        .unwrap();
    let texts: Vec<String> = sqlx::query("SELECT text FROM inbox WHERE kind = 'digest'")
        .fetch_all(app.db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let office_count = format!("逾期 {} 件", PAGE_DIGEST_CAP + 5);
    assert!(texts.iter().any(|t| t.contains(&office_count)), "{texts:?}");
}
