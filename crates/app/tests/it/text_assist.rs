//! Text assist at intake (issue 4): category and unit suggestions learned from the
//! deployment's own handled items, near duplicates for staff with a one-click merge, and
//! citizens' 同问. Short messages written for these tests only.

use crate::helpers::TestApp;
use serde_json::{json, Value};
use yidu_db::Row;
use yidu_opinions::assist::models::{self, DailyRun};
use yidu_text::Stop;

fn demo(app: &TestApp) -> &yidu_registry::demo::DemoSummary {
    &app.demo.as_ref().unwrap().summary
}

async fn spawn() -> TestApp {
    TestApp::spawn_demo_with(|c| {
        c.demo_history = 0;
        // Many submissions from the one test client.
        c.opinions.per_client_per_hour = 500;
    })
    .await
}

/// Submits through the deputy's code; returns (id, tracking number).
async fn submit(app: &TestApp, title: &str, body: &str) -> (i64, String) {
    let r = app
        .post_json(
            "/api/v1/opinions",
            None,
            &json!({"title": title, "body": body, "deputy_code": demo(app).deputy_code}),
        )
        .await;
    assert!(r.status == 200 || r.status == 201, "{}", r.text());
    let no = r.json()["tracking_no"].as_str().unwrap().to_string();
    let id: i64 = sqlx::query("SELECT id FROM opinions WHERE tracking_no = $1")
        .bind(&no)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    (id, no)
}

async fn mv(app: &TestApp, token: &str, id: i64, body: Value) {
    let r = app
        .post_json(&format!("/api/v1/opinions/{id}/moves"), Some(token), &body)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
}

async fn two_ids(app: &TestApp, sql: &str) -> (i64, i64) {
    let rows = sqlx::query(sql).fetch_all(app.db.pool()).await.unwrap();
    (rows[0].get(0), rows[1].get(0))
}

const LIGHTS: [&str; 6] = [
    "路灯坏了晚上很黑",
    "小区路灯不亮好几天",
    "路口路灯一直闪烁",
    "楼下路灯坏了没人修",
    "公园路灯晚上不亮",
    "路灯灯泡坏了需要更换",
];
const RUBBISH: [&str; 6] = [
    "垃圾桶满了没人清运",
    "垃圾堆在路边发臭",
    "小区垃圾好几天没收",
    "垃圾站气味太大",
    "楼道里堆满垃圾",
    "垃圾分类桶坏了",
];

