//! A class rebuild asked to stop (the server shutting down while the worker rebuilds)
//! gives up without writing anything, at whichever of its checks the request finds it, and
//! the worker leaves its watermark for the next start.

use crate::classes::{class_of, classes, demo, world};
use crate::helpers::TestApp;
use yidu_audit::Actor;
use yidu_classes::service::cluster::{rebuild, Rebuilt};
use yidu_classes::service::stream::Stop;
use yidu_classes::worker::Worker;
use yidu_db::Row;

/// Rows of the room's tables, its audit entries and its counters (watermarks, generation).
async fn written(app: &TestApp) -> Vec<i64> {
    let mut out = Vec::new();
    for sql in [
        "SELECT COUNT(*) FROM classes",
        "SELECT COUNT(*) FROM class_members",
        "SELECT COUNT(*) FROM audit_log WHERE action LIKE 'class.%'",
        "SELECT CAST(COALESCE(SUM(num), 0) AS BIGINT) FROM class_state",
        "SELECT COUNT(*) FROM class_state",
    ] {
        let n: i64 = sqlx::query(sql)
            .fetch_one(app.db.pool())
            .await
            .unwrap()
            .get(0);
        out.push(n);
    }
    out
}

#[tokio::test]
async fn a_stopped_rebuild_writes_nothing_at_any_of_its_checks() {
    let app = TestApp::spawn().await;
    let office = app.token("office").await;
    let w = world(&app).await;
    let c = classes(&app);
    let district = demo(&app).district_id;
    let actor = Actor::system("test");
    let before = written(&app).await;

    // Stop at the first check, the second, ...: every stop leaves the tables as they were,
    // until the rebuild has more checks than the budget and finishes.
    let mut checks = 0;
    let report = loop {
        let stop = Stop::after_checks(checks);
        match rebuild(&c, district, &actor, &stop).await.unwrap() {
            Rebuilt::Stopped => {
                assert!(stop.is_stopped());
                assert_eq!(written(&app).await, before, "stopped at check {checks}");
            }
            Rebuilt::Done(report, model) => {
                assert!(!model.is_empty());
                break report;
            }
        }
        checks += 1;
        assert!(checks < 1_000, "the rebuild never finished");
    };
    // Each pass over the window and the writing checks at least once.
    assert!(checks >= 4, "{checks} checks");
    assert_eq!(report.proposed, 2, "{report:?}");
    assert_ne!(written(&app).await, before);
    assert!(class_of(&app, &office, w.light[0].id).await.is_some());
}

#[tokio::test]
async fn a_stopped_worker_leaves_its_watermark() {
    let app = TestApp::spawn().await;
    let office = app.token("office").await;
    let w = world(&app).await;
    let before = written(&app).await;

    let mut worker = Worker::new(classes(&app));
    worker.stop_handle().stop();
    let round = worker.run_once().await.unwrap();
    assert!(round.leader && round.stopped, "{round:?}");
    // Only the 同问 watermark may have been created; nothing about classes.
    let after = written(&app).await;
    assert_eq!(after[..3], before[..3]);
    assert_eq!(class_of(&app, &office, w.light[0].id).await, None);
    worker.release().await;

    // The next worker (a restarted server) does the work the stopped one gave up.
    let mut next = Worker::new(classes(&app));
    let round = next.run_once().await.unwrap();
    assert!(round.leader && !round.stopped, "{round:?}");
    assert!(round.placed >= 7, "{round:?}");
    assert!(class_of(&app, &office, w.light[0].id).await.is_some());
}

/// The worker's lease and watermarks go through the writer (a job of the group commit on
/// SQLite), never through a reader connection, where a write waited for the writer's lock
/// and held the writer up in turn: with readers that refuse writes, a round still runs.
#[tokio::test]
async fn a_worker_round_writes_only_through_the_writer() {
    let app = TestApp::spawn_demo_with(|c| c.sqlite_readers_query_only = true).await;
    world(&app).await;
    let mut worker = Worker::new(classes(&app));
    let round = worker.run_once().await.unwrap();
    assert!(round.leader && round.items > 0, "{round:?}");
    let watermark: i64 =
        sqlx::query("SELECT num FROM class_state WHERE name = 'watermark:opinion'")
            .fetch_one(app.db.pool())
            .await
            .unwrap()
            .get(0);
    assert!(watermark > 0, "the watermark moved");
    worker.release().await;
    let lease: i64 = sqlx::query("SELECT until_at FROM class_state WHERE name = 'lease'")
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    assert_eq!(lease, 0, "released through the writer");
}
