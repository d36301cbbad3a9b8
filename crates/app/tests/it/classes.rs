//! Class cases (类案): batch grouping of a handful of short messages, incremental arrival
//! through the worker, staff decisions (confirm, rename, merge, split, remove) that a
//! rebuild does not undo, permission refusals, and one class reply by the lead unit that
//! reaches every member's citizen, who rates it on their own tracking page.

use crate::helpers::TestApp;
use serde_json::{json, Value};
use yidu_db::Row;

/// Several citizens about one broken street light on one road.
pub(crate) const LIGHT: &[(&str, &str)] = &[
    (
        "幸福路路灯坏了",
        "幸福路东段的路灯已经坏了一个星期，晚上走路很不安全。",
    ),
    (
        "幸福路路灯不亮",
        "幸福路上好几盏路灯晚上都不亮，请尽快修理路灯。",
    ),
    (
        "幸福路东段路灯损坏",
        "幸福路东段路灯损坏，夜里一片漆黑，老人出行不便。",
    ),
    (
        "幸福路路灯一直不亮",
        "反映幸福路路灯一直不亮的问题，希望有关部门维修路灯。",
    ),
];

/// Several about one noisy construction site at night.
pub(crate) const NOISE: &[(&str, &str)] = &[
    (
        "工地夜间施工噪音扰民",
        "小区旁边的建筑工地每天晚上十二点还在施工，噪音很大，影响休息。",
    ),
    (
        "建筑工地噪音太大",
        "附近建筑工地夜里施工，机器轰鸣，噪音扰民，孩子无法睡觉。",
    ),
    (
        "夜间施工噪音扰民",
        "工地深夜施工噪音扰民，希望管一管工地夜间施工。",
    ),
];

/// Something else entirely.
pub(crate) const OTHER: (&str, &str) = (
    "希望增加社区助餐点",
    "社区老年人多，希望增加老年助餐点和日间照料服务。",
);

pub(crate) struct Sent {
    pub id: i64,
    pub tracking_no: String,
    pub code: String,
}

pub(crate) fn demo(app: &TestApp) -> &yidu_registry::demo::DemoSummary {
    &app.demo.as_ref().unwrap().summary
}