#[tokio::test]
async fn suggestions_are_learned_from_handled_items_and_preselected() {
    let app = spawn().await;
    let office = app.token("office").await;
    let deputy = app.token("deputy1").await;
    let (cat_light, cat_rubbish) = two_ids(
        &app,
        "SELECT id FROM categories WHERE retired = 0 AND parent_id IS NOT NULL ORDER BY id LIMIT 2",
    )
    .await;
    let (unit_light, unit_rubbish) = two_ids(
        &app,
        "SELECT id FROM units WHERE retired = 0 ORDER BY id LIMIT 2",
    )
    .await;
    for (texts, cat, unit) in [
        (LIGHTS, cat_light, unit_light),
        (RUBBISH, cat_rubbish, unit_rubbish),
    ] {
        for t in texts {
            let (id, _) = submit(&app, t, &format!("{t}，请尽快处理")).await;
            mv(
                &app,
                &office,
                id,
                json!({"action": "accept", "category_id": cat}),
            )
            .await;
            mv(
                &app,
                &office,
                id,
                json!({"action": "assign", "unit_id": unit}),
            )
            .await;
        }
    }
    // No model ships: nothing is suggested before the first training.
    let (new_id, _) = submit(&app, "路灯又坏了", "我家门口的路灯晚上不亮").await;
    let r = app
        .get(&format!("/api/v1/opinions/{new_id}"), Some(&office))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.json()["assist"]["suggestions"]["category"].is_null());

    // Retraining is for the office and admin.
    let r = app
        .post_json("/api/v1/text/retrain", Some(&deputy), &json!({}))
        .await;
    assert_eq!(r.status, 403, "{}", r.text());
    let r = app
        .post_json("/api/v1/text/retrain", Some(&office), &json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let reports = r.json();
    assert_eq!(reports.as_array().unwrap().len(), 2, "{reports}");
    for rep in reports.as_array().unwrap() {
        assert!(rep["model_id"].as_i64().is_some(), "{rep}");
        assert_eq!(rep["items"], 12, "{rep}");
        assert_eq!(rep["labels"], 2, "{rep}");
    }
    let audited: i64 =
        sqlx::query("SELECT COUNT(*) FROM audit_log WHERE action = 'text_model_trained'")
            .fetch_one(app.db.pool())
            .await
            .unwrap()
            .get(0);
    assert_eq!(audited, 2);

    // The API and the staff page now suggest the category and the unit.
    let r = app
        .get(&format!("/api/v1/opinions/{new_id}"), Some(&office))
        .await;
    let s = &r.json()["assist"]["suggestions"];
    assert_eq!(s["category"]["id"], cat_light, "{s}");
    assert_eq!(s["unit"]["id"], unit_light, "{s}");
    let conf = s["category"]["confidence"].as_f64().unwrap();
    assert!(conf > 0.5 && conf <= 1.0, "{s}");
    let r = app
        .get(&format!("/api/v1/opinions/{new_id}/assist"), Some(&office))
        .await;
    assert_eq!(r.json()["suggestions"]["unit"]["id"], unit_light);

    let b = app.browser();
    b.login("office").await;
    let page = b.get(&format!("/staff/opinions/{new_id}")).await.text();
    assert!(page.contains("建议类别"), "{page}");
    if s["category"]["preselect"] == true {
        assert!(
            page.contains(&format!("<option value=\"{cat_light}\" selected>")),
            "category pre-selected"
        );
    }

    // A second instance loads the newest model from the database on its own.
    let second = app.second_instance().await;
    let r = second
        .get(&format!("/api/v1/opinions/{new_id}/assist"), Some(&office))
        .await;
    assert_eq!(r.json()["suggestions"]["category"]["id"], cat_light);

    // Someone outside the item's scope learns nothing.
    let dept = app.token("dept1").await;
    let r = app
        .get(&format!("/api/v1/opinions/{new_id}/assist"), Some(&dept))
        .await;
    assert_eq!(r.status, 404);

    // Models list for the office.
    let r = app.get("/api/v1/text/models", Some(&office)).await;
    assert_eq!(r.json().as_array().unwrap().len(), 2);

    // The staff page's button retrains too (office only).
    let page = b.get("/staff/text").await.text();
    assert!(page.contains("立即重新训练"), "{page}");
    let r = b.post_form("/staff/text", "/staff/text/retrain", &[]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let n: i64 = sqlx::query("SELECT COUNT(*) FROM text_models")
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 4);
    let town = app.browser();
    town.login("town1").await;
    assert_eq!(town.get("/staff/text").await.status, 403);
}

