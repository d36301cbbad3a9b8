//! Every state change is audited, records are scoped, and tampering is detected.

use crate::helpers::TestApp;
use serde_json::json;

#[tokio::test]
async fn changes_are_audited_and_the_chain_verifies() {
    let app = TestApp::spawn().await;
    let admin = app.token("admin").await;
    let r = app
        .get("/api/v1/audit?action=user.create&per_page=50", Some(&admin))
        .await;
    assert_eq!(r.status, 200);
    assert!(
        r.json()["total"].as_i64().unwrap() >= 6,
        "demo accounts audited"
    );
    let login = app
        .get("/api/v1/audit?action=user.login&actor=admin", Some(&admin))
        .await
        .json();
    assert!(login["total"].as_i64().unwrap() >= 1);

    let report = yidu_audit::verify(&app.db).await.unwrap();
    assert!(report.first_problem.is_none(), "{report:?}");
    assert!(report.records > 5);
}

#[tokio::test]
async fn audit_reading_is_scoped() {
    let app = TestApp::spawn().await;
    let station = app.token("station1").await;
    assert_eq!(app.get("/api/v1/audit", Some(&station)).await.status, 403);
    let town = app.token("town1").await;
    let items = app
        .get("/api/v1/audit?per_page=500", Some(&town))
        .await
        .json();
    let scope = app.get("/api/v1/me", Some(&town)).await.json()["scope_path"]
        .as_str()
        .unwrap()
        .to_string();
    for it in items["items"].as_array().unwrap() {
        assert!(
            it["region_path"].as_str().unwrap().starts_with(&scope),
            "{it}"
        );
    }
    let bad = app.get("/api/v1/audit?from=yesterday", Some(&town)).await;
    assert_eq!(bad.status, 422);
    assert_eq!(bad.json()["details"][0]["field"], "from");
}

async fn exec(app: &TestApp, sql: &str) {
    let mut tx = app.db.begin().await.unwrap();
    sqlx::query(sql).execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn a_changed_record_is_named_by_verify() {
    let app = TestApp::spawn().await;
    let id: i64 = {
        use yidu_db::Row;
        sqlx::query("SELECT id FROM audit_log ORDER BY id LIMIT 1 OFFSET 2")
            .fetch_one(app.db.pool())
            .await
            .unwrap()
            .get(0)
    };
    exec(
        &app,
        &format!("UPDATE audit_log SET summary = 'nothing happened' WHERE id = {id}"),
    )
    .await;
    let report = yidu_audit::verify(&app.db).await.unwrap();
    let p = report.first_problem.expect("tampering detected");
    assert_eq!(p.record_id, Some(id));
}

#[tokio::test]
async fn a_removed_record_and_a_cut_tail_are_detected() {
    let app = TestApp::spawn().await;
    let admin = app.token("admin").await;
    app.post_json("/api/v1/auth/logout", Some(&admin), &json!({}))
        .await;
    exec(
        &app,
        "DELETE FROM audit_log WHERE id = (SELECT MIN(id) + 1 FROM audit_log)",
    )
    .await;
    let p = yidu_audit::verify(&app.db)
        .await
        .unwrap()
        .first_problem
        .expect("gap detected");
    assert!(p.reason_en.contains("missing"), "{p:?}");

    let app = TestApp::spawn().await;
    exec(
        &app,
        "DELETE FROM audit_log WHERE id = (SELECT MAX(id) FROM audit_log)",
    )
    .await;
    let p = yidu_audit::verify(&app.db)
        .await
        .unwrap()
        .first_problem
        .expect("cut tail detected");
    assert!(p.reason_en.contains("end of the chain"), "{p:?}");
}
