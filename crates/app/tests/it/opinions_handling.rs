//! The handling side of the opinions room through the HTTP API and the pages: the whole
//! loop (accept → assign → take → reply), returns, every refusal, masking, duty records,
//! the inbox, bulk assignment, the .xlsx export and a page flow with CSRF.

use crate::helpers::{TestApp, PASSWORD};
use serde_json::{json, Value};
use yidu_db::Row;
use yidu_opinions::model::{Channel, Submission};

const PHONE: &str = "13812345678";

fn demo(app: &TestApp) -> &yidu_registry::demo::DemoSummary {
    &app.demo.as_ref().unwrap().summary
}

/// Submits an item through the deputy's code, as a citizen would; returns its id.
async fn submit(app: &TestApp, title: &str) -> i64 {
    let o = yidu_app::router::opinions(app.db.clone(), &app.config).expect("opinions");
    let s = Submission {
        title: title.into(),
        body: "小区门口的路灯坏了一个月，晚上看不见路".into(),
        name: "张三".into(),
        phone: PHONE.into(),
        consent: true,
        ..Default::default()
    };
    let receipt = yidu_opinions::service::submit::submit(
        &o,
        Channel::Deputy(demo(app).deputy_code.clone()),
        &s,
        &[],
        &format!("198.51.100.{}", title.len() % 200),
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

async fn mv(app: &TestApp, token: &str, id: i64, body: Value) -> (u16, Value) {
    let r = app
        .post_json(&format!("/api/v1/opinions/{id}/moves"), Some(token), &body)
        .await;
    let v = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    (r.status, v)
}

async fn status_of(app: &TestApp, token: &str, id: i64) -> String {
    let r = app
        .get(&format!("/api/v1/opinions/{id}"), Some(token))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["status"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn the_whole_loop_through_the_api() {
    let app = TestApp::spawn().await;
    let unit = demo(&app).unit_id;
    let deputy = app.token("deputy1").await;
    let dept = app.token("dept1").await;
    let office = app.token("office").await;
    let id = submit(&app, "路灯不亮").await;

    // The deputy sees it in their queue and claims it.
    let q = app.get("/api/v1/opinions", Some(&deputy)).await;
    assert_eq!(q.status, 200, "{}", q.text());
    assert!(q.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["id"] == id));
    // The unit cannot read an item not assigned to it.
    assert_eq!(
        app.get(&format!("/api/v1/opinions/{id}"), Some(&dept))
            .await
            .status,
        404
    );

    let (s, v) = mv(
        &app,
        &deputy,
        id,
        json!({"action": "accept", "level": "township"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "accepted");
    assert_eq!(v["opinion"]["level"], "township");
    // Wrong state: accepting twice names the state.
    let (s, v) = mv(&app, &deputy, id, json!({"action": "accept"})).await;
    assert_eq!(s, 409, "{v}");
    assert!(
        v.to_string().contains("已受理") || v.to_string().contains("accepted"),
        "{v}"
    );
    // Field errors name the field.
    let (s, v) = mv(&app, &deputy, id, json!({"action": "assign"})).await;
    assert!(s == 400 || s == 422, "{s} {v}");
    assert!(v.to_string().contains("unit_id"), "{v}");

    let (s, v) = mv(
        &app,
        &deputy,
        id,
        json!({"action": "assign", "unit_id": unit, "note": "请尽快处理"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "assigned");

    // Masking: the unit now handles it and sees the phone; the office sees it masked.
    let full = app
        .get(&format!("/api/v1/opinions/{id}"), Some(&dept))
        .await
        .json();
    assert_eq!(full["citizen_phone"], PHONE);
    assert_eq!(full["personal_data_visible"], true);
    let masked = app
        .get(&format!("/api/v1/opinions/{id}"), Some(&office))
        .await
        .json();
    let m = masked["citizen_phone"].as_str().unwrap();
    assert!(m.starts_with("138****"), "{m}");
    assert_ne!(m, PHONE);

    // The unit's inbox has the assignment; it can be marked read, not by others.
    let inbox = app.get("/api/v1/inbox", Some(&dept)).await;
    assert_eq!(inbox.status, 200, "{}", inbox.text());
    let inbox = inbox.json();
    let notice = inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["kind"] == "assigned" && n["opinion_id"] == id)
        .unwrap_or_else(|| panic!("no assignment in {inbox}"))
        .clone();
    assert_eq!(notice["read"], false);
    let nid = notice["id"].as_i64().unwrap();
    assert_eq!(
        app.post_json(
            &format!("/api/v1/inbox/{nid}/read"),
            Some(&deputy),
            &json!({})
        )
        .await
        .status,
        404
    );
    assert_eq!(
        app.post_json(
            &format!("/api/v1/inbox/{nid}/read"),
            Some(&dept),
            &json!({})
        )
        .await
        .status,
        204
    );
    let again = app.get("/api/v1/inbox", Some(&dept)).await.json();
    assert_eq!(
        again["unread"].as_i64().unwrap(),
        inbox["unread"].as_i64().unwrap() - 1
    );

    // The deputy may not take it: that is the unit's move.
    let (s, _) = mv(&app, &deputy, id, json!({"action": "take"})).await;
    assert_eq!(s, 403);
    // Reply before taking: wrong state.
    let (s, v) = mv(
        &app,
        &dept,
        id,
        json!({"action": "reply", "note": "已修好"}),
    )
    .await;
    assert_eq!(s, 409, "{v}");
    assert!(
        v.to_string().contains("已交办") || v.to_string().contains("assigned"),
        "{v}"
    );

    let (s, v) = mv(&app, &dept, id, json!({"action": "take"})).await;
    assert_eq!((s, v["status"].as_str()), (200, Some("in_progress")), "{v}");
    let (s, v) = mv(
        &app,
        &dept,
        id,
        json!({"action": "reply", "note": "路灯已于今日修复"}),
    )
    .await;
    assert_eq!((s, v["status"].as_str()), (200, Some("replied")), "{v}");
    assert_eq!(v["opinion"]["reply_text"], "路灯已于今日修复");
    assert_eq!(status_of(&app, &office, id).await, "replied");

    let tl = app
        .get(&format!("/api/v1/opinions/{id}/timeline"), Some(&office))
        .await;
    assert_eq!(tl.status, 200);
    let actions: Vec<String> = tl
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect();
    for a in ["accept", "assign", "take", "reply"] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }

    // The deputy's duty record got the accept and the assignment.
    let duty: i64 =
        sqlx::query("SELECT COUNT(*) FROM duty_records WHERE deputy_id = $1 AND object_id = $2")
            .bind(demo(&app).deputy_id)
            .bind(id)
            .fetch_one(app.db.pool())
            .await
            .unwrap()
            .get(0);
    assert!(duty >= 2, "duty records: {duty}");

    // Unknown items and photos are 404.
    assert_eq!(
        app.get("/api/v1/opinions/999999", Some(&office))
            .await
            .status,
        404
    );
    assert_eq!(
        app.get(
            &format!("/api/v1/opinions/{id}/photos/999999"),
            Some(&office)
        )
        .await
        .status,
        404
    );
}

#[tokio::test]
async fn a_unit_returns_with_a_reason_and_strangers_learn_nothing() {
    let app = TestApp::spawn().await;
    let unit = demo(&app).unit_id;
    let deputy = app.token("deputy1").await;
    let dept = app.token("dept1").await;
    let station = app.token("station1").await;
    let committee = app.token("committee1").await;
    let id = submit(&app, "垃圾清运不及时").await;

    // The station it came through sees it; the committee and the unit do not.
    assert_eq!(
        app.get(&format!("/api/v1/opinions/{id}"), Some(&station))
            .await
            .status,
        200
    );
    assert_eq!(
        app.get(&format!("/api/v1/opinions/{id}"), Some(&committee))
            .await
            .status,
        404
    );
    let (s, _) = mv(&app, &dept, id, json!({"action": "accept"})).await;
    assert_eq!(s, 404, "out of scope moves learn nothing");

    // A user of another station.
    let admin = app.token("admin").await;
    let stations = app
        .get("/api/v1/stations?per_page=100", Some(&admin))
        .await
        .json();
    let other = stations["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .find(|s| *s != demo(&app).station_id)
        .expect("a second demo station");
    let created = app
        .post_json(
            "/api/v1/users",
            Some(&admin),
            &json!({"username": "station2", "display_name": "二号站", "role": "station", "scope_id": other, "password": PASSWORD}),
        )
        .await;
    assert!(
        created.status == 200 || created.status == 201,
        "{}",
        created.text()
    );
    let station2 = app.token("station2").await;
    let changed = app
        .post_json(
            "/api/v1/me/password",
            Some(&station2),
            &json!({"old_password": PASSWORD, "new_password": "Another@2026pass"}),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text());
    let station2 = {
        let r = app
            .post_json(
                "/api/v1/auth/login",
                None,
                &json!({"username": "station2", "password": "Another@2026pass"}),
            )
            .await;
        r.json()["token"].as_str().unwrap().to_string()
    };
    assert_eq!(
        app.get(&format!("/api/v1/opinions/{id}"), Some(&station2))
            .await
            .status,
        404
    );
    let q = app.get("/api/v1/opinions", Some(&station2)).await.json();
    assert!(!q["items"].as_array().unwrap().iter().any(|i| i["id"] == id));

    // Return: needs a reason, goes back to accepted without a unit.
    mv(&app, &deputy, id, json!({"action": "accept"})).await;
    let (s, v) = mv(
        &app,
        &deputy,
        id,
        json!({"action": "assign", "unit_id": unit}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = mv(&app, &dept, id, json!({"action": "return"})).await;
    assert!(s == 400 || s == 422, "{s} {v}");
    assert!(v.to_string().contains("note"), "{v}");
    let (s, v) = mv(
        &app,
        &dept,
        id,
        json!({"action": "return", "note": "不属于本单位职责"}),
    )
    .await;
    assert_eq!((s, v["status"].as_str()), (200, Some("accepted")), "{v}");
    assert_eq!(status_of(&app, &deputy, id).await, "accepted");
    // Once returned, the unit no longer sees it.
    assert_eq!(
        app.get(&format!("/api/v1/opinions/{id}"), Some(&dept))
            .await
            .status,
        404
    );
    let tl = app
        .get(&format!("/api/v1/opinions/{id}/timeline"), Some(&deputy))
        .await
        .json();
    assert!(tl.to_string().contains("不属于本单位职责"), "{tl}");
}

#[tokio::test]
async fn bulk_assignment_is_all_or_nothing_and_the_export_masks() {
    let app = TestApp::spawn().await;
    let unit = demo(&app).unit_id;
    let office = app.token("office").await;
    let dept = app.token("dept1").await;
    let mut ids = Vec::new();
    for t in ["井盖缺失", "噪音扰民", "道路积水"] {
        ids.push(submit(&app, t).await);
    }
    for id in &ids {
        let (s, v) = mv(&app, &office, *id, json!({"action": "accept"})).await;
        assert_eq!(s, 200, "{v}");
    }
    let extra = submit(&app, "还未受理的事项").await;

    // One item in the wrong state: nothing moves, each is reported.
    let mut with_bad = ids.clone();
    with_bad.push(extra);
    let r = app
        .post_json(
            "/api/v1/opinions/bulk-assign",
            Some(&office),
            &json!({"ids": with_bad, "unit_id": unit}),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.text());
    let v = r.json();
    assert_eq!(v["assigned"], 0);
    assert_eq!(v["results"].as_array().unwrap().len(), 4);
    for id in &ids {
        assert_eq!(status_of(&app, &office, *id).await, "accepted");
    }
    // Missing unit names the field.
    let r = app
        .post_json(
            "/api/v1/opinions/bulk-assign",
            Some(&office),
            &json!({"ids": ids}),
        )
        .await;
    assert!(r.text().contains("unit_id"), "{}", r.text());

    let r = app
        .post_json(
            "/api/v1/opinions/bulk-assign",
            Some(&office),
            &json!({"ids": ids, "unit_id": unit, "note": "批量"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["assigned"], 3);
    for id in &ids {
        assert_eq!(status_of(&app, &office, *id).await, "assigned");
    }
    let q = app
        .get("/api/v1/opinions?status=assigned", Some(&dept))
        .await
        .json();
    assert_eq!(q["total"], 3);

    // The export is a real workbook; the office sees phones masked, the unit in full.
    let r = app
        .get(
            "/api/v1/opinions/export.xlsx?status=assigned",
            Some(&office),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.body.starts_with(b"PK"));
    let rows = sheet_rows(&r.body);
    assert_eq!(rows.len(), 4, "header and three rows");
    let all = rows.concat().join("|");
    assert!(all.contains("138****"), "{all}");
    assert!(!all.contains(PHONE), "{all}");
    let r = app.get("/api/v1/opinions/export.xlsx", Some(&dept)).await;
    let all = sheet_rows(&r.body).concat().join("|");
    assert!(all.contains(PHONE), "{all}");

    // The digest answers for everyone with a queue.
    let d = app.get("/api/v1/opinions/digest", Some(&office)).await;
    assert_eq!(d.status, 200, "{}", d.text());
    assert!(d.json()["red"].is_number());
}

fn sheet_rows(bytes: &[u8]) -> Vec<Vec<String>> {
    use calamine::{Reader, Xlsx};
    let mut wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes.to_vec())).expect("opens as xlsx");
    let name = wb.sheet_names()[0].clone();
    let range = wb.worksheet_range(&name).expect("sheet");
    range
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

#[tokio::test]
async fn office_accepts_through_the_pages() {
    let app = TestApp::spawn().await;
    let id = submit(&app, "公园长椅损坏").await;
    let b = app.browser();
    let r = b.login("office").await;
    assert!(r.status == 303 || r.status == 302, "{}", r.text());
    let q = b.get("/staff/opinions").await;
    assert_eq!(q.status, 200, "{}", q.text());
    assert!(q.text().contains("公园长椅损坏"));
    let detail = format!("/staff/opinions/{id}");
    let d = b.get(&detail).await;
    assert_eq!(d.status, 200, "{}", d.text());
    assert!(d.text().contains("138****"), "masked for the office");
    assert!(!d.text().contains(PHONE));
    assert!(d.text().contains("value=\"accept\""));
    let r = b
        .post_form(
            &detail,
            &format!("/staff/opinions/{id}/moves"),
            &[("action", "accept"), ("level", "township"), ("note", "")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(r.location().starts_with(&detail), "{}", r.location());
    let after = b.get(&r.location()).await.text();
    assert!(after.contains("已受理"), "{after}");
    assert!(after.contains("已办理"), "flash");
    // A post without the CSRF token is refused.
    let r = b
        .post_form_raw(
            &format!("/staff/opinions/{id}/moves"),
            &[("action", "start")],
        )
        .await;
    assert!(r.status == 403 || r.status == 400, "{}", r.status);
    // Wrong-state moves show the item again with the state named.
    let r = b
        .post_form(
            &detail,
            &format!("/staff/opinions/{id}/moves"),
            &[("action", "accept")],
        )
        .await;
    assert_eq!(r.status, 409);
    assert!(r.text().contains("已受理"));
    // The inbox page and the export link work with the session.
    assert_eq!(b.get("/staff/inbox").await.status, 200);
    let x = b.get("/staff/opinions/export.xlsx?status=accepted").await;
    assert_eq!(x.status, 200);
    assert!(x.body.starts_with(b"PK"));
    // The deputy's face.
    let d = app.browser();
    d.login("deputy1").await;
    let q = d.get("/deputy/opinions").await;
    assert_eq!(q.status, 200, "{}", q.text());
    assert!(q.text().contains("公园长椅损坏"));
    assert_eq!(d.get(&format!("/deputy/opinions/{id}")).await.status, 200);
}
