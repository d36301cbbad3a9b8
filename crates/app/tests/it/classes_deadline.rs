//! A supervised class's one deadline holds for every member through the whole handling:
//! the lead unit taking, returning, a reassignment, a reopen after an unsatisfied rating
//! all keep it; a change of the class's deadline moves every member's; an item that leaves
//! the class (split, dissolve) or a class reply that ends the supervision gives the usual
//! rule back. Refusals change nothing.

use crate::classes::{class_of, classes, confirmed_light, demo, post, rebuild, send, world};
use crate::helpers::TestApp;
use serde_json::{json, Value};
use yidu_db::Row;
use yidu_kernel::clock::now_ms;

async fn opinion(app: &TestApp, token: &str, id: i64) -> Value {
    let r = app
        .get(&format!("/api/v1/opinions/{id}"), Some(token))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

async fn moves(app: &TestApp, token: &str, id: i64, body: Value) {
    let (s, v) = post(app, token, &format!("/api/v1/opinions/{id}/moves"), body).await;
    assert_eq!(s, 200, "{v}");
}

async fn deadline_audits(app: &TestApp, id: i64) -> i64 {
    sqlx::query(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'opinion.deadline' AND object_id = $1",
    )
    .bind(id.to_string())
    .fetch_one(app.db.pool())
    .await
    .unwrap()
    .get(0)
}

async fn deadline_notices(app: &TestApp, id: i64) -> i64 {
    sqlx::query("SELECT COUNT(*) FROM inbox WHERE kind = 'deadline' AND opinion_id = $1")
        .bind(id)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0)
}

/// The class's deadline after supervising it.
async fn class_deadline(app: &TestApp, token: &str, class: i64) -> i64 {
    let c = app
        .get(&format!("/api/v1/classes/{class}"), Some(token))
        .await
        .json();
    c["class"]["deadline_at"].as_i64().unwrap()
}

/// The usual deadline `days` working days from a moment of this test: taken before and
/// after the call that set it, which fall on the same day but around midnight.
fn usual(app: &TestApp, from: i64, to: i64, days: u32) -> (i64, i64) {
    let o = classes(app).opinions;
    (
        o.deadline(from, days).unwrap(),
        o.deadline(to, days).unwrap(),
    )
}

fn within(got: &Value, (lo, hi): (i64, i64)) -> bool {
    got.as_i64().map(|g| lo <= g && g <= hi).unwrap_or(false)
}

