//! The SQLite and PostgreSQL migration trees must give the same schema: same tables,
//! same columns with the same type class and nullability, same named indexes.

use std::collections::BTreeMap;
use yidu_db::{migrate, Db, Row};

type Schema = BTreeMap<String, BTreeMap<String, (String, bool)>>;

fn type_class(t: &str) -> String {
    let t = t.to_ascii_lowercase();
    if t.contains("int") {
        "integer".into()
    } else if t.contains("char") || t.contains("text") {
        "text".into()
    } else if t.contains("blob") || t.contains("bytea") {
        "bytes".into()
    } else if t.contains("double") || t.contains("real") || t.contains("float") {
        "float".into()
    } else {
        t
    }
}

async fn sqlite_schema(db: &Db) -> (Schema, Vec<String>) {
    let mut schema = Schema::new();
    let tables = sqlx::query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .fetch_all(db.pool())
        .await
        .unwrap();
    for t in tables {
        let name: String = t.get(0);
        let cols = sqlx::query(&format!(
            "SELECT name, type, \"notnull\", pk FROM pragma_table_info('{name}')"
        ))
        .fetch_all(db.pool())
        .await
        .unwrap();
        let mut m = BTreeMap::new();
        for c in cols {
            let not_null = c.get::<i64, _>(2) != 0 || c.get::<i64, _>(3) != 0;
            m.insert(
                c.get::<String, _>(0),
                (type_class(&c.get::<String, _>(1)), not_null),
            );
        }
        schema.insert(name, m);
    }
    let idx = sqlx::query(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name",
    )
    .fetch_all(db.pool())
    .await
    .unwrap()
    .iter()
    .map(|r| r.get::<String, _>(0))
    .collect();
    (schema, idx)
}

async fn postgres_schema(db: &Db) -> (Schema, Vec<String>) {
    let mut schema = Schema::new();
    let cols = sqlx::query(
        "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text FROM information_schema.columns
         WHERE table_schema = 'public' ORDER BY table_name, column_name",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    for c in cols {
        schema.entry(c.get::<String, _>(0)).or_default().insert(
            c.get::<String, _>(1),
            (
                type_class(&c.get::<String, _>(2)),
                c.get::<String, _>(3) == "NO",
            ),
        );
    }
    // Indexes created by CREATE INDEX (not those behind primary keys and UNIQUE columns).
    let idx = sqlx::query(
        "SELECT indexname::text FROM pg_indexes WHERE schemaname = 'public'
           AND indexname NOT LIKE '%_pkey' AND indexname NOT LIKE '%_key' ORDER BY indexname",
    )
    .fetch_all(db.pool())
    .await
    .unwrap()
    .iter()
    .map(|r| r.get::<String, _>(0))
    .collect();
    (schema, idx)
}

#[tokio::test]
async fn sqlite_and_postgres_schemas_stay_in_step() {
    let pg_server = match yidu_db::testing::postgres_server() {
        Some(s) => s,
        None if std::env::var("CI").as_deref() == Ok("true") => {
            "postgres://postgres@127.0.0.1:5432/test".into()
        }
        None => {
            eprintln!("schema parity needs PostgreSQL: set YIDU_TEST_POSTGRES (CI always runs it)");
            return;
        }
    };
    let (lite_url, _lg) = yidu_db::testing::fresh_sqlite_url().unwrap();
    let lite = Db::connect(&lite_url).await.unwrap();
    migrate::run(&lite).await.unwrap();
    let (pg_url, _g) = yidu_db::testing::fresh_postgres_url(&pg_server)
        .await
        .expect("PostgreSQL reachable");
    let pg = Db::connect(&pg_url).await.unwrap();
    migrate::run(&pg).await.unwrap();

    let (mut ls, mut li) = sqlite_schema(&lite).await;
    let (mut ps, mut pi) = postgres_schema(&pg).await;
    // The search index is dialect-specific by design (an FTS5 table with its shadow tables
    // on SQLite, a tsvector table with a GIN index on PostgreSQL): leave it out.
    let search = |name: &String| !name.starts_with("opinion_search");
    ls.retain(|t, _| search(t));
    ps.retain(|t, _| search(t));
    li.retain(search);
    pi.retain(search);
    assert_eq!(
        ls.keys().collect::<Vec<_>>(),
        ps.keys().collect::<Vec<_>>(),
        "same tables"
    );
    for (table, cols) in &ls {
        assert_eq!(cols, &ps[table], "columns of {table}");
    }
    assert_eq!(li, pi, "same named indexes");
}
