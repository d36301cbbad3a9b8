//! The registry's SQL. Nothing else in yidu writes `regions`, `stations`, `deputies`,
//! `deputy_stations`, `deputy_photos`, `units` or `committees`.
//!
//! Every function takes a connection: a pooled read connection for reads, or the
//! transaction of a write (so an import reads what it has just written).

pub mod deputies;
pub mod regions;
pub mod stations;
pub mod units;

use std::collections::HashMap;
use yidu_db::{Any, AnyConnection, Row};

/// A bound value of a query built at run time.
#[derive(Debug, Clone)]
pub enum Arg {
    I(i64),
    T(String),
}

/// WHERE clause built at run time, with its `$n` arguments in order.
#[derive(Debug, Default, Clone)]
pub struct Where {
    parts: Vec<String>,
    pub args: Vec<Arg>,
}

impl Where {
    /// Adds an argument and returns its placeholder.
    pub fn arg(&mut self, a: Arg) -> String {
        self.args.push(a);
        format!("${}", self.args.len())
    }
    pub fn int(&mut self, v: i64) -> String {
        self.arg(Arg::I(v))
    }
    pub fn text(&mut self, v: impl Into<String>) -> String {
        self.arg(Arg::T(v.into()))
    }
    pub fn and(&mut self, cond: impl Into<String>) {
        self.parts.push(cond.into());
    }
    pub fn sql(&self) -> String {
        if self.parts.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.parts.join(" AND "))
        }
    }
    /// Placeholder of the next argument that will be added.
    pub fn next(&self) -> usize {
        self.args.len() + 1
    }
}

pub type AnyQuery<'q> = sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>;

pub fn bind<'q>(mut q: AnyQuery<'q>, args: &'q [Arg]) -> AnyQuery<'q> {
    for a in args {
        q = match a {
            Arg::I(i) => q.bind(*i),
            Arg::T(s) => q.bind(s.as_str()),
        };
    }
    q
}

/// Placeholder list "$3, $4, $5" for `IN (...)`, with the values added.
pub fn in_list(w: &mut Where, ids: &[i64]) -> String {
    ids.iter().map(|i| w.int(*i)).collect::<Vec<_>>().join(", ")
}

/// Ids of the regions on a path, root first: "/1/4/17/" gives [1, 4, 17].
pub fn path_ids(path: &str) -> Vec<i64> {
    path.split('/').filter_map(|s| s.parse().ok()).collect()
}

/// Names of every region on the given paths, to spell out full names.
pub async fn names_on_paths<'a>(
    conn: &mut AnyConnection,
    paths: impl IntoIterator<Item = &'a str>,
) -> Result<HashMap<i64, String>, sqlx::Error> {
    let mut ids: Vec<i64> = paths.into_iter().flat_map(path_ids).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut names = HashMap::new();
    // Batches keep the number of placeholders well below every engine's limit.
    for chunk in ids.chunks(500) {
        let mut w = Where::default();
        let list = in_list(&mut w, chunk);
        let sql = format!("SELECT id, name FROM regions WHERE id IN ({list})");
        for r in bind(sqlx::query(&sql), &w.args)
            .fetch_all(&mut *conn)
            .await?
        {
            names.insert(r.get::<i64, _>(0), r.get::<String, _>(1));
        }
    }
    Ok(names)
}

/// "海曙区/石碶街道/星光社区" from a path and the names on it.
pub fn full_name(path: &str, names: &HashMap<i64, String>) -> String {
    path_ids(path)
        .iter()
        .map(|id| names.get(id).map(String::as_str).unwrap_or("?"))
        .collect::<Vec<_>>()
        .join("/")
}

pub async fn count(conn: &mut AnyConnection, sql: &str, args: &[Arg]) -> Result<i64, sqlx::Error> {
    Ok(bind(sqlx::query(sql), args)
        .fetch_one(&mut *conn)
        .await?
        .get(0))
}

/// Whether a public code is taken by any station or deputy.
pub async fn code_taken(conn: &mut AnyConnection, code: &str) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query(
        "SELECT CAST((SELECT COUNT(*) FROM stations WHERE code = $1) + (SELECT COUNT(*) FROM deputies WHERE code = $1) AS BIGINT)",
    )
    .bind(code)
    .fetch_one(&mut *conn)
    .await?
    .get(0);
    Ok(n > 0)
}

/// A fresh public code that no station or deputy uses.
pub async fn fresh_code(conn: &mut AnyConnection) -> Result<String, sqlx::Error> {
    loop {
        let c = crate::model::check::new_code();
        if !code_taken(conn, &c).await? {
            return Ok(c);
        }
    }
}

/// Marks a row retired.
pub async fn retire(
    conn: &mut AnyConnection,
    table: Table,
    id: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    let sql = format!(
        "UPDATE {} SET retired = 1, updated_at = $2 WHERE id = $1",
        table.name()
    );
    sqlx::query(&sql)
        .bind(id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

#[derive(Debug, Clone, Copy)]
pub enum Table {
    Regions,
    Stations,
    Deputies,
    Units,
    Committees,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::Regions => "regions",
            Table::Stations => "stations",
            Table::Deputies => "deputies",
            Table::Units => "units",
            Table::Committees => "committees",
        }
    }
}

/// The columns of the region a record belongs to, joined as `r`.
pub const REGION_REF_COLUMNS: &str = "r.id AS region_id, r.name AS region_name, r.path AS region_path, r.district_id AS region_district_id";

pub fn region_ref(row: &yidu_db::AnyRow, names: &HashMap<i64, String>) -> crate::model::RegionRef {
    let path: String = row.get("region_path");
    crate::model::RegionRef {
        id: row.get("region_id"),
        name: row.get("region_name"),
        full_name: full_name(&path, names),
        path,
        district_id: row.get("region_district_id"),
    }
}

/// Bool columns are stored as 0/1.
pub fn flag(row: &yidu_db::AnyRow, col: &str) -> bool {
    row.get::<i64, _>(col) != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_full_names() {
        assert_eq!(path_ids("/1/4/17/"), vec![1, 4, 17]);
        assert_eq!(path_ids("/"), Vec::<i64>::new());
        let names: HashMap<i64, String> = [(1, "区".to_string()), (4, "镇".to_string())]
            .into_iter()
            .collect();
        assert_eq!(full_name("/1/4/", &names), "区/镇");
        let mut w = Where::default();
        assert_eq!(w.text("a"), "$1");
        assert_eq!(in_list(&mut w, &[5, 6]), "$2, $3");
        w.and("x = $1");
        assert_eq!(w.sql(), " WHERE x = $1");
    }
}
