//! Where items land and who hears of them: Open311 requests without a grid are routed to
//! the channel's region with no grid (queues and cockpit cope); the congress office and
//! township staff find new items and escalations within their scope in their inbox, and
//! nobody finds them outside it.

use crate::helpers::TestApp;
use serde_json::{json, Value};
use yidu_db::Row;
use yidu_kernel::{PageQuery, Principal, Role};
use yidu_opinions::model::{Channel, Submission};
use yidu_opinions::open311::channels;
use yidu_opinions::service::handling;

fn demo(app: &TestApp) -> &yidu_registry::demo::DemoSummary {
    &app.demo.as_ref().unwrap().summary
}

async fn inbox_kinds(app: &TestApp, user: &str, opinion_id: i64) -> Vec<String> {
    let token = app.token(user).await;
    let r = app.get("/api/v1/inbox?per_page=200", Some(&token)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["opinion_id"] == opinion_id)
        .map(|n| n["kind"].as_str().unwrap().to_string())
        .collect()
}

/// A township staff principal for another township than `town1`'s.
async fn other_township(app: &TestApp) -> Principal {
    let r = sqlx::query(
        "SELECT id, path FROM regions WHERE level = 'township' AND id <> $1 ORDER BY id LIMIT 1",
    )
    .bind(demo(app).township_id)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    Principal {
        user_id: 0,
        username: "town2".into(),
        display_name: "town2".into(),
        role: Role::Township,
        scope_id: Some(r.get(0)),
        scope_path: r.get(1),
        must_change_password: false,
    }
}

#[tokio::test]
async fn office_and_township_hear_of_new_and_escalated_items_in_their_scope_only() {
    let app = TestApp::spawn().await;
    let o = yidu_app::router::opinions(app.db.clone(), &app.config).unwrap();
    let s = Submission {
        title: "菜市场噪声扰民".into(),
        body: "凌晨四点开始卸货".into(),
        ..Default::default()
    };
    let r = yidu_opinions::service::submit::submit(
        &o,
        Channel::Deputy(demo(&app).deputy_code.clone()),
        &s,
        &[],
        "198.51.100.21",
        None,
    )
    .await
    .unwrap();
    let id: i64 = sqlx::query("SELECT id FROM opinions WHERE tracking_no = $1")
        .bind(&r.tracking_no)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);

    // A new item through a deputy's code: the deputy, the station, the township and the
    // office hear of it; the unit and the committee do not.
    for u in ["deputy1", "station1", "town1", "office", "admin"] {
        assert_eq!(inbox_kinds(&app, u, id).await, ["submitted"], "{u}");
    }
    for u in ["dept1", "committee1"] {
        assert!(inbox_kinds(&app, u, id).await.is_empty(), "{u}");
    }
    let town2 = other_township(&app).await;
    let q = PageQuery {
        page: Some(1),
        per_page: Some(200),
    };
    let (page, _) = handling::inbox(&o, &town2, &q).await.unwrap();
    assert!(
        page.items.iter().all(|n| n.opinion_id != Some(id)),
        "another township sees nothing of it"
    );

    // Escalated by the township: the office over it hears of it, and the township too.
    let town = app.token("town1").await;
    for action in ["accept", "escalate"] {
        let r = app
            .post_json(
                &format!("/api/v1/opinions/{id}/moves"),
                Some(&town),
                &json!({"action": action}),
            )
            .await;
        assert_eq!(r.status, 200, "{action}: {}", r.text());
    }
    for u in ["office", "town1"] {
        let kinds = inbox_kinds(&app, u, id).await;
        assert!(kinds.contains(&"escalated".to_string()), "{u}: {kinds:?}");
    }
    let (page, _) = handling::inbox(&o, &town2, &q).await.unwrap();
    assert!(page.items.iter().all(|n| n.opinion_id != Some(id)));
    // Out of scope, a notice cannot be marked read either.
    let notice: i64 = sqlx::query("SELECT MAX(id) FROM inbox WHERE opinion_id = $1")
        .bind(id)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    assert!(matches!(
        handling::mark_read(&o, &town2, notice).await,
        Err(yidu_kernel::AppError::NotFound)
    ));
}

#[tokio::test]
async fn open311_requests_without_a_grid_land_at_the_channel_region_with_no_grid() {
    let app = TestApp::spawn().await;
    let o = yidu_app::router::opinions(app.db.clone(), &app.config).unwrap();
    let (_, key) = channels::create_channel(&o, &Principal::system(), "test", "12345热线", &[])
        .await
        .unwrap();
    let leaf: i64 =
        sqlx::query("SELECT MIN(id) FROM categories WHERE parent_id IS NOT NULL AND retired = 0")
            .fetch_one(app.db.pool())
            .await
            .unwrap()
            .get(0);
    let leaf_s = leaf.to_string();
    let post = |fields: Vec<(&'static str, String)>| {
        let body = serde_urlencoded::to_string(&fields).unwrap();
        let app = &app;
        async move {
            app.request(
                axum::http::Request::post("/open311/v2/requests.json")
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(axum::body::Body::from(body))
                    .unwrap(),
            )
            .await
        }
    };
    let base = |desc: &str| {
        vec![
            ("api_key", key.clone()),
            ("service_code", leaf_s.clone()),
            ("lat", "30.27".to_string()),
            ("long", "120.15".to_string()),
            ("description", desc.to_string()),
        ]
    };
    let r = post(base("井盖缺失，夜里很危险")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let no = r.json()[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_string();
    let row = sqlx::query(
        "SELECT id, grid_id, region_id, region_path FROM opinions WHERE tracking_no = $1",
    )
    .bind(&no)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    let id: i64 = row.get(0);
    assert_eq!(row.get::<Option<i64>, _>(1), None, "no grid");
    assert_eq!(row.get::<i64, _>(2), demo(&app).district_id);
    assert_eq!(row.get::<String, _>(3), demo(&app).district_path);

    // With a grid, the grid is kept.
    let grid: i64 = sqlx::query("SELECT MIN(id) FROM regions WHERE level = 'grid'")
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    let mut with_grid = base("路灯不亮");
    with_grid.push(("grid_id", grid.to_string()));
    let r = post(with_grid).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let no2 = r.json()[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_string();
    let g: Option<i64> = sqlx::query("SELECT grid_id FROM opinions WHERE tracking_no = $1")
        .bind(&no2)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    assert_eq!(g, Some(grid));

    // The office's queue, the item, the inbox and the cockpit all take the grid-less item.
    let office = app.token("office").await;
    let q = app
        .get("/api/v1/opinions?per_page=100", Some(&office))
        .await;
    assert_eq!(q.status, 200, "{}", q.text());
    let items = q.json()["items"].as_array().unwrap().clone();
    let listed: Vec<&Value> = items.iter().filter(|i| i["id"] == id).collect();
    assert_eq!(listed.len(), 1);
    assert!(listed[0]["grid_id"].is_null());
    assert_eq!(inbox_kinds(&app, "office", id).await, ["submitted"]);
    let c = app.get("/api/v1/cockpit", Some(&office)).await;
    assert_eq!(c.status, 200, "{}", c.text());
    let b = app.browser();
    b.login("office").await;
    assert_eq!(b.get("/staff/cockpit").await.status, 200);
    assert_eq!(b.get(&format!("/staff/opinions/{id}")).await.status, 200);
    // The township below sees neither the district-level item nor its notice.
    assert!(inbox_kinds(&app, "town1", id).await.is_empty());
    let r = app
        .get(
            &format!("/api/v1/opinions/{id}"),
            Some(&app.token("town1").await),
        )
        .await;
    assert_eq!(r.status, 404);
}