/// 同问 is rate-limited per client like submissions.
#[tokio::test]
async fn metoo_is_rate_limited() {
    let app = TestApp::spawn_demo_with(|c| {
        c.demo_history = 0;
        c.opinions.per_client_per_hour = 2;
    })
    .await;
    let (a, _) = submit(&app, "公交站台的顶棚漏雨", "公交站台的顶棚下雨天漏水").await;
    let (b, _) = submit(&app, "人行道地砖松动", "人行道上的地砖松动容易绊倒").await;
    for id in [a, b] {
        let r = app
            .post_json("/api/v1/citizen/metoo", None, &json!({"id": id}))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let r = app
        .post_json("/api/v1/citizen/metoo", None, &json!({"id": a}))
        .await;
    assert_eq!(r.status, 429, "{}", r.text());
}

#[tokio::test]
async fn too_few_handled_items_train_nothing() {
    let app = spawn().await;
    let office = app.token("office").await;
    let r = app
        .post_json("/api/v1/text/retrain", Some(&office), &json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    for rep in r.json().as_array().unwrap() {
        assert!(rep["model_id"].is_null(), "{rep}");
        assert!(
            rep["skipped"].as_str().unwrap().contains("too few"),
            "{rep}"
        );
    }
    let n: i64 = sqlx::query("SELECT COUNT(*) FROM text_models")
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0);
}

#[tokio::test]
async fn near_duplicates_merge_and_metoo() {
    let app = spawn().await;
    let office = app.token("office").await;
    let (a, a_no) = submit(
        &app,
        "幸福路小区门口路灯坏了",
        "幸福路小区门口的路灯坏了一个多月，晚上出门看不见路",
    )
    .await;
    let (b, _) = submit(
        &app,
        "幸福路小区门口的路灯坏了",
        "幸福路小区门口的路灯坏了一个多月了，晚上出门看不见",
    )
    .await;
    let (c, _) = submit(
        &app,
        "菜市场占道经营",
        "菜市场外面的摊贩占了人行道，行人只能走机动车道",
    )
    .await;

    let r = app
        .get(&format!("/api/v1/opinions/{b}/assist"), Some(&office))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let similar = r.json()["similar"].as_array().unwrap().clone();
    assert_eq!(similar[0]["id"], a, "{similar:?}");
    assert!(similar[0]["similarity"].as_f64().unwrap() >= 0.5);
    assert!(similar.iter().all(|s| s["id"] != c && s["id"] != b));

    // The citizen form's look-up, through the deputy's code as the form sends it: titles
    // only, no tracking number or text.
    let code = demo(&app).deputy_code.clone();
    let form = app.get(&format!("/c/d/{code}/new"), None).await.text();
    let url = format!("/api/v1/citizen/similar?deputy_code={code}&");
    assert!(
        form.contains(&format!(
            "data-similar=\"/api/v1/citizen/similar?deputy_code={code}"
        )),
        "{form}"
    );
    let r = app
        .get(
            &format!(
                "{url}title=%E5%B9%B8%E7%A6%8F%E8%B7%AF%E5%B0%8F%E5%8C%BA%E8%B7%AF%E7%81%AF%E5%9D%8F%E4%BA%86&body=%E9%97%A8%E5%8F%A3%E7%9A%84%E8%B7%AF%E7%81%AF%E5%9D%8F%E4%BA%86%E4%B8%80%E4%B8%AA%E5%A4%9A%E6%9C%88&grid_id="
            ),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let found = r.json();
    let list = found.as_array().unwrap();
    assert!(!list.is_empty() && list.len() <= 3, "{found}");
    assert!(list.iter().any(|s| s["id"] == a), "{found}");
    assert!(!found.to_string().contains(&a_no));
    assert!(!found.to_string().contains("看不见"));

    // 同问: no new item, the tracking number back, once per client.
    let before: i64 = sqlx::query("SELECT COUNT(*) FROM opinions")
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    let r = app
        .post_json("/api/v1/citizen/metoo", None, &json!({"id": a}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["tracking_no"], a_no.as_str());
    assert_eq!(r.json()["metoo"], 1);
    assert_eq!(r.json()["already"], false);
    let r = app
        .post_json("/api/v1/citizen/metoo", None, &json!({"id": a}))
        .await;
    assert_eq!(r.json()["metoo"], 1);
    assert_eq!(r.json()["already"], true);
    let after: i64 = sqlx::query("SELECT COUNT(*) FROM opinions")
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    assert_eq!(before, after);
    let r = app
        .get(&format!("/api/v1/opinions/{a}"), Some(&office))
        .await;
    assert_eq!(r.json()["metoo"], 1);
    let r = app.get("/api/v1/opinions?limit=50", Some(&office)).await;
    let row = r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == a)
        .cloned()
        .unwrap();
    assert_eq!(row["metoo"], 1);
    let r = app
        .post_json("/api/v1/citizen/metoo", None, &json!({"id": 999_999}))
        .await;
    assert_eq!(r.status, 404);

    // One-click merge from the staff page: B is merged into A with the existing move.
    let br = app.browser();
    br.login("office").await;
    let page = br.get(&format!("/staff/opinions/{b}")).await.text();
    assert!(
        page.contains("合并到此事项") && page.contains(&a_no),
        "{page}"
    );
    br.post_form(
        &format!("/staff/opinions/{b}"),
        &format!("/staff/opinions/{b}/moves"),
        &[
            ("action", "merge"),
            ("into_tracking_no", &a_no),
            ("note", ""),
        ],
    )
    .await;
    let r = app
        .get(&format!("/api/v1/opinions/{b}"), Some(&office))
        .await;
    assert_eq!(r.json()["status"], "merged", "{}", r.text());

    // The merged item leaves the index once it refreshes (at most a second later).
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let r = app
        .get(&format!("/api/v1/opinions/{a}/assist"), Some(&office))
        .await;
    let similar = r.json()["similar"].as_array().unwrap().clone();
    assert!(similar.iter().all(|s| s["id"] != b), "{similar:?}");
    let r = app
        .post_json("/api/v1/citizen/metoo", None, &json!({"id": b}))
        .await;
    assert_eq!(r.status, 409, "{}", r.text());
}

/// `yidu text retrain` trains from the database (here the demo's handled history).
#[tokio::test]
async fn retrain_from_the_command_line() {
    let app = TestApp::spawn_empty().await;
    let url = app.config.database_url.clone();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_yidu"))
            .args(args)
            .arg("--database")
            .arg(&url)
            .env("YIDU_LOG", "warn")
            .env("YIDU_DEMO_HISTORY", "300")
            .env(
                "YIDU_DATA",
                std::env::temp_dir().join(format!("yidu-text-data-{}", std::process::id())),
            )
            .output()
            .expect("run yidu")
    };
    let o = run(&["demo"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run(&["text", "retrain"]);
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "{out}");
    assert!(out.contains("trained model"), "{out}");
    let n: i64 = sqlx::query("SELECT COUNT(*) FROM text_models")
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    assert!(n >= 1);
}

/// The daily run: one instance claims the day, a second one trains nothing.
#[tokio::test]
async fn the_daily_run_trains_once_per_day() {
    // A few hundred handled items of the demo history to learn from.
    let app = TestApp::spawn_demo_with(|c| c.demo_history = 300).await;
    let o = yidu_app::router::opinions(app.db.clone(), &app.config).expect("opinions");
    let first = daily(&o, "2026-11-29").await;
    assert!(matches!(
        daily(&o, "2026-11-29").await,
        DailyRun::TakenElsewhere
    ));
    assert!(trained(&ran(first)) >= 1, "the first day trains");

    // After a restart, nothing new handled: the next day trains nothing.
    let restarted = yidu_app::router::opinions(app.db.clone(), &app.config).expect("opinions");
    let quiet = ran(daily(&restarted, "2026-11-30").await);
    assert_eq!(trained(&quiet), 0, "{quiet:?}");
    // Models that hold fewer items than were handled (training reads at most 50,000):
    // still nothing new, so still nothing to train.
    sqlx::query("UPDATE text_models SET items = items - 100")
        .execute(app.db.pool())
        .await
        .unwrap();
    let capped = ran(daily(&restarted, "2026-11-30b").await);
    assert_eq!(trained(&capped), 0, "{capped:?}");

    // A stored model in an older format (as after an upgrade) is replaced the next day.
    let rows = sqlx::query("SELECT id, bytes FROM text_models")
        .fetch_all(app.db.pool())
        .await
        .unwrap();
    for r in &rows {
        let mut bytes: Vec<u8> = r.get(1);
        bytes[8..12].copy_from_slice(&1u32.to_le_bytes());
        sqlx::query("UPDATE text_models SET bytes = $1 WHERE id = $2")
            .bind(bytes)
            .bind(r.get::<i64, _>(0))
            .execute(app.db.pool())
            .await
            .unwrap();
    }
    let upgraded = yidu_app::router::opinions(app.db.clone(), &app.config).expect("opinions");
    let replaced = ran(daily(&upgraded, "2026-12-01").await);
    assert_eq!(trained(&replaced), rows.len(), "{replaced:?}");
}

async fn daily(o: &yidu_opinions::Opinions, day: &str) -> DailyRun {
    models::scheduled(o, day, &Stop::new()).await.unwrap()
}

fn ran(run: DailyRun) -> Vec<models::TrainReport> {
    match run {
        DailyRun::Ran(reports) => reports,
        other => panic!("expected a run: {other:?}"),
    }
}

fn trained(reports: &[models::TrainReport]) -> usize {
    reports.iter().filter(|r| r.model_id.is_some()).count()
}

/// Shutdown during the daily training: stopped at any of its checks, the run stores no
/// half-trained model and gives the day back, so the next start trains what is due.
#[tokio::test]
async fn a_stopped_daily_run_gives_its_day_back() {
    let app = TestApp::spawn_demo_with(|c| c.demo_history = 300).await;
    let o = yidu_app::router::opinions(app.db.clone(), &app.config).expect("opinions");
    let db = &app.db;
    let count = move |sql: &'static str| async move {
        sqlx::query(sql)
            .fetch_one(db.pool())
            .await
            .unwrap()
            .get::<i64, _>(0)
    };
    let models_stored = || count("SELECT COUNT(*) FROM text_models");
    let claims = || count("SELECT COUNT(*) FROM text_train_runs WHERE day = '2026-12-02'");
    // Already set, then at the 1st, 20th and 200th check (all within the first kind: a
    // check that came after its training would leave its model stored).
    for checks in [0, 1, 20, 200] {
        let run = models::scheduled(&o, "2026-12-02", &Stop::after_checks(checks))
            .await
            .unwrap();
        assert!(matches!(run, DailyRun::Stopped), "{checks}: {run:?}");
        assert_eq!(models_stored().await, 0, "stopped at {checks}");
        assert_eq!(claims().await, 0, "the day is given back ({checks})");
    }
    let after = ran(daily(&o, "2026-12-02").await);
    assert!(trained(&after) >= 1, "{after:?}");
    assert_eq!(claims().await, 1);
}

/// The retraining minimums and the pre-selection threshold are the deployment's settings.
#[tokio::test]
async fn training_minimums_and_preselection_follow_the_settings() {
    let app = TestApp::spawn_demo_with(|c| {
        c.demo_history = 0;
        c.opinions.per_client_per_hour = 500;
        c.opinions.assist.train_min_per_label = 7;
        c.opinions.assist.train_min_items = 14;
        // Never sure enough to pre-select.
        c.opinions.assist.preselect_confidence = 1.0;
    })
    .await;
    let office = app.token("office").await;
    let (cat_light, cat_rubbish) = two_ids(
        &app,
        "SELECT id FROM categories WHERE retired = 0 AND parent_id IS NOT NULL ORDER BY id LIMIT 2",
    )
    .await;
    let handle = |texts: Vec<&'static str>, cat: i64| {
        let app = &app;
        let office = office.clone();
        async move {
            for t in texts {
                let (id, _) = submit(app, t, &format!("{t}，请尽快处理")).await;
                mv(
                    app,
                    &office,
                    id,
                    json!({"action": "accept", "category_id": cat}),
                )
                .await;
            }
        }
    };
    handle(LIGHTS.to_vec(), cat_light).await;
    handle(RUBBISH.to_vec(), cat_rubbish).await;
    // Six items per category, seven needed: both are left out, so nothing is trained.
    let r = app
        .post_json("/api/v1/text/retrain", Some(&office), &json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let cat = r.json()[0].clone();
    assert_eq!(cat["kind"], "category", "{cat}");
    assert!(cat["model_id"].is_null(), "{cat}");
    assert_eq!(cat["left_out_labels"], 2, "{cat}");
    assert!(
        cat["skipped"].as_str().unwrap().contains("7 items each"),
        "{cat}"
    );
    // The staff page states the settings.
    let b = app.browser();
    b.login("office").await;
    let page = b.get("/staff/text").await.text();
    assert!(page.contains("14"), "{page}");

    // One more each: trained, suggesting, but never pre-selected at 100 %.
    handle(vec!["门口路灯坏了三天"], cat_light).await;
    handle(vec!["垃圾桶三天没人倒"], cat_rubbish).await;
    let r = app
        .post_json("/api/v1/text/retrain", Some(&office), &json!({}))
        .await;
    let cat = r.json()[0].clone();
    assert!(cat["model_id"].as_i64().is_some(), "{cat}");
    assert_eq!(cat["items"], 14, "{cat}");
    let (new_id, _) = submit(&app, "路灯又坏了", "我家门口的路灯晚上不亮").await;
    let s = app
        .get(&format!("/api/v1/opinions/{new_id}/assist"), Some(&office))
        .await
        .json();
    let c = &s["suggestions"]["category"];
    assert_eq!(c["id"], cat_light, "{s}");
    assert_eq!(c["preselect"], false, "{s}");
}
