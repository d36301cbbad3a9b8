//! Pins down the behaviour of sqlx's Any driver that the stores rely on, on the backend
//! under test: `$n` placeholders (also reused and out of order), integer and text
//! decoding, NULLs, RETURNING, and that migrations go down and up again.

use yidu_db::{migrate, testing, Db, Row};

#[tokio::test]
async fn any_driver_behaves_the_same_on_both_backends() {
    let (url, _guard) = testing::fresh_database_url().await.unwrap();
    let db = Db::connect(&url).await.unwrap();
    migrate::run(&db).await.unwrap();
    assert_eq!(migrate::pending(&db).await.unwrap(), 0);

    let mut tx = db.begin().await.unwrap();
    let id: i64 = sqlx::query(
        "INSERT INTO regions (parent_id, level, name, path, created_at, updated_at)
         VALUES (NULL, $1, $2, '/', $3, $3) RETURNING id",
    )
    .bind("district")
    .bind("测试区")
    .bind(17_i64)
    .fetch_one(&mut *tx)
    .await
    .unwrap()
    .get(0);
    tx.commit().await.unwrap();

    let row = sqlx::query(
        "SELECT id, name, parent_id, geojson, created_at, retired FROM regions WHERE name = $2 AND level = $1",
    )
    .bind("district")
    .bind("测试区")
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(row.get::<i64, _>("id"), id);
    assert_eq!(row.get::<String, _>("name"), "测试区");
    assert_eq!(row.get::<Option<i64>, _>("parent_id"), None);
    assert_eq!(row.get::<Option<String>, _>("geojson"), None);
    assert_eq!(row.get::<i64, _>("created_at"), 17);
    assert_eq!(row.get::<i64, _>("retired"), 0);

    let n: i64 = sqlx::query("SELECT COUNT(*) FROM regions")
        .fetch_one(db.pool())
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
    let s: i64 = sqlx::query("SELECT CAST(COALESCE(SUM(created_at), 0) AS BIGINT) FROM regions")
        .fetch_one(db.pool())
        .await
        .unwrap()
        .get(0);
    assert_eq!(s, 17);

    let reverted = migrate::revert_to(&db, 0).await.unwrap();
    assert_eq!(reverted.len(), migrate::MIGRATIONS.len());
    assert_eq!(
        migrate::run(&db).await.unwrap().len(),
        migrate::MIGRATIONS.len()
    );
}

/// A nullable float bound first as NULL and then as a number through the same cached
/// statement on one connection: the order in which the driver's PostgreSQL bug bites
/// (see `yidu_db::opt_f64`). Both orders must store exactly what was given.
#[tokio::test]
async fn nullable_floats_bind_the_same_whichever_comes_first() {
    let (url, _guard) = testing::fresh_database_url().await.unwrap();
    let db = Db::connect(&url).await.unwrap();
    let mut conn = db.pool().acquire().await.unwrap();
    sqlx::query("CREATE TABLE float_probe (n BIGINT NOT NULL, x DOUBLE PRECISION)")
        .execute(&mut *conn)
        .await
        .unwrap();
    let values = [
        None,
        Some(39.9),
        None,
        Some(-116.404_123_456_789),
        Some(0.0),
    ];
    for (n, v) in values.iter().enumerate() {
        sqlx::query("INSERT INTO float_probe (n, x) VALUES ($1, CAST($2 AS DOUBLE PRECISION))")
            .bind(n as i64)
            .bind(yidu_db::opt_f64(*v))
            .execute(&mut *conn)
            .await
            .unwrap_or_else(|e| panic!("value {n} ({v:?}): {e}"));
    }
    let rows = sqlx::query("SELECT n, x FROM float_probe ORDER BY n")
        .fetch_all(&mut *conn)
        .await
        .unwrap();
    let back: Vec<Option<f64>> = rows.iter().map(|r| r.get("x")).collect();
    assert_eq!(back, values.to_vec());
    assert_eq!(
        yidu_db::opt_f64(Some(f64::NAN)),
        None,
        "no NaN reaches the database"
    );
}
