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
