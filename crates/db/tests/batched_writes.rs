//! `Db::write_batched` on the backend under test: requests queued while a batch is
//! written form the next batch, written with one statement; a request that makes its
//! batch fail fails alone (the others are written one by one and succeed); with batching
//! switched off each request is its own job.

use std::time::Duration;
use yidu_db::{testing, Batch, BoxFuture, Db, DbOptions, GroupCommit, Row, Tx};

/// Inserts ids into `bw_item`; an item may hold the transaction for a while so that
/// others queue up behind its batch.
struct Items;

struct Item {
    id: i64,
    hold: Duration,
}

impl Batch for Items {
    type Item = Item;
    type Out = i64;
    type Err = sqlx::Error;

    fn write_many<'c>(
        tx: &'c mut Tx,
        items: &'c [Item],
    ) -> BoxFuture<'c, Result<Vec<i64>, sqlx::Error>> {
        Box::pin(async move {
            if let Some(hold) = items.iter().map(|i| i.hold).max() {
                tokio::time::sleep(hold).await;
            }
            let marks: Vec<String> = (1..=items.len()).map(|i| format!("(${i})")).collect();
            let sql = format!("INSERT INTO bw_item (id) VALUES {}", marks.join(", "));
            let mut q = sqlx::query(&sql);
            for i in items {
                q = q.bind(i.id);
            }
            q.execute(&mut **tx).await?;
            Ok(items.iter().map(|i| i.id).collect())
        })
    }

    fn write_one<'c>(tx: &'c mut Tx, item: &'c Item) -> BoxFuture<'c, Result<i64, sqlx::Error>> {
        Box::pin(async move {
            sqlx::query("INSERT INTO bw_item (id) VALUES ($1)")
                .bind(item.id)
                .execute(&mut **tx)
                .await?;
            Ok(item.id)
        })
    }
}

async fn setup(batch_requests: bool) -> (Db, testing::TempGuard) {
    let (url, guard) = testing::fresh_database_url().await.unwrap();
    let opts = DbOptions {
        group_commit: GroupCommit {
            batch_requests,
            ..GroupCommit::default()
        },
        ..DbOptions::default()
    };
    let db = Db::connect_with(&url, &opts).await.unwrap();
    let mut tx = db.begin().await.unwrap();
    sqlx::query("CREATE TABLE bw_item (id BIGINT PRIMARY KEY)")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    (db, guard)
}

async fn ids(db: &Db) -> Vec<i64> {
    sqlx::query("SELECT id FROM bw_item ORDER BY id")
        .fetch_all(db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// Sends items `ids`, the first holding its batch for 300 ms so the rest queue behind it.
async fn send(db: &Db, ids: std::ops::RangeInclusive<i64>) -> Vec<Result<i64, sqlx::Error>> {
    let mut handles = Vec::new();
    for id in ids {
        let db = db.clone();
        let hold = Duration::from_millis(if handles.is_empty() { 300 } else { 0 });
        handles.push(tokio::spawn(async move {
            db.write_batched::<Items>(Item { id, hold }).await
        }));
        if handles.len() == 1 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_requests_form_one_batch_and_each_gets_its_answer() {
    let (db, _g) = setup(true).await;
    let before = db.write_stats();
    let out = send(&db, 1..=30).await;
    for (i, r) in out.iter().enumerate() {
        assert_eq!(*r.as_ref().unwrap(), i as i64 + 1);
    }
    assert_eq!(ids(&db).await, (1..=30).collect::<Vec<_>>());
    let s = db.write_stats();
    assert_eq!(s.batched_requests - before.batched_requests, 30);
    // The first alone, the 29 queued behind it together (at most a straggler apart).
    let batches = s.batches - before.batches;
    assert!(
        (2..=3).contains(&batches),
        "{batches} batches for 30 requests"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_fails_its_batch_fails_alone() {
    let (db, _g) = setup(true).await;
    db.write_batched::<Items>(Item {
        id: 7,
        hold: Duration::ZERO,
    })
    .await
    .unwrap();
    let out = send(&db, 1..=12).await;
    for (i, r) in out.iter().enumerate() {
        let id = i as i64 + 1;
        match id {
            7 => assert!(r.is_err(), "7 was taken: its own error"),
            _ => assert_eq!(*r.as_ref().unwrap(), id, "the others are written"),
        }
    }
    assert_eq!(ids(&db).await, (1..=12).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switched_off_each_request_is_its_own_job() {
    let (db, _g) = setup(false).await;
    let before = db.write_stats();
    let out = send(&db, 1..=10).await;
    assert!(out.iter().all(|r| r.is_ok()));
    assert_eq!(ids(&db).await.len(), 10);
    let s = db.write_stats();
    assert_eq!(s.batches - before.batches, 0);
    assert_eq!(s.jobs - before.jobs, 10);
}
