//! The daily digest of due items: sent once per person and day (inbox for staff users,
//! inbox and SMS through the outbox for deputies with a phone), nothing for people with
//! nothing due, nothing twice the same day, even from two instances at once, and the
//! `yidu digest send` command.

use crate::helpers::TestApp;
use std::process::Command;
use yidu_db::Row;
use yidu_kernel::Principal;
use yidu_opinions::model::{Channel, Submission};
use yidu_opinions::service::digest_send;
use yidu_outbox::{Dispatcher, MemorySink, OutboundConfig};

fn demo(app: &TestApp) -> &yidu_registry::demo::DemoSummary {
    &app.demo.as_ref().unwrap().summary
}

/// An item through the deputy's code, made overdue by moving its deadline into the past.
async fn overdue_item(app: &TestApp) -> i64 {
    let o = yidu_app::router::opinions(app.db.clone(), &app.config).unwrap();
    let s = Submission {
        title: "路灯不亮".into(),
        body: "小区门口的路灯坏了一个月".into(),
        ..Default::default()
    };
    let r = yidu_opinions::service::submit::submit(
        &o,
        Channel::Deputy(demo(app).deputy_code.clone()),
        &s,
        &[],
        "198.51.100.7",
        None,
    )
    .await
    .unwrap();
    sqlx::query("UPDATE opinions SET deadline_at = $1 WHERE tracking_no = $2")
        .bind(now() - 3_600_000)
        .bind(&r.tracking_no)
        .execute(app.db.pool())
        .await
        .unwrap();
    sqlx::query("SELECT id FROM opinions WHERE tracking_no = $1")
        .bind(&r.tracking_no)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0)
}

fn now() -> i64 {
    yidu_kernel::clock::now_ms()
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query(sql)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0)
}

async fn user_id(app: &TestApp, name: &str) -> i64 {
    sqlx::query("SELECT id FROM users WHERE username = $1")
        .bind(name)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0)
}

async fn digest_notices(app: &TestApp, user: &str) -> Vec<String> {
    let token = app.token(user).await;
    let r = app.get("/api/v1/inbox?per_page=100", Some(&token)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "digest")
        .map(|n| n["text"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn the_digest_goes_once_to_those_with_due_items() {
    let app = TestApp::spawn().await;
    let o = yidu_app::router::opinions(app.db.clone(), &app.config).unwrap();
    let system = Principal::system();
    let today = yidu_kernel::clock::to_china(now()).date();

    // Nothing due anywhere: nothing is sent.
    let r = digest_send::send_daily(&o, &system, today, now())
        .await
        .unwrap();
    assert_eq!((r.sent, r.with_items), (0, 0), "{r:?}");

    overdue_item(&app).await;
    let deputy = demo(&app).deputy_id;
    sqlx::query("UPDATE deputies SET phone = '13900001111' WHERE id = $1")
        .bind(deputy)
        .execute(app.db.pool())
        .await
        .unwrap();
    let r = digest_send::send_daily(&o, &system, today, now())
        .await
        .unwrap();
    // office and town1 (the region covers it), station1 (its station), the deputy.
    assert_eq!(r.sent, 4, "{r:?}");
    assert_eq!(r.outbound, 1, "only the deputy has a known phone: {r:?}");
    let people: Vec<String> = sqlx::query("SELECT person FROM digest_sends ORDER BY person")
        .fetch_all(app.db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut want = vec![
        format!("deputy:{deputy}"),
        format!("user:{}", user_id(&app, "office").await),
        format!("user:{}", user_id(&app, "station1").await),
        format!("user:{}", user_id(&app, "town1").await),
    ];
    want.sort();
    assert_eq!(people, want);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM outbox WHERE topic = 'digest.daily'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'opinion.digest'"
        )
        .await,
        4
    );

    // In the inbox of each, and only of each: the unit and the committee have nothing due.
    for u in ["office", "town1", "station1", "deputy1"] {
        let n = digest_notices(&app, u).await;
        assert_eq!(n.len(), 1, "{u}: {n:?}");
        assert!(n[0].contains("逾期 1 件"), "{u}: {}", n[0]);
    }
    for u in ["dept1", "committee1", "admin"] {
        assert!(digest_notices(&app, u).await.is_empty(), "{u}");
    }

    // The second run the same day sends nothing.
    let again = digest_send::send_daily(&o, &system, today, now())
        .await
        .unwrap();
    assert_eq!((again.sent, again.already_sent), (0, 4), "{again:?}");
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM outbox WHERE topic = 'digest.daily'"
        )
        .await,
        1
    );
    assert_eq!(digest_notices(&app, "office").await.len(), 1);

    // The outbox delivers it as one SMS to the deputy's phone from the registry.
    let sms = MemorySink::default();
    let d = Dispatcher::new(app.db.clone(), &OutboundConfig::new(), None)
        .with_sms(std::sync::Arc::new(sms.clone()));
    d.run_once(now()).await.unwrap();
    let sent: Vec<_> = sms
        .messages()
        .into_iter()
        .filter(|m| m.body.contains("待办摘要"))
        .collect();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, "13900001111");

    // Only administrators may trigger it through the API.
    let office = app.token("office").await;
    let r = app
        .post_json(
            "/api/v1/opinions/digest/send",
            Some(&office),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text());
    let admin = app.token("admin").await;
    let r = app
        .post_json(
            "/api/v1/opinions/digest/send",
            Some(&admin),
            &serde_json::json!({"date": "2026-13-01"}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(r.json()["details"][0]["field"], "date", "{}", r.text());
    let r = app
        .post_json(
            "/api/v1/opinions/digest/send",
            Some(&admin),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["sent"], 0);
    assert_eq!(r.json()["already_sent"], 4);
}

#[tokio::test]
async fn two_instances_at_once_send_each_digest_once() {
    let app = TestApp::spawn().await;
    overdue_item(&app).await;
    let other = app.second_instance().await;
    let a = yidu_app::router::opinions(app.db.clone(), &app.config).unwrap();
    let b = yidu_app::router::opinions(other.db.clone(), &app.config).unwrap();
    let system = Principal::system();
    let today = yidu_kernel::clock::to_china(now()).date();
    let (ra, rb) = tokio::join!(
        digest_send::send_daily(&a, &system, today, now()),
        digest_send::send_daily(&b, &system, today, now()),
    );
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(ra.sent + rb.sent, 4, "{ra:?} {rb:?}");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM digest_sends").await, 4);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM inbox WHERE kind = 'digest'").await,
        4
    );
}

#[tokio::test]
async fn the_command_sends_a_day_once() {
    let app = TestApp::spawn().await;
    overdue_item(&app).await;
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_yidu"))
            .args(args)
            .arg("--database")
            .arg(&app.config.database_url)
            .env("YIDU_LOG", "warn")
            .env(
                "YIDU_DATA",
                std::env::temp_dir().join(format!("yidu-digest-cli-{}", std::process::id())),
            )
            .output()
            .expect("run yidu");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    };
    let day = digest_send::china_day(now());
    let (ok, text) = run(&["digest", "send", "--date", &day]);
    assert!(ok, "{text}");
    assert!(text.contains("4 sent now"), "{text}");
    let (ok, text) = run(&["digest", "send"]);
    assert!(ok, "{text}");
    assert!(
        text.contains("0 sent now") && text.contains("4 already sent"),
        "{text}"
    );
    let (ok, text) = run(&["digest", "send", "--date", "yesterday"]);
    assert!(!ok && text.contains("YYYY-MM-DD"), "{text}");
}
