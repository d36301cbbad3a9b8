//! SQL of the region tree. `path` is "/" + ancestors' ids + own id + "/", so a subtree is
//! one `LIKE 'prefix%'` and a region's ancestors are the ids on its path.

use super::{bind, flag, full_name, names_on_paths, Where};
use crate::model::{Region, RegionLevel};
use yidu_db::{AnyConnection, AnyRow, Row};

const COLUMNS: &str = "r.id, r.parent_id, r.level, r.name, r.division_code, r.path, r.district_id, r.retired, \
     r.created_at, r.updated_at, CAST(CASE WHEN r.geojson IS NULL THEN 0 ELSE 1 END AS BIGINT) AS has_boundary";

fn from_row(r: &AnyRow, names: &std::collections::HashMap<i64, String>) -> Region {
    let path: String = r.get("path");
    Region {
        id: r.get("id"),
        parent_id: r.get("parent_id"),
        level: RegionLevel::parse(&r.get::<String, _>("level")).unwrap_or(RegionLevel::Grid),
        name: r.get("name"),
        full_name: full_name(&path, names),
        division_code: r.get("division_code"),
        district_id: r.get("district_id"),
        geojson: None,
        has_boundary: flag(r, "has_boundary"),
        retired: flag(r, "retired"),
        created_at: r.get("created_at"),
        updated_at: r.get("updated_at"),
        path,
    }
}

async fn rows_to_regions(
    conn: &mut AnyConnection,
    rows: Vec<AnyRow>,
) -> Result<Vec<Region>, sqlx::Error> {
    let paths: Vec<String> = rows.iter().map(|r| r.get::<String, _>("path")).collect();
    let names = names_on_paths(conn, paths.iter().map(String::as_str)).await?;
    Ok(rows.iter().map(|r| from_row(r, &names)).collect())
}

pub async fn get(conn: &mut AnyConnection, id: i64) -> Result<Option<Region>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS}, r.geojson FROM regions r WHERE r.id = $1");
    let Some(row) = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let geojson: Option<String> = row.get("geojson");
    let mut region = rows_to_regions(conn, vec![row]).await?.remove(0);
    region.geojson = geojson;
    Ok(Some(region))
}

/// One page of regions matching `w` (which refers to the table as `r`), in tree order.
pub async fn list(
    conn: &mut AnyConnection,
    w: &Where,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Region>, i64), sqlx::Error> {
    let total = super::count(
        conn,
        &format!("SELECT COUNT(*) FROM regions r{}", w.sql()),
        &w.args,
    )
    .await?;
    let n = w.next();
    let sql = format!(
        "SELECT {COLUMNS} FROM regions r{} ORDER BY r.path LIMIT ${n} OFFSET ${}",
        w.sql(),
        n + 1
    );
    let rows = bind(sqlx::query(&sql), &w.args)
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *conn)
        .await?;
    Ok((rows_to_regions(conn, rows).await?, total))
}

/// Every region matching `w`, for dropdowns, trees and exports.
pub async fn all(conn: &mut AnyConnection, w: &Where) -> Result<Vec<Region>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM regions r{} ORDER BY r.path", w.sql());
    let rows = bind(sqlx::query(&sql), &w.args)
        .fetch_all(&mut *conn)
        .await?;
    rows_to_regions(conn, rows).await
}

pub struct NewRegion<'a> {
    pub parent: Option<&'a Region>,
    pub level: RegionLevel,
    pub name: &'a str,
    pub division_code: Option<&'a str>,
    pub geojson: Option<&'a str>,
}

/// Inserts a region and fills in its path and district.
pub async fn insert(
    conn: &mut AnyConnection,
    n: &NewRegion<'_>,
    now: i64,
) -> Result<i64, sqlx::Error> {
    let id: i64 = sqlx::query(
        "INSERT INTO regions (parent_id, level, name, division_code, path, district_id, geojson, retired, created_at, updated_at)
         VALUES ($1, $2, $3, $4, '', NULL, $5, 0, $6, $6) RETURNING id",
    )
    .bind(n.parent.map(|p| p.id))
    .bind(n.level.as_str())
    .bind(n.name)
    .bind(n.division_code)
    .bind(n.geojson)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?
    .get(0);
    let parent_path = n.parent.map(|p| p.path.as_str()).unwrap_or("/");
    let path = format!("{parent_path}{id}/");
    let district_id = if n.level == RegionLevel::District {
        Some(id)
    } else {
        n.parent.and_then(|p| p.district_id)
    };
    sqlx::query("UPDATE regions SET path = $2, district_id = $3 WHERE id = $1")
        .bind(id)
        .bind(&path)
        .bind(district_id)
        .execute(&mut *conn)
        .await?;
    Ok(id)
}

pub async fn update(
    conn: &mut AnyConnection,
    id: i64,
    name: &str,
    division_code: Option<&str>,
    geojson: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE regions SET name = $2, division_code = $3, geojson = $4, updated_at = $5 WHERE id = $1")
        .bind(id)
        .bind(name)
        .bind(division_code)
        .bind(geojson)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Whether a sibling (same parent) already has this name.
pub async fn sibling_named(
    conn: &mut AnyConnection,
    parent_id: Option<i64>,
    name: &str,
    except: Option<i64>,
) -> Result<bool, sqlx::Error> {
    let row = sqlx::query(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM regions
         WHERE COALESCE(parent_id, 0) = $1 AND name = $2 AND id <> $3",
    )
    .bind(parent_id.unwrap_or(0))
    .bind(name)
    .bind(except.unwrap_or(0))
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.get::<i64, _>(0) > 0)
}

/// What still hangs on a region: (children, stations, deputies, units, committees), not retired.
pub async fn dependants(conn: &mut AnyConnection, id: i64) -> Result<[i64; 5], sqlx::Error> {
    let row = sqlx::query(
        "SELECT CAST((SELECT COUNT(*) FROM regions WHERE parent_id = $1 AND retired = 0) AS BIGINT),
                CAST((SELECT COUNT(*) FROM stations WHERE region_id = $1 AND retired = 0) AS BIGINT),
                CAST((SELECT COUNT(*) FROM deputies WHERE region_id = $1 AND retired = 0) AS BIGINT),
                CAST((SELECT COUNT(*) FROM units WHERE region_id = $1 AND retired = 0) AS BIGINT),
                CAST((SELECT COUNT(*) FROM committees WHERE region_id = $1 AND retired = 0) AS BIGINT)",
    )
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    Ok([row.get(0), row.get(1), row.get(2), row.get(3), row.get(4)])
}
