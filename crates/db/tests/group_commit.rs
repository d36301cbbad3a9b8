//! `Db::write` on the backend under test: concurrent jobs share commits on SQLite (and get
//! a transaction each on PostgreSQL), a failing job takes back only its own writes and
//! gets its own error, a job is all or nothing, and a failed COMMIT answers every job of
//! its batch with an error.

use std::time::Duration;
use yidu_db::{testing, Backend, Db, Row, Tx};

#[derive(Debug)]
enum Failure {
    Sql(sqlx::Error),
    Refused,
}

impl From<sqlx::Error> for Failure {
    fn from(e: sqlx::Error) -> Self {
        Failure::Sql(e)
    }
}

async fn setup() -> (Db, testing::TempGuard) {
    let (url, guard) = testing::fresh_database_url().await.unwrap();
    let db = Db::connect(&url).await.unwrap();
    let mut tx = db.begin().await.unwrap();
    for ddl in [
        "CREATE TABLE gc_parent (id BIGINT PRIMARY KEY)",
        "CREATE TABLE gc_item (id BIGINT PRIMARY KEY, note TEXT NOT NULL)",
        // Checked at COMMIT only: the way to make a COMMIT fail on both engines.
        "CREATE TABLE gc_child (id BIGINT PRIMARY KEY,
            parent_id BIGINT NOT NULL REFERENCES gc_parent (id) DEFERRABLE INITIALLY DEFERRED)",
    ] {
        sqlx::query(ddl).execute(&mut *tx).await.unwrap();
    }
    tx.commit().await.unwrap();
    (db, guard)
}

async fn insert(tx: &mut Tx, table: &str, id: i64) -> Result<(), sqlx::Error> {
    let sql = match table {
        "gc_child" => "INSERT INTO gc_child (id, parent_id) VALUES ($1, $1)",
        _ => "INSERT INTO gc_item (id, note) VALUES ($1, 'x')",
    };
    sqlx::query(sql).bind(id).execute(&mut **tx).await?;
    Ok(())
}