async fn supervise(app: &TestApp, token: &str, class: i64, days: u32) -> Value {
    let unit = demo(app).unit_id;
    let (s, v) = post(
        app,
        token,
        &format!("/api/v1/classes/{class}/supervise"),
        json!({"lead_unit_id": unit, "days": days}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    v
}

#[tokio::test]
async fn the_class_deadline_holds_through_the_whole_handling() {
    let app = TestApp::spawn().await;
    let office = app.token("office").await;
    let dept = app.token("dept1").await;
    let deputy = app.token("deputy1").await;
    let unit = demo(&app).unit_id;
    let cfg = classes(&app).opinions.config.clone();
    let (w, light) = confirmed_light(&app, &office).await;
    // One member was answered on the spot before: the class leaves it alone.
    let early = w.light[3].id;
    moves(&app, &deputy, early, json!({"action": "accept"})).await;
    moves(
        &app,
        &deputy,
        early,
        json!({"action": "answer_on_spot", "note": "已报修"}),
    )
    .await;

    // Refusals change nothing: a unit may not supervise, nor may anyone with 0 days.
    let (s, _) = post(
        &app,
        &dept,
        &format!("/api/v1/classes/{light}/supervise"),
        json!({"lead_unit_id": unit, "days": 10}),
    )
    .await;
    assert!(s == 403 || s == 404, "{s}");
    let (s, v) = post(
        &app,
        &office,
        &format!("/api/v1/classes/{light}/supervise"),
        json!({"lead_unit_id": unit, "days": 0}),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["details"][0]["field"], "days", "{v}");
    let o = opinion(&app, &office, w.light[0].id).await;
    assert_eq!(o["status"], "submitted");
    assert_eq!(o["held_deadline_at"], Value::Null);

    // Ten working days, not the unit's usual 2 to take and 15 to reply.
    supervise(&app, &office, light, 10).await;
    let due = class_deadline(&app, &office, light).await;
    for m in &w.light[..3] {
        let o = opinion(&app, &office, m.id).await;
        assert_eq!(o["status"], "assigned", "{o}");
        assert_eq!(
            (o["deadline_at"].as_i64(), o["held_deadline_at"].as_i64()),
            (Some(due), Some(due)),
            "{o}"
        );
    }
    let o = opinion(&app, &office, early).await;
    assert_eq!(o["status"], "replied");
    assert_eq!(o["held_deadline_at"], Value::Null, "answered: not held");

    // The unit takes one: still the class's deadline, in the API and in the unit's queue.
    let a = w.light[0].id;
    moves(&app, &dept, a, json!({"action": "take"})).await;
    let o = opinion(&app, &dept, a).await;
    assert_eq!(o["status"], "in_progress");
    assert_eq!(
        o["deadline_at"], due,
        "taking keeps the class's deadline: {o}"
    );
    let q = app.get("/api/v1/opinions?per_page=100", Some(&dept)).await;
    assert_eq!(q.status, 200, "{}", q.text());
    let q = q.json();
    let row = q["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == a)
        .cloned()
        .unwrap_or_else(|| panic!("in the unit's queue: {q}"));
    assert_eq!(row["deadline_at"], due);

    // The unit returns another with a reason; the office holds it on the class's deadline
    // and reassigns it: still the class's deadline.
    let b = w.light[1].id;
    moves(
        &app,
        &dept,
        b,
        json!({"action": "return", "note": "不属于本单位职责"}),
    )
    .await;
    let o = opinion(&app, &office, b).await;
    assert_eq!(
        (o["status"].clone(), o["deadline_at"].clone()),
        (json!("accepted"), json!(due)),
        "{o}"
    );
    moves(
        &app,
        &office,
        b,
        json!({"action": "assign", "unit_id": unit}),
    )
    .await;
    let o = opinion(&app, &office, b).await;
    assert_eq!(o["deadline_at"], due, "{o}");

    // The office gives the class 20 days instead: every member that carries its deadline
    // moves with it, audited, and the unit is told; the answered one stays as it was.
    let before_audits = deadline_audits(&app, a).await;
    supervise(&app, &office, light, 20).await;
    let due2 = class_deadline(&app, &office, light).await;
    assert!(due2 > due);
    for id in [a, b, w.light[2].id] {
        let o = opinion(&app, &office, id).await;
        assert_eq!(
            (o["deadline_at"].as_i64(), o["held_deadline_at"].as_i64()),
            (Some(due2), Some(due2)),
            "{o}"
        );
        assert!(deadline_notices(&app, id).await >= 1, "the unit is told");
    }
    assert_eq!(deadline_audits(&app, a).await, before_audits + 1);
    let o = opinion(&app, &office, early).await;
    assert_eq!(
        (o["status"].clone(), o["held_deadline_at"].clone()),
        (json!("replied"), Value::Null)
    );
    let summary: String = sqlx::query(
        "SELECT summary FROM audit_log WHERE action = 'class.supervise' AND object_id = $1 ORDER BY id DESC",
    )
    .bind(light.to_string())
    .fetch_one(app.db.pool())
    .await
    .unwrap()
    .get(0);
    assert!(summary.contains(&format!("was due {due}")), "{summary}");

    // An item that joins now gets the new deadline.
    let joiner = send(
        &app,
        40,
        (
            "幸福路路灯晚上全黑",
            "幸福路东段路灯晚上全不亮，请维修路灯。",
        ),
    )
    .await;
    let mut worker = yidu_classes::worker::Worker::new(classes(&app));
    worker.run_once().await.unwrap();
    assert_eq!(class_of(&app, &office, joiner.id).await, Some(light));
    let o = opinion(&app, &office, joiner.id).await;
    assert_eq!(
        (o["deadline_at"].as_i64(), o["held_deadline_at"].as_i64()),
        (Some(due2), Some(due2)),
        "{o}"
    );

    // The unit answers one on its own; its citizen is not satisfied: reopened, and still on
    // the class's deadline while the class is supervised.
    moves(
        &app,
        &dept,
        a,
        json!({"action": "reply", "note": "已安排维修"}),
    )
    .await;
    let r = app
        .post_json(
            &format!("/api/v1/track/{}/rating", w.light[0].tracking_no),
            None,
            &json!({"code": w.light[0].code, "satisfaction": "unsatisfied"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let o = opinion(&app, &office, a).await;
    assert_eq!(
        (o["status"].clone(), o["deadline_at"].clone()),
        (json!("in_progress"), json!(due2)),
        "{o}"
    );

    // Split the one waiting to be taken off: the usual rule for its state counted from
    // now (2 working days to take it), as it is earlier than the class's.
    let c = w.light[2].id;
    let t0 = now_ms();
    let (s, v) = post(
        &app,
        &office,
        &format!("/api/v1/classes/{light}/split"),
        json!({"item_ids": [c], "label": "幸福路东段"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let take = usual(&app, t0, now_ms(), cfg.take_days);
    let o = opinion(&app, &office, c).await;
    assert_eq!(o["held_deadline_at"], Value::Null, "{o}");
    assert_eq!(o["status"], "assigned");
    assert!(within(&o["deadline_at"], take), "{o} {take:?}");
    assert!(o["deadline_at"].as_i64().unwrap() < due2);
    // Taking it now starts the unit's usual reply time: nothing holds it any more.
    let t0 = now_ms();
    moves(&app, &dept, c, json!({"action": "take"})).await;
    let reply = usual(&app, t0, now_ms(), cfg.reply_days);
    assert!(within(
        &opinion(&app, &office, c).await["deadline_at"],
        reply
    ));

    // Dissolve: the reopened one (in progress) gets the usual 15 days to reply from now,
    // earlier than the class's 20; the reassigned one (assigned) 2 days to take it.
    let t0 = now_ms();
    let (s, v) = post(
        &app,
        &office,
        &format!("/api/v1/classes/{light}/dissolve"),
        json!({}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (reply, take) = (
        usual(&app, t0, now_ms(), cfg.reply_days),
        usual(&app, t0, now_ms(), cfg.take_days),
    );
    let o = opinion(&app, &office, a).await;
    assert_eq!(o["held_deadline_at"], Value::Null, "{o}");
    assert!(within(&o["deadline_at"], reply), "{o} {reply:?}");
    let o = opinion(&app, &office, b).await;
    assert_eq!(o["held_deadline_at"], Value::Null, "{o}");
    assert!(within(&o["deadline_at"], take), "{o} {take:?}");
    // A later move follows the usual rule again.
    let t0 = now_ms();
    moves(&app, &dept, b, json!({"action": "take"})).await;
    let reply = usual(&app, t0, now_ms(), cfg.reply_days);
    assert!(within(
        &opinion(&app, &office, b).await["deadline_at"],
        reply
    ));
    // Each release was audited.
    assert!(deadline_audits(&app, c).await >= 2, "held, then released");
}

#[tokio::test]
async fn leaving_never_gives_more_time_and_the_class_reply_ends_the_hold() {
    let app = TestApp::spawn().await;
    let office = app.token("office").await;
    let dept = app.token("dept1").await;
    let cfg = classes(&app).opinions.config.clone();
    let w = world(&app).await;
    rebuild(&app, &office).await;
    let noise = class_of(&app, &office, w.noise[0].id).await.unwrap();
    post(
        &app,
        &office,
        &format!("/api/v1/classes/{noise}/confirm"),
        json!({}),
    )
    .await;
    // One working day: shorter than the 15 a unit usually has to reply.
    supervise(&app, &office, noise, 1).await;
    let due = class_deadline(&app, &office, noise).await;
    let [x, y, z] = [w.noise[0].id, w.noise[1].id, w.noise[2].id];
    moves(&app, &dept, x, json!({"action": "take"})).await;
    assert_eq!(opinion(&app, &dept, x).await["deadline_at"], due);

    // Taken out of the class, it keeps the earlier class deadline (no extra time).
    let r = app
        .send_json(
            axum::http::Method::DELETE,
            &format!("/api/v1/classes/{noise}/members/{x}"),
            Some(&office),
            &json!({}),
        )
        .await;
    assert!(r.status == 200 || r.status == 204, "{}", r.text());
    let o = opinion(&app, &office, x).await;
    assert_eq!(
        (o["deadline_at"].as_i64(), o["held_deadline_at"].clone()),
        (Some(due), Value::Null),
        "{o}"
    );

    // The class reply answers the others and ends the supervision: no hold is left, and a
    // citizen's unsatisfied rating reopens the item on the usual reply time.
    let (s, v) = post(
        &app,
        &dept,
        &format!("/api/v1/classes/{noise}/reply"),
        json!({"text": "已责令工地夜间停工。"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    for id in [y, z] {
        let o = opinion(&app, &office, id).await;
        assert_eq!(
            (o["status"].clone(), o["held_deadline_at"].clone()),
            (json!("replied"), Value::Null),
            "{o}"
        );
    }
    let t0 = now_ms();
    let r = app
        .post_json(
            &format!("/api/v1/track/{}/rating", w.noise[1].tracking_no),
            None,
            &json!({"code": w.noise[1].code, "satisfaction": "unsatisfied"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let reply = usual(&app, t0, now_ms(), cfg.reply_days);
    let o = opinion(&app, &office, y).await;
    assert_eq!(o["status"], "in_progress");
    assert!(within(&o["deadline_at"], reply), "{o} {reply:?}");
    assert_ne!(o["deadline_at"], due);
}
