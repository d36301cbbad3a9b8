//! Tracking numbers are random: a new one that is already an item's makes that attempt
//! store nothing (the submission is then tried again with new numbers, see
//! `submit::TRACKING_ATTEMPTS`), never a half-written item.

use super::{codes, count, count_no, post_opinion, seeded};
use serde_json::json;
use yidu_opinions::model::{Channel, Submission};
use yidu_opinions::service::submit::{self, Refusal};

#[tokio::test]
async fn a_taken_tracking_number_stores_nothing_and_asks_for_new_numbers() {
    let app = seeded().await;
    let (deputy, _) = codes(&app);
    let body =
        json!({"deputy_code": deputy, "title": "路灯不亮", "body": "小区门口路灯坏了一个月"});
    let first = post_opinion(&app, &body, None).await;
    assert_eq!(first.status, 200, "{}", first.text());
    let taken = first.json()["tracking_no"].as_str().unwrap().to_string();
    let before = count(&app).await;
    let audits_before = audits(&app).await;

    let o = yidu_app::router::opinions(app.db.clone(), &app.config).unwrap();
    let input: Submission = serde_json::from_value(body.clone()).unwrap();
    let mut p = submit::prepare(
        &o,
        Channel::Deputy(deputy),
        &input,
        &[],
        "198.51.100.7",
        Some("k-1"),
    )
    .await
    .unwrap();
    p.receipt.tracking_no = taken.clone();
    let mut tx = app.db.begin().await.unwrap();
    let out = submit::write_rows(&mut tx, &o, &p).await;
    assert!(matches!(out, Err(Refusal::TrackingTaken)), "{out:?}");
    drop(tx);

    assert_eq!(count(&app).await, before, "no second item");
    assert_eq!(count_no(&app, &taken).await, 1);
    assert_eq!(audits(&app).await, audits_before, "nothing audited");

    // The same idempotency key is still free: the retry with new numbers goes through.
    let again = post_opinion(&app, &body, Some("k-1")).await;
    assert_eq!(again.status, 200, "{}", again.text());
    assert_ne!(again.json()["tracking_no"].as_str().unwrap(), taken);
    assert_eq!(count(&app).await, before + 1);
}

async fn audits(app: &crate::helpers::TestApp) -> i64 {
    use yidu_db::Row;
    sqlx::query("SELECT COUNT(*) FROM audit_log WHERE action = 'opinion.submit'")
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0)
}