pub(crate) async fn send(app: &TestApp, n: usize, (title, body): (&str, &str)) -> Sent {
    let r = app
        .post_json(
            "/api/v1/opinions",
            None,
            &json!({
                "title": title, "body": body, "name": "李四",
                "phone": format!("139{:08}", 10_000 + n), "consent": true,
                "deputy_code": demo(app).deputy_code,
            }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    let tracking_no = v["tracking_no"].as_str().unwrap().to_string();
    let id: i64 = sqlx::query("SELECT id FROM opinions WHERE tracking_no = $1")
        .bind(&tracking_no)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    Sent {
        id,
        tracking_no,
        code: v["query_code"].as_str().unwrap().to_string(),
    }
}

pub(crate) struct World {
    pub light: Vec<Sent>,
    pub noise: Vec<Sent>,
    pub other: Sent,
}

pub(crate) async fn world(app: &TestApp) -> World {
    let mut n = 0;
    let mut light = Vec::new();
    for m in LIGHT {
        n += 1;
        light.push(send(app, n, *m).await);
    }
    let mut noise = Vec::new();
    for m in NOISE {
        n += 1;
        noise.push(send(app, n, *m).await);
    }
    let other = send(app, n + 1, OTHER).await;
    World {
        light,
        noise,
        other,
    }
}

pub(crate) async fn rebuild(app: &TestApp, token: &str) -> Value {
    let r = app
        .post_json("/api/v1/classes/rebuild", Some(token), &json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

/// Member item ids of a class, sorted.
pub(crate) async fn members(app: &TestApp, token: &str, class: i64) -> Vec<i64> {
    let r = app
        .get(&format!("/api/v1/classes/{class}"), Some(token))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let mut ids: Vec<i64> = r.json()["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["item_id"].as_i64().unwrap())
        .collect();
    ids.sort_unstable();
    ids
}

/// The live class that holds `item` (None when it is in none).
pub(crate) async fn class_of(app: &TestApp, token: &str, item: i64) -> Option<i64> {
    let r = app.get("/api/v1/classes?per_page=100", Some(token)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    for c in r.json()["items"].as_array().unwrap() {
        let id = c["id"].as_i64().unwrap();
        if members(app, token, id).await.contains(&item) {
            return Some(id);
        }
    }
    None
}

/// The demo world grouped into classes, with the street-light class confirmed by the office.
pub(crate) async fn confirmed_light(app: &TestApp, office: &str) -> (World, i64) {
    let w = world(app).await;
    rebuild(app, office).await;
    let light = class_of(app, office, w.light[0].id).await.unwrap();
    let (s, v) = post(
        app,
        office,
        &format!("/api/v1/classes/{light}/confirm"),
        json!({}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    (w, light)
}

pub(crate) fn ids(s: &[Sent]) -> Vec<i64> {
    let mut v: Vec<i64> = s.iter().map(|x| x.id).collect();
    v.sort_unstable();
    v
}

pub(crate) async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    let r = app.post_json(path, Some(token), &body).await;
    let v = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    (r.status, v)
}

pub(crate) async fn audit_actions(app: &TestApp) -> Vec<String> {
    sqlx::query("SELECT action FROM audit_log WHERE object_type = 'class' ORDER BY id")
        .fetch_all(app.db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

pub(crate) fn classes(app: &TestApp) -> yidu_classes::Classes {
    yidu_app::router::classes(app.db.clone(), &app.config).expect("classes")
}

#[tokio::test]
async fn batch_grouping_and_incremental_arrival() {
    let app = TestApp::spawn().await;
    let office = app.token("office").await;
    let w = world(&app).await;

    let reports = rebuild(&app, &office).await;
    assert_eq!(reports[0]["proposed"], 2, "{reports}");
    let light = class_of(&app, &office, w.light[0].id)
        .await
        .expect("light class");
    let noise = class_of(&app, &office, w.noise[0].id)
        .await
        .expect("noise class");
    assert_ne!(light, noise);
    assert_eq!(members(&app, &office, light).await, ids(&w.light));
    assert_eq!(members(&app, &office, noise).await, ids(&w.noise));
    assert_eq!(class_of(&app, &office, w.other.id).await, None);

    // The list says what each class is about, where, when, and how it grows.
    let list = app.get("/api/v1/classes", Some(&office)).await.json();
    let c = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == light)
        .unwrap()
        .clone();
    assert_eq!(c["status"], "proposed");
    assert_eq!(c["size"], 4);
    assert_eq!(c["recent"], 4, "all arrived this week: {c}");
    assert_eq!(c["growth"], 4);
    assert_eq!(c["same_asks"], 0);
    assert!(c["label"].as_str().unwrap().contains("路灯"), "{c}");
    assert!(!c["places"].as_array().unwrap().is_empty(), "{c}");
    assert!(!c["representatives"].as_array().unwrap().is_empty(), "{c}");
    assert!(c["first_at"].as_i64().unwrap() <= c["last_at"].as_i64().unwrap());

    // A rebuild with nothing new changes nothing (and keeps the class ids).
    rebuild(&app, &office).await;
    assert_eq!(class_of(&app, &office, w.light[0].id).await, Some(light));
    assert_eq!(class_of(&app, &office, w.noise[0].id).await, Some(noise));

    // New items arrive; the worker places them without intake doing anything.
    let mut worker = yidu_classes::worker::Worker::new(classes(&app));
    let more_noise = send(
        &app,
        20,
        (
            "工地晚上施工太吵",
            "建筑工地晚上施工噪音扰民，吵得无法入睡。",
        ),
    )
    .await;
    let round = worker.run_once().await.expect("worker round");
    assert!(round.leader);
    assert_eq!(class_of(&app, &office, more_noise.id).await, Some(noise));
    // The model is now in memory: this one is placed incrementally.
    let more_light = send(
        &app,
        21,
        (
            "幸福路路灯还是不亮",
            "幸福路的路灯到现在还是不亮，晚上很黑。",
        ),
    )
    .await;
    worker.run_once().await.expect("worker round");
    assert_eq!(class_of(&app, &office, more_light.id).await, Some(light));
    assert_eq!(members(&app, &office, light).await.len(), 5);

    // A second instance does not work while the first holds the lease.
    let mut other = yidu_classes::worker::Worker::new(classes(&app));
    assert!(!other.run_once().await.unwrap().leader);
    worker.release().await;
    assert!(other.run_once().await.unwrap().leader);

    // The hot topics rank by size and growth.
    let hot = app.get("/api/v1/classes/hot", Some(&office)).await;
    assert_eq!(hot.status, 200, "{}", hot.text());
    let hot = hot.json();
    assert_eq!(hot[0]["id"], light, "{hot}");
    assert_eq!(hot[0]["score"], 5 + 2 * 5, "{hot}");
}

#[tokio::test]
async fn staff_decisions_survive_rebuilds() {
    let app = TestApp::spawn().await;
    let office = app.token("office").await;
    let w = world(&app).await;
    rebuild(&app, &office).await;
    let light = class_of(&app, &office, w.light[0].id).await.unwrap();
    let noise = class_of(&app, &office, w.noise[0].id).await.unwrap();

    let (s, v) = post(
        &app,
        &office,
        &format!("/api/v1/classes/{light}/confirm"),
        json!({}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = post(
        &app,
        &office,
        &format!("/api/v1/classes/{light}/confirm"),
        json!({}),
    )
    .await;
    assert_eq!(s, 409, "confirming twice: {v}");
    let (s, v) = post(
        &app,
        &office,
        &format!("/api/v1/classes/{light}/rename"),
        json!({"label": "幸福路路灯不亮"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");

    // Split two of the four street-light items into a class of their own.
    let part = vec![w.light[2].id, w.light[0].id];
    let (s, v) = post(
        &app,
        &office,
        &format!("/api/v1/classes/{light}/split"),
        json!({"item_ids": part, "label": "幸福路东段路灯"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let east = v["id"].as_i64().unwrap();
    let mut east_ids = part.clone();
    east_ids.sort_unstable();
    assert_eq!(members(&app, &office, east).await, east_ids);
    assert_eq!(members(&app, &office, light).await.len(), 2);

    // Merge the noise class into the street-light class (staff may group as they see fit).
    let (s, v) = post(
        &app,
        &office,
        &format!("/api/v1/classes/{noise}/merge"),
        json!({"into_id": light}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["id"], light);
    assert_eq!(members(&app, &office, light).await.len(), 5);
    let gone = app
        .get(&format!("/api/v1/classes/{noise}"), Some(&office))
        .await
        .json();
    assert_eq!(gone["class"]["status"], "dissolved");
    assert_eq!(gone["class"]["merged_into"], light);

    // Take one out of a class.
    let r = app
        .send_json(
            axum::http::Method::DELETE,
            &format!("/api/v1/classes/{light}/members/{}", w.noise[2].id),
            Some(&office),
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());

    // The machine regroups; every decision stands.
    let before_light = members(&app, &office, light).await;
    let before_east = members(&app, &office, east).await;
    rebuild(&app, &office).await;
    assert_eq!(members(&app, &office, light).await, before_light);
    assert_eq!(members(&app, &office, east).await, before_east);
    assert_eq!(
        class_of(&app, &office, w.noise[2].id).await,
        None,
        "removed stays out"
    );
    let detail = app
        .get(&format!("/api/v1/classes/{light}"), Some(&office))
        .await
        .json();
    assert_eq!(detail["class"]["label"], "幸福路路灯不亮");
    assert_eq!(detail["class"]["status"], "confirmed");
    // No new proposed class for items staff already placed.
    let proposed = app
        .get("/api/v1/classes?status=proposed", Some(&office))
        .await
        .json();
    assert_eq!(proposed["total"], 0, "{proposed}");

    let actions = audit_actions(&app).await;
    for a in [
        "class.confirm",
        "class.rename",
        "class.split",
        "class.merge",
        "class.remove_member",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
    assert!(
        sqlx::query("SELECT COUNT(*) FROM audit_log WHERE action = 'class.rebuild'")
            .fetch_one(app.db.pool())
            .await
            .unwrap()
            .get::<i64, _>(0)
            >= 2
    );

    // Merging a dissolved class, splitting off everything, bad names: clear refusals.
    let (s, v) = post(
        &app,
        &office,
        &format!("/api/v1/classes/{noise}/merge"),
        json!({"into_id": light}),
    )
    .await;
    assert_eq!(s, 409, "{v}");
    let all = members(&app, &office, east).await;
    let (s, v) = post(
        &app,
        &office,
        &format!("/api/v1/classes/{east}/split"),
        json!({"item_ids": all}),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    assert!(v.to_string().contains("item_ids"), "{v}");
    let (s, v) = post(
        &app,
        &office,
        &format!("/api/v1/classes/{east}/rename"),
        json!({"label": "  "}),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    assert!(v.to_string().contains("label"), "{v}");
}

#[tokio::test]
async fn permissions() {
    let app = TestApp::spawn().await;
    let office = app.token("office").await;
    let w = world(&app).await;
    rebuild(&app, &office).await;
    let light = class_of(&app, &office, w.light[0].id).await.unwrap();

    // The township reads the classes with items in it, but does not decide.
    let town = app.token("town1").await;
    let r = app.get("/api/v1/classes", Some(&town)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.json()["total"].as_i64().unwrap() >= 1);
    assert_eq!(
        app.get(&format!("/api/v1/classes/{light}"), Some(&town))
            .await
            .status,
        200
    );
    let (s, _) = post(
        &app,
        &town,
        &format!("/api/v1/classes/{light}/confirm"),
        json!({}),
    )
    .await;
    assert_eq!(s, 403);
    let (s, _) = post(&app, &town, "/api/v1/classes/rebuild", json!({})).await;
    assert_eq!(s, 403);

    // Stations, deputies and committees read no classes.
    for user in ["station1", "deputy1", "committee1"] {
        let t = app.token(user).await;
        assert_eq!(
            app.get("/api/v1/classes", Some(&t)).await.status,
            403,
            "{user}"
        );
        assert_eq!(
            app.get(&format!("/api/v1/classes/{light}"), Some(&t))
                .await
                .status,
            404,
            "{user}"
        );
    }
    // A unit sees only the classes it leads: before supervision, nothing.
    let dept = app.token("dept1").await;
    assert_eq!(
        app.get("/api/v1/classes", Some(&dept)).await.json()["total"],
        0
    );
    assert_eq!(
        app.get(&format!("/api/v1/classes/{light}"), Some(&dept))
            .await
            .status,
        404
    );
    let (s, _) = post(
        &app,
        &dept,
        &format!("/api/v1/classes/{light}/reply"),
        json!({"text": "已修复"}),
    )
    .await;
    assert_eq!(s, 404);
    let (s, _) = post(
        &app,
        &dept,
        &format!("/api/v1/classes/{light}/confirm"),
        json!({}),
    )
    .await;
    assert_eq!(s, 404);

    // A proposed class is not supervised; fields are named.
    let (s, v) = post(
        &app,
        &office,
        &format!("/api/v1/classes/{light}/supervise"),
        json!({"lead_unit_id": demo(&app).unit_id, "days": 10}),
    )
    .await;
    assert_eq!(s, 409, "{v}");
    post(
        &app,
        &office,
        &format!("/api/v1/classes/{light}/confirm"),
        json!({}),
    )
    .await;
    let (s, v) = post(
        &app,
        &office,
        &format!("/api/v1/classes/{light}/supervise"),
        json!({"days": 10}),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    assert!(v.to_string().contains("lead_unit_id"), "{v}");
    let (s, v) = post(
        &app,
        &office,
        &format!("/api/v1/classes/{light}/supervise"),
        json!({"lead_unit_id": demo(&app).unit_id, "days": 0}),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    assert!(v.to_string().contains("days"), "{v}");
    // The office supervises but does not reply in the unit's name.
    let (s, v) = post(
        &app,
        &office,
        &format!("/api/v1/classes/{light}/reply"),
        json!({"text": "x"}),
    )
    .await;
    assert_eq!(s, 403, "{v}");

    // Pages: the station is refused the list; unknown classes are 404.
    let b = app.browser();
    b.login("station1").await;
    assert_eq!(b.get("/staff/classes").await.status, 403);
    assert_eq!(
        app.get("/api/v1/classes/999999", Some(&office))
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn one_class_reply_reaches_every_member() {
    let app = TestApp::spawn().await;
    let office = app.token("office").await;
    let deputy = app.token("deputy1").await;
    let dept = app.token("dept1").await;
    let (w, light) = confirmed_light(&app, &office).await;

    // One member was answered on the spot before the class was supervised.
    let done_early = &w.light[3];
    for body in [
        json!({"action": "accept"}),
        json!({"action": "answer_on_spot", "note": "已联系供电所"}),
    ] {
        let (s, v) = post(
            &app,
            &deputy,
            &format!("/api/v1/opinions/{}/moves", done_early.id),
            body,
        )
        .await;
        assert_eq!(s, 200, "{v}");
    }

    let unit = demo(&app).unit_id;
    let (s, v) = post(
        &app,
        &office,
        &format!("/api/v1/classes/{light}/supervise"),
        json!({"lead_unit_id": unit, "days": 10}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["done"].as_array().unwrap().len(), 3, "{v}");
    assert_eq!(v["skipped"][0]["item_id"], done_early.id, "{v}");
    for m in &w.light[..3] {
        let o = app
            .get(&format!("/api/v1/opinions/{}", m.id), Some(&office))
            .await
            .json();
        assert_eq!(o["status"], "assigned", "{o}");
        assert_eq!(o["unit_id"], unit);
    }
    // The lead unit now reads its class, members unmasked for it as their handler.
    let detail = app
        .get(&format!("/api/v1/classes/{light}"), Some(&dept))
        .await;
    assert_eq!(detail.status, 200, "{}", detail.text());
    let detail = detail.json();
    assert!(detail["class"]["deadline_at"].as_i64().is_some());
    let shown = detail["members"].as_array().unwrap();
    assert_eq!(
        shown.len(),
        3,
        "the unit sees the items assigned to it: {detail}"
    );
    assert_eq!(detail["hidden_members"], 1);
    assert!(shown
        .iter()
        .all(|m| m["opinion"]["personal_data_visible"] == true));
    // The office sees them masked.
    let for_office = app
        .get(&format!("/api/v1/classes/{light}"), Some(&office))
        .await
        .json();
    assert!(for_office["members"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["opinion"]["personal_data_visible"] == false
            && m["opinion"]["citizen_phone"]
                .as_str()
                .unwrap()
                .contains('*')));

    // One reply from the lead unit.
    let text = "经查，幸福路东段路灯线路老化，已于本周更换线路并恢复照明。";
    let (s, v) = post(
        &app,
        &dept,
        &format!("/api/v1/classes/{light}/reply"),
        json!({"text": text}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["done"].as_array().unwrap().len(), 3, "{v}");
    assert_eq!(v["skipped"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["skipped"][0]["tracking_no"], done_early.tracking_no);

    // Each citizen sees the reply on their own tracking page and rates it on their own.
    for (m, rating) in w.light[..3]
        .iter()
        .zip(["satisfied", "basic", "unsatisfied"])
    {
        let t = app
            .get(
                &format!("/api/v1/track/{}?code={}", m.tracking_no, m.code),
                None,
            )
            .await;
        assert_eq!(t.status, 200, "{}", t.text());
        let t = t.json();
        assert_eq!(t["status"], "replied");
        assert_eq!(t["reply_text"], text);
        assert_eq!(t["can_rate"], true);
        let r = app
            .post_json(
                &format!("/api/v1/track/{}/rating", m.tracking_no),
                None,
                &json!({"code": m.code, "satisfaction": rating}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let expected = if rating == "unsatisfied" {
            "in_progress"
        } else {
            "closed"
        };
        assert_eq!(r.json()["status"], expected);
    }
    // The early one kept its own reply.
    let t = app
        .get(
            &format!(
                "/api/v1/track/{}?code={}",
                done_early.tracking_no, done_early.code
            ),
            None,
        )
        .await
        .json();
    assert_eq!(t["reply_text"], "已联系供电所");

    // Audit: the class's supervision and reply, and each member's own moves.
    let actions = audit_actions(&app).await;
    assert!(
        actions.iter().any(|a| a == "class.supervise"),
        "{actions:?}"
    );
    assert!(actions.iter().any(|a| a == "class.reply"), "{actions:?}");
    let replies: i64 = sqlx::query("SELECT COUNT(*) FROM audit_log WHERE action = 'opinion.reply'")
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    assert_eq!(replies, 3);
}

#[tokio::test]
async fn pages_and_the_cockpit_panel() {
    let app = TestApp::spawn().await;
    let office = app.token("office").await;
    let w = world(&app).await;
    rebuild(&app, &office).await;
    let light = class_of(&app, &office, w.light[0].id).await.unwrap();
    let noise = class_of(&app, &office, w.noise[0].id).await.unwrap();

    let b = app.browser();
    b.login("office").await;
    let list = b.get("/staff/classes").await;
    assert_eq!(list.status, 200);
    let html = list.text();
    assert!(html.contains(&format!("/staff/classes/{light}")), "{html}");
    assert!(html.contains("类案"));

    let page = format!("/staff/classes/{light}");
    let r = b
        .post_form(&page, &format!("/staff/classes/{light}/confirm"), &[])
        .await;
    assert_eq!(r.status, 303, "{}", r.text());
    let r = b
        .post_form(
            &page,
            &format!("/staff/classes/{light}/rename"),
            &[("label", "幸福路路灯")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text());
    let detail = b.get(&page).await.text();
    assert!(detail.contains("幸福路路灯"), "{detail}");
    assert!(detail.contains("已确认"));
    // Split with ticked boxes, merge with a select: plain forms.
    let first = w.light[0].id.to_string();
    let r = b
        .post_form(
            &page,
            &format!("/staff/classes/{light}/split"),
            &[("item_ids", first.as_str()), ("label", "拆出的一件")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text());
    let into = light.to_string();
    let r = b
        .post_form(
            &format!("/staff/classes/{noise}"),
            &format!("/staff/classes/{noise}/merge"),
            &[("into_id", into.as_str())],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(r.location().contains(&format!("/staff/classes/{light}")));
    // Supervise through the form: the page shows what happened to each member.
    let unit = demo(&app).unit_id.to_string();
    let r = b
        .post_form(
            &page,
            &format!("/staff/classes/{light}/supervise"),
            &[("lead_unit_id", unit.as_str()), ("days", "10")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("id=\"fanout\""));
    assert!(
        r.text().contains("id=\"follow-note\""),
        "joining items are announced"
    );

    // The cockpit shows the hot topics.
    let cockpit = b.get("/staff/cockpit").await;
    assert_eq!(cockpit.status, 200);
    let html = cockpit.text();
    assert!(html.contains("hot-topics"), "{html}");
    assert!(html.contains("幸福路路灯"), "{html}");

    // The unit replies through its page.
    let d = app.browser();
    d.login("dept1").await;
    let r = d
        .post_form(
            &page,
            &format!("/staff/classes/{light}/reply"),
            &[("text", "路灯已修复")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("路灯已修复"));
    // The nav shows the room to the unit, not to the station.
    assert!(d.get("/staff").await.text().contains("/staff/classes"));
}
