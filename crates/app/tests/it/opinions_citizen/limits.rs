//! Rate limits, categories and idempotency keys are checked where a submission is
//! written, in the transaction that stores it (`submit::refusals`): submissions written
//! together in one batch count against each other, and a resend past the limit still
//! gets its first receipt.

use super::{count, post_opinion};
use crate::helpers::TestApp;
use serde_json::json;
use yidu_kernel::AppError;
use yidu_opinions::model::{Channel, Submission};
use yidu_opinions::service::submit::{self, Refusal};

/// An app with the demo district and the given limits; its first deputy's code.
async fn limited(set: impl FnOnce(&mut yidu_app::config::Config)) -> (TestApp, String) {
    let app = TestApp::spawn_with(set).await;
    let demo = yidu_app::demo::load(&app.db, &app.config).await.unwrap();
    (app, demo.summary.deputy_code.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_submissions_from_one_address_stop_at_the_limit() {
    let (app, deputy) = limited(|c| c.opinions.per_client_per_hour = 2).await;
    let before = count(&app).await;
    let body =
        |n: u32| json!({"deputy_code": deputy, "title": format!("问题{n}"), "body": "路灯坏了"});
    let bodies: Vec<_> = (1..=6).map(body).collect();
    let (a, b, c, d, e, f) = tokio::join!(
        post_opinion(&app, &bodies[0], None),
        post_opinion(&app, &bodies[1], None),
        post_opinion(&app, &bodies[2], None),
        post_opinion(&app, &bodies[3], None),
        post_opinion(&app, &bodies[4], None),
        post_opinion(&app, &bodies[5], None),
    );
    let statuses: Vec<u16> = [&a, &b, &c, &d, &e, &f].iter().map(|r| r.status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        2,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        4,
        "{statuses:?}"
    );
    assert_eq!(count(&app).await, before + 2);
}

#[tokio::test]
async fn a_resend_past_the_limit_gets_its_first_receipt() {
    let (app, deputy) = limited(|c| c.opinions.per_client_per_hour = 1).await;
    let body = json!({"deputy_code": deputy, "title": "井盖丢失", "body": "路口井盖不见了"});
    let first = post_opinion(&app, &body, Some("k-once")).await;
    assert_eq!(first.status, 200, "{}", first.text());
    let before = count(&app).await;
    let again = post_opinion(&app, &body, Some("k-once")).await;
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(
        again.json(),
        first.json(),
        "the first receipt, query code included"
    );
    let other = post_opinion(&app, &body, Some("k-other")).await;
    assert_eq!(other.status, 429, "{}", other.text());
    assert_eq!(count(&app).await, before, "nothing new stored");
}

/// The same checks hold for a submission written alone (after a failed batch, and the
/// benchmark's baseline): a retired category and a phone past its daily limit refuse it,
/// and nothing of it is stored.
#[tokio::test]
async fn a_submission_written_alone_is_checked_the_same_way() {
    let (app, deputy) = limited(|c| c.opinions.per_phone_per_day = 1).await;
    yidu_opinions::service::categories::seed_default_if_empty(&app.db)
        .await
        .unwrap();
    let o = yidu_app::router::opinions(app.db.clone(), &app.config).unwrap();
    let input: Submission = serde_json::from_value(json!({
        "deputy_code": deputy, "title": "噪音", "body": "夜里施工",
        "name": "李女士", "phone": "13900001111", "consent": true
    }))
    .unwrap();
    let prepared = |client: &'static str| {
        let (o, input, deputy) = (o.clone(), input.clone(), deputy.clone());
        async move {
            submit::prepare(&o, Channel::Deputy(deputy), &input, &[], client, None)
                .await
                .unwrap()
        }
    };
    let p1 = prepared("198.51.100.20").await;
    let mut tx = app.db.begin().await.unwrap();
    submit::write_rows(&mut tx, &o, &p1).await.unwrap();
    tx.commit().await.unwrap();
    let before = count(&app).await;

    // The same phone from another address: the phone's daily limit refuses it.
    let p2 = prepared("198.51.100.21").await;
    let mut tx = app.db.begin().await.unwrap();
    let out = submit::write_rows(&mut tx, &o, &p2).await;
    assert!(
        matches!(out, Err(Refusal::App(AppError::RateLimited))),
        "{out:?}"
    );
    drop(tx);
    assert_eq!(count(&app).await, before);

    // A category retired after the form was prepared refuses it with the field named.
    let cat: i64 = sqlx::query("SELECT id FROM categories WHERE parent_id IS NOT NULL ORDER BY id")
        .fetch_one(app.db.pool())
        .await
        .map(|r| yidu_db::Row::get(&r, 0))
        .unwrap();
    let with_cat = Submission {
        category_id: Some(cat),
        name: String::new(),
        phone: String::new(),
        consent: false,
        ..input.clone()
    };
    let p3 = submit::prepare(
        &o,
        Channel::Deputy(deputy.clone()),
        &with_cat,
        &[],
        "198.51.100.22",
        None,
    )
    .await
    .unwrap();
    sqlx::query("UPDATE categories SET retired = 1 WHERE id = $1")
        .bind(cat)
        .execute(app.db.pool())
        .await
        .unwrap();
    let mut tx = app.db.begin().await.unwrap();
    let out = submit::write_rows(&mut tx, &o, &p3).await;
    match out {
        Err(Refusal::App(AppError::Validation(fields))) => {
            assert_eq!(fields[0].field, "category_id", "{fields:?}")
        }
        other => panic!("{other:?}"),
    }
    drop(tx);
    assert_eq!(count(&app).await, before);
}