async fn ids(db: &Db, table: &str) -> Vec<i64> {
    sqlx::query(&format!("SELECT id FROM {table} ORDER BY id"))
        .fetch_all(db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// Writes one item. On SQLite the first job of a test holds the writer for a while so
/// that the others queue behind it and form one batch.
fn spawn_item(db: &Db, id: i64, hold: Duration) -> tokio::task::JoinHandle<Result<i64, Failure>> {
    let db = db.clone();
    tokio::spawn(async move {
        db.write(move |tx| {
            Box::pin(async move {
                insert(tx, "gc_item", id).await?;
                tokio::time::sleep(hold).await;
                Ok::<_, Failure>(id)
            })
        })
        .await
    })
}

/// Lets the holder start before the rest are sent.
async fn after_holder() {
    tokio::time::sleep(Duration::from_millis(50)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_jobs_share_commits_and_each_gets_its_own_answer() {
    let (db, _g) = setup().await;
    let before = db.write_stats();
    let holder = spawn_item(&db, 1000, Duration::from_millis(300));
    after_holder().await;
    let rest: Vec<_> = (1..=40)
        .map(|i| spawn_item(&db, i, Duration::ZERO))
        .collect();
    assert_eq!(holder.await.unwrap().unwrap(), 1000);
    for (i, h) in rest.into_iter().enumerate() {
        assert_eq!(
            h.await.unwrap().unwrap(),
            i as i64 + 1,
            "each job its own result"
        );
    }
    assert_eq!(ids(&db, "gc_item").await.len(), 41);
    let s = db.write_stats();
    let (jobs, commits) = (s.jobs - before.jobs, s.commits - before.commits);
    assert_eq!(jobs, 41);
    match db.backend() {
        // The 40 queued behind the holder: at most a few commits, not 41.
        Backend::Sqlite => assert!(commits <= 3, "{commits} commits for 41 jobs"),
        Backend::Postgres => assert_eq!(commits, 41, "one transaction per job"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_job_takes_back_only_its_own_writes() {
    let (db, _g) = setup().await;
    let holder = spawn_item(&db, 1000, Duration::from_millis(300));
    after_holder().await;
    let mut handles = Vec::new();
    for i in 1..=9_i64 {
        let db = db.clone();
        handles.push(tokio::spawn(async move {
            db.write(move |tx| {
                Box::pin(async move {
                    insert(tx, "gc_item", i).await?;
                    match i {
                        // Written, then a duplicate key: the SQL error is the job's answer.
                        3 => insert(tx, "gc_item", 1000).await?,
                        // Written, then refused by the job's own logic.
                        6 => return Err(Failure::Refused),
                        _ => {}
                    }
                    Ok(i)
                })
            })
            .await
        }));
    }
    holder.await.unwrap().unwrap();
    for (i, h) in (1..=9_i64).zip(handles) {
        match (i, h.await.unwrap()) {
            (3, Err(Failure::Sql(e))) => {
                assert!(e
                    .as_database_error()
                    .is_some_and(|d| d.is_unique_violation()))
            }
            (6, Err(Failure::Refused)) => {}
            (i, Ok(v)) if i != 3 && i != 6 => assert_eq!(v, i),
            (i, other) => panic!("job {i}: {other:?}"),
        }
    }
    assert_eq!(
        ids(&db, "gc_item").await,
        vec![1, 2, 4, 5, 7, 8, 9, 1000],
        "jobs 3 and 6 left nothing behind, the others all their rows"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_is_all_or_nothing_even_when_it_panics() {
    let (db, _g) = setup().await;
    let r = db
        .write(|tx| {
            Box::pin(async move {
                for id in 1..=3 {
                    insert(tx, "gc_item", id).await?;
                }
                Err::<(), _>(Failure::Refused)
            })
        })
        .await;
    assert!(matches!(r, Err(Failure::Refused)));
    assert!(ids(&db, "gc_item").await.is_empty());

    // A job that panics halfway is answered with an error; the writer carries on.
    let db2 = db.clone();
    let panicked = tokio::spawn(async move {
        db2.write(|tx| {
            Box::pin(async move {
                insert(tx, "gc_item", 7).await?;
                // black_box: a bug the compiler cannot see coming.
                if std::hint::black_box(true) {
                    panic!("job fails halfway");
                }
                Ok::<_, Failure>(())
            })
        })
        .await
    })
    .await;
    // On SQLite the writer catches the panic and answers with an error; on PostgreSQL
    // the panic unwinds into the caller's task, as any panic would.
    match db.backend() {
        Backend::Sqlite => assert!(matches!(panicked, Ok(Err(Failure::Sql(_))))),
        Backend::Postgres => assert!(panicked.is_err()),
    }
    let ok = db
        .write(|tx| Box::pin(async move { insert(tx, "gc_item", 8).await.map_err(Failure::from) }))
        .await;
    assert!(ok.is_ok(), "{ok:?}");
    assert_eq!(ids(&db, "gc_item").await, vec![8]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_commit_answers_every_job_of_its_batch_with_an_error() {
    let (db, _g) = setup().await;
    let holder = spawn_item(&db, 1000, Duration::from_millis(300));
    after_holder().await;
    let mut handles = Vec::new();
    for i in 1..=5_i64 {
        let db = db.clone();
        handles.push(tokio::spawn(async move {
            db.write(move |tx| {
                Box::pin(async move {
                    // Job 4's child names no parent: fine until the COMMIT checks it.
                    let table = if i == 4 { "gc_child" } else { "gc_item" };
                    insert(tx, table, i).await?;
                    Ok::<_, Failure>(i)
                })
            })
            .await
        }));
    }
    let holder = holder.await.unwrap();
    let answers: Vec<_> = futures_join(handles).await;
    match db.backend() {
        Backend::Sqlite => {
            assert!(holder.is_err(), "the holder shared the failed commit");
            for (i, a) in answers.iter().enumerate() {
                assert!(a.is_err(), "job {} must not be acknowledged", i + 1);
            }
            assert!(
                ids(&db, "gc_item").await.is_empty(),
                "nothing of the batch stored"
            );
        }
        Backend::Postgres => {
            assert!(holder.is_ok());
            for (i, a) in (1..).zip(&answers) {
                assert_eq!(a.is_err(), i == 4, "job {i}: {a:?}");
            }
            assert_eq!(ids(&db, "gc_item").await, vec![1, 2, 3, 5, 1000]);
        }
    }
    assert!(ids(&db, "gc_child").await.is_empty());
    // The writer still works after a failed batch.
    let after = spawn_item(&db, 77, Duration::ZERO).await.unwrap();
    assert_eq!(after.unwrap(), 77);
}

async fn futures_join<T>(handles: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

/// The SQLite writer gives back its page cache once it has been idle a while, once per
/// idle spell, and writes on afterwards as before.
#[tokio::test]
async fn the_idle_writer_gives_back_its_cache_once_and_writes_on() {
    let (url, _guard) = testing::fresh_database_url().await.unwrap();
    let opts = yidu_db::DbOptions {
        group_commit: yidu_db::GroupCommit {
            idle_shrink_after: Duration::from_millis(150),
            ..yidu_db::GroupCommit::default()
        },
        ..yidu_db::DbOptions::default()
    };
    let db = Db::connect_with(&url, &opts).await.unwrap();
    if db.backend() != yidu_db::Backend::Sqlite {
        return; // PostgreSQL has no writer task: each job is its own transaction.
    }
    let mut tx = db.begin().await.unwrap();
    sqlx::query("CREATE TABLE gc_item (id BIGINT PRIMARY KEY, note TEXT NOT NULL)")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let write =
        |id: i64| db.write(move |tx| Box::pin(async move { insert(tx, "gc_item", id).await }));
    write(1).await.unwrap();
    assert_eq!(db.write_stats().shrinks, 0, "busy: nothing given back yet");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        db.write_stats().shrinks,
        1,
        "idle: given back once, not every 150 ms"
    );
    write(2).await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(db.write_stats().shrinks, 2, "idle again after the next job");
    assert_eq!(ids(&db, "gc_item").await, vec![1, 2]);
}

/// A job that reads before it writes, while another connection writes meanwhile (the
/// background workers still write through the reader pool): the writer's transaction
/// holds the write lock from its start, so the other write waits its turn and both go
/// through. A deferred transaction failed here with SQLITE_BUSY_SNAPSHOT, and took
/// every job of its group commit with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_reads_first_is_not_undone_by_a_write_elsewhere() {
    let (db, _guard) = setup().await;
    if db.backend() != yidu_db::Backend::Sqlite {
        return; // PostgreSQL has no writer task: each job is its own transaction.
    }
    let job = db.write(|tx| {
        Box::pin(async move {
            sqlx::query("SELECT COUNT(*) FROM gc_item")
                .fetch_one(&mut **tx)
                .await?;
            tokio::time::sleep(Duration::from_millis(300)).await;
            insert(tx, "gc_item", 1).await
        })
    });
    let elsewhere = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        sqlx::query("INSERT INTO gc_parent (id) VALUES (7)")
            .execute(db.pool())
            .await
    };
    let (job, elsewhere) = tokio::join!(job, elsewhere);
    job.unwrap();
    elsewhere.unwrap();
    assert_eq!(ids(&db, "gc_item").await, vec![1]);
    assert_eq!(ids(&db, "gc_parent").await, vec![7]);
}

/// Shortly after the writer commits, a background checkpoint copies the WAL into the
/// database file (the writer's own, at 40,000 pages, is far off here).
#[tokio::test]
async fn commits_are_checkpointed_in_the_background() {
    let (db, _guard) = setup().await;
    if db.backend() != yidu_db::Backend::Sqlite {
        return; // PostgreSQL checkpoints by itself.
    }
    for id in 1..=20 {
        db.write(move |tx| Box::pin(async move { insert(tx, "gc_item", id).await }))
            .await
            .unwrap();
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while db.write_stats().checkpoints == 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(db.write_stats().checkpoints >= 1, "{:?}", db.write_stats());
    tokio::time::sleep(yidu_db::checkpoint::CHECKPOINT_AFTER * 4).await;
    // Every frame in the WAL is in the database file: nothing left for a checkpoint.
    let row = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
        .fetch_one(db.pool())
        .await
        .unwrap();
    let (log, done): (i64, i64) = (row.get(1), row.get(2));
    assert!(log > 0, "the writes went through the WAL");
    assert_eq!(done, log, "all {log} frames were already copied");
    assert_eq!(ids(&db, "gc_item").await.len(), 20);
}
