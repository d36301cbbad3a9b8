//! Class cases beyond the first decisions: 同问 counts in the hot-topic ranking and the
//! cockpit, 同问 for a citizen whose browser runs no script, and a supervised class that
//! follows its members as they join (worker, rebuild, merge) and leave (split).

use crate::classes::{
    class_of, classes, confirmed_light, demo, members, post, rebuild, send, world, LIGHT,
};
use crate::helpers::{csrf_in, TestApp};
use serde_json::{json, Value};
use yidu_db::Row;

async fn hot(app: &TestApp, token: &str) -> Value {
    let r = app.get("/api/v1/classes/hot", Some(token)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

async fn metoo_rows(app: &TestApp, id: i64) -> i64 {
    sqlx::query("SELECT COUNT(*) FROM opinion_metoo WHERE opinion_id = $1")
        .bind(id)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn metoo_counts_rank_hot_topics_and_show_in_the_cockpit() {
    let app = TestApp::spawn().await;
    let office = app.token("office").await;
    let w = world(&app).await;
    rebuild(&app, &office).await;
    let light = class_of(&app, &office, w.light[0].id).await.unwrap();
    let noise = class_of(&app, &office, w.noise[0].id).await.unwrap();
    // Four items (all new this week) against three: light leads, 4 + 2×4 = 12 to 9.
    let h = hot(&app, &office).await;
    assert_eq!(h[0]["id"], light, "{h}");
    assert_eq!(h[0]["score"], 12, "{h}");

    // Four citizens say 同问 on a noise item instead of filing their own.
    let c = classes(&app);
    for n in 0..4 {
        let r =
            yidu_opinions::assist::metoo::metoo(&c.opinions, &format!("10.0.0.{n}"), w.noise[1].id)
                .await
                .unwrap();
        assert_eq!(r.metoo, n + 1);
    }
    // The worker copies the counts into the class; then noise ranks first: 3 + 6 + 4 = 13.
    let mut worker = yidu_classes::worker::Worker::new(classes(&app));
    let round = worker.run_once().await.unwrap();
    assert!(round.same_asks >= 1, "{round:?}");
    let h = hot(&app, &office).await;
    assert_eq!(h[0]["id"], noise, "{h}");
    assert_eq!(h[0]["same_asks"], 4, "{h}");
    assert_eq!(
        h[0]["score"],
        yidu_classes::model::hot_score(3, 3, 4),
        "{h}"
    );
    assert_eq!(h[0]["score"], 13, "{h}");
    assert_eq!(h[1]["id"], light, "{h}");
    // The next round reads the recent 同问 again (they may have committed out of order)
    // but changes nothing.
    let again = worker.run_once().await.unwrap();
    assert_eq!(again.same_asks, 0, "{again:?}");
    assert_eq!(hot(&app, &office).await[0]["same_asks"], 4);

    // A rebuild remakes the proposed classes and keeps their counts.
    rebuild(&app, &office).await;
    let h = hot(&app, &office).await;
    assert_eq!(h[0]["id"], noise, "{h}");
    assert_eq!(h[0]["same_asks"], 4, "{h}");

    // The cockpit lists the count and says how it ranks.
    let b = app.browser();
    b.login("office").await;
    let html = b.get("/staff/cockpit").await.text();
    assert!(html.contains("id=\"hot-formula\""), "{html}");
    assert!(html.contains("同问人数"), "{html}");
    assert!(html.contains("<td class=\"same-asks\">4</td>"), "{html}");
    let at_noise = html.find(&format!("/staff/classes/{noise}\"")).unwrap();
    let at_light = html.find(&format!("/staff/classes/{light}\"")).unwrap();
    assert!(at_noise < at_light, "hottest first");
}

/// Posts a page form's text fields as multipart, as the citizen's browser does.
async fn send_form(
    b: &crate::helpers::Browser<'_>,
    action: &str,
    fields: &[(&str, &str)],
) -> crate::helpers::TestResponse {
    let parts: Vec<(&str, Option<&str>, &[u8])> = fields
        .iter()
        .map(|(name, value)| (*name, None, value.as_bytes()))
        .collect();
    b.post_multipart(action, &parts).await
}

fn value_of(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let at = html.find(&marker).unwrap_or_else(|| panic!("no {name}")) + marker.len();
    let end = html[at..].find('"').unwrap() + at;
    html[at..end].to_string()
}

async fn opinions_count(app: &TestApp) -> i64 {
    sqlx::query("SELECT COUNT(*) FROM opinions")
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn metoo_without_script() {
    let app = TestApp::spawn().await;
    let first = send(&app, 1, LIGHT[0]).await;
    send(&app, 2, LIGHT[1]).await;
    let code = demo(&app).deputy_code.clone();
    let path = format!("/c/d/{code}/new");

    // The form carries the marker the script fills in; without script it stays empty.
    let b = app.browser();
    let page = b.get(&path).await;
    assert_eq!(page.status, 200);
    let html = page.text();
    assert_eq!(value_of(&html, "similar_checked"), "");
    let token = csrf_in(&html).unwrap();
    let key = value_of(&html, "idempotency_key");
    let action = format!("{path}?_csrf={token}");
    let mine = [
        ("idempotency_key", key.as_str()),
        ("title", "幸福路的路灯坏了不亮"),
        ("body", "幸福路东段路灯晚上不亮，走路很不安全，请维修路灯。"),
        ("name", "王五"),
        ("phone", "13700001111"),
        ("consent", "1"),
    ];
    let before = opinions_count(&app).await;

    // A form with a mistake gets the mistake first (here: a phone without consent).
    let careless: Vec<(&str, &str)> = mine.iter().copied().filter(|f| f.0 != "consent").collect();
    let r = send_form(&b, &action, &careless).await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(!r.text().contains("same-problem-offer"));

    // The first send comes back once with the similar open items: titles and counts only.
    let step = send_form(&b, &action, &mine).await;
    assert_eq!(step.status, 200, "{}", step.text());
    let html = step.text();
    assert!(html.contains("id=\"same-problem-offer\""), "{html}");
    assert!(html.contains(LIGHT[0].0), "{html}");
    assert!(!html.contains("李四"), "no one else's name");
    assert!(!html.contains("13900010001"), "no one else's phone");
    assert!(!html.contains("tracking-no"), "nothing filed yet");
    assert_eq!(opinions_count(&app).await, before);
    // What the citizen typed stays, with the same key and the marker set.
    assert_eq!(value_of(&html, "similar_checked"), "1");
    assert_eq!(value_of(&html, "idempotency_key"), key);
    assert!(html.contains("value=\"幸福路的路灯坏了不亮\""));
    // Each offer is a plain form with the CSRF token.
    assert!(html.contains("action=\"/metoo\""), "{html}");
    let token = csrf_in(&html).unwrap();
    let id = first.id.to_string();
    let fields = [
        ("_csrf", token.as_str()),
        ("id", id.as_str()),
        ("back", path.as_str()),
    ];
    let r = b.post_form_raw("/metoo", &fields).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let done = r.text();
    assert!(done.contains(&first.tracking_no), "{done}");
    assert!(done.contains("id=\"metoo-count\">1<"), "{done}");
    assert!(
        done.contains(&format!("href=\"{path}\"")),
        "back to the form"
    );
    assert!(!done.contains(&first.code), "never the query code");
    // A double click records nothing more.
    let again = b.post_form_raw("/metoo", &fields).await;
    assert_eq!(again.status, 200);
    assert!(again.text().contains("您已同问过此事项"));
    assert_eq!(metoo_rows(&app, first.id).await, 1);
    // Without the token: refused, nothing recorded.
    let forged = b
        .post_form_raw("/metoo", &[("id", id.as_str()), ("back", "/new")])
        .await;
    assert!(
        forged.status == 400 || forged.status == 403,
        "{}",
        forged.status
    );
    // A strange place to go back to becomes the general form.
    let r = b
        .post_form_raw(
            "/metoo",
            &[
                ("_csrf", token.as_str()),
                ("id", id.as_str()),
                ("back", "//evil.example/"),
            ],
        )
        .await;
    assert!(r.text().contains("href=\"/new\""));
    assert_eq!(metoo_rows(&app, first.id).await, 1);

    // Not the same problem after all: the second send files it, once.
    let mut second: Vec<(&str, &str)> = mine.to_vec();
    second.push(("similar_checked", "1"));
    let ok = send_form(&b, &action, &second).await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert!(ok.text().contains("tracking-no"), "{}", ok.text());
    let resent = send_form(&b, &action, &second).await;
    assert_eq!(resent.status, 200);
    assert_eq!(opinions_count(&app).await, before + 1);

    // Nothing similar nearby: the first send files at once.
    let page = b.get(&path).await.text();
    let key = value_of(&page, "idempotency_key");
    let other = [
        ("idempotency_key", key.as_str()),
        ("title", "希望开设老年大学课程"),
        ("body", "社区老年人希望学习书法和智能手机使用。"),
        ("consent", "1"),
    ];
    let r = send_form(&b, &action, &other).await;
    assert!(r.text().contains("tracking-no"), "{}", r.text());
    assert_eq!(opinions_count(&app).await, before + 2);
}

async fn opinion(app: &TestApp, token: &str, id: i64) -> Value {
    let r = app
        .get(&format!("/api/v1/opinions/{id}"), Some(token))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

async fn inbox_kinds(app: &TestApp, id: i64) -> Vec<(String, Option<i64>, Option<i64>)> {
    sqlx::query("SELECT kind, unit_id, region_id FROM inbox WHERE opinion_id = $1 ORDER BY id")
        .bind(id)
        .fetch_all(app.db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

async fn audited(app: &TestApp, action: &str, object: i64) -> i64 {
    sqlx::query("SELECT COUNT(*) FROM audit_log WHERE action = $1 AND object_id = $2")
        .bind(action)
        .bind(object.to_string())
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn a_supervised_class_follows_its_members() {
    let app = TestApp::spawn().await;
    let office = app.token("office").await;
    let deputy = app.token("deputy1").await;
    let dept = app.token("dept1").await;
    let unit = demo(&app).unit_id;
    let (w, light) = confirmed_light(&app, &office).await;
    let noise = class_of(&app, &office, w.noise[0].id).await.unwrap();
    let (s, v) = post(
        &app,
        &office,
        &format!("/api/v1/classes/{light}/supervise"),
        json!({"lead_unit_id": unit, "days": 10}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let class = app
        .get(&format!("/api/v1/classes/{light}"), Some(&office))
        .await
        .json();
    let deadline = class["class"]["deadline_at"].as_i64().unwrap();
    // The members carry the class's deadline, not the unit's usual two days.
    let m = opinion(&app, &office, w.light[0].id).await;
    assert_eq!(m["status"], "assigned");
    assert_eq!(m["deadline_at"], deadline, "{m}");

    // A new item about the same lights arrives; the worker (building its model with a
    // rebuild) puts it into the class, and so to the lead unit with the class's deadline.
    let mut worker = yidu_classes::worker::Worker::new(classes(&app));
    let a = send(
        &app,
        30,
        (
            "幸福路路灯晚上全黑",
            "幸福路东段路灯晚上全不亮，请维修路灯。",
        ),
    )
    .await;
    worker.run_once().await.unwrap();
    assert_eq!(class_of(&app, &office, a.id).await, Some(light));
    let o = opinion(&app, &office, a.id).await;
    assert_eq!(o["status"], "assigned", "{o}");
    assert_eq!(o["unit_id"], unit);
    assert_eq!(o["deadline_at"], deadline, "{o}");
    let kinds = inbox_kinds(&app, a.id).await;
    assert!(
        kinds.iter().any(|k| k.0 == "assigned" && k.1 == Some(unit)),
        "the unit is told: {kinds:?}"
    );
    assert!(
        kinds.iter().any(|k| k.0 == "class_joined" && k.2.is_some()),
        "the office is told: {kinds:?}"
    );
    assert_eq!(audited(&app, "opinion.assign", a.id).await, 1);
    assert_eq!(audited(&app, "class.join", light).await, 1);

    // One that a deputy already answered on the spot joins too, and is left alone.
    let b2 = send(
        &app,
        31,
        (
            "幸福路路灯又不亮了",
            "幸福路的路灯晚上又不亮了，请修理路灯。",
        ),
    )
    .await;
    for body in [
        json!({"action": "accept"}),
        json!({"action": "answer_on_spot", "note": "已报修"}),
    ] {
        let (s, v) = post(
            &app,
            &deputy,
            &format!("/api/v1/opinions/{}/moves", b2.id),
            body,
        )
        .await;
        assert_eq!(s, 200, "{v}");
    }
    worker.run_once().await.unwrap();
    assert_eq!(class_of(&app, &office, b2.id).await, Some(light));
    let o = opinion(&app, &office, b2.id).await;
    assert_eq!(o["status"], "replied", "{o}");
    assert_eq!(o["unit_id"], Value::Null);
    assert_eq!(audited(&app, "class.join", light).await, 2);

    // The model is in memory now: this one is placed incrementally, and assigned too.
    let c2 = send(
        &app,
        32,
        (
            "幸福路路灯坏了很多天",
            "幸福路路灯坏了很多天，晚上很黑，请维修。",
        ),
    )
    .await;
    worker.run_once().await.unwrap();
    assert_eq!(class_of(&app, &office, c2.id).await, Some(light));
    let o = opinion(&app, &office, c2.id).await;
    assert_eq!(
        (o["status"].clone(), o["unit_id"].clone()),
        (json!("assigned"), json!(unit))
    );

    // Staff merge the noise class into it: those items go to the lead unit as well.
    let (s, v) = post(
        &app,
        &office,
        &format!("/api/v1/classes/{noise}/merge"),
        json!({"into_id": light}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    for n in &w.noise {
        let o = opinion(&app, &office, n.id).await;
        assert_eq!(o["status"], "assigned", "{o}");
        assert_eq!(o["deadline_at"], deadline);
    }

    // Split one off: it is no longer covered by the class's reply, so it stays with the
    // unit and the unit and the office are told to answer it on its own.
    let (s, v) = post(
        &app,
        &office,
        &format!("/api/v1/classes/{light}/split"),
        json!({"item_ids": [a.id], "label": "幸福路东段"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let split = v;
    assert!(!members(&app, &office, light).await.contains(&a.id));
    let kinds = inbox_kinds(&app, a.id).await;
    assert!(
        kinds
            .iter()
            .any(|k| k.0 == "class_left" && k.1 == Some(unit)),
        "the unit is told: {kinds:?}"
    );
    assert!(kinds.iter().any(|k| k.0 == "class_left" && k.2.is_some()));
    // The unit sees the notice in its inbox and the item in its queue.
    let inbox = app.get("/api/v1/inbox", Some(&dept)).await;
    assert_eq!(inbox.status, 200, "{}", inbox.text());
    assert!(
        inbox.text().contains("不再随类案统一答复"),
        "{}",
        inbox.text()
    );

    // The class reply reaches the members, not the one split off, which the unit answers
    // on its own.
    let (s, v) = post(
        &app,
        &dept,
        &format!("/api/v1/classes/{light}/reply"),
        json!({"text": "幸福路路灯线路已全部更换。"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let done: Vec<i64> = v["done"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect();
    assert!(done.contains(&c2.id) && !done.contains(&a.id), "{v}");
    assert_eq!(opinion(&app, &office, a.id).await["status"], "assigned");

    // The class split off is supervised with the same unit, then dissolved: it will give
    // no reply, so the unit is told again and its reply is refused.
    let east = split["id"].as_i64().unwrap();
    let (s, v) = post(
        &app,
        &office,
        &format!("/api/v1/classes/{east}/supervise"),
        json!({"lead_unit_id": unit, "days": 5}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = post(
        &app,
        &office,
        &format!("/api/v1/classes/{east}/dissolve"),
        json!({}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let left = inbox_kinds(&app, a.id).await;
    let told = left
        .iter()
        .filter(|k| k.0 == "class_left" && k.1 == Some(unit))
        .count();
    assert_eq!(told, 2, "{left:?}");
    let (s, v) = post(
        &app,
        &dept,
        &format!("/api/v1/classes/{east}/reply"),
        json!({"text": "不会送达"}),
    )
    .await;
    assert_eq!(s, 409, "{v}");
    for action in [
        json!({"action": "take"}),
        json!({"action": "reply", "note": "东段单独答复"}),
    ] {
        let (s, v) = post(
            &app,
            &dept,
            &format!("/api/v1/opinions/{}/moves", a.id),
            action,
        )
        .await;
        assert_eq!(s, 200, "{v}");
    }
}
