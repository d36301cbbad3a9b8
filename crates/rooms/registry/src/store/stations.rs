//! SQL of liaison stations. Queries refer to the station as `s` and its region as `r`.

use super::{bind, flag, names_on_paths, region_ref, Where, REGION_REF_COLUMNS};
use crate::model::kinds::parse_stored;
use crate::model::{Partner, Station, StationKind};
use yidu_db::{AnyConnection, AnyRow, Row};

fn columns() -> String {
    format!(
        "s.id, s.code, s.kind, s.name, s.address, s.opening_hours, s.reception_schedule, s.partners, s.retired, \
         s.created_at, s.updated_at, {REGION_REF_COLUMNS}"
    )
}

const FROM: &str = " FROM stations s JOIN regions r ON r.id = s.region_id";

async fn to_stations(
    conn: &mut AnyConnection,
    rows: Vec<AnyRow>,
) -> Result<Vec<Station>, sqlx::Error> {
    let paths: Vec<String> = rows
        .iter()
        .map(|r| r.get::<String, _>("region_path"))
        .collect();
    let names = names_on_paths(conn, paths.iter().map(String::as_str)).await?;
    Ok(rows
        .iter()
        .map(|r| Station {
            id: r.get("id"),
            code: r.get("code"),
            kind: StationKind::parse(&r.get::<String, _>("kind")).unwrap_or(StationKind::Point),
            name: r.get("name"),
            region: region_ref(r, &names),
            address: r.get("address"),
            opening_hours: r.get("opening_hours"),
            reception_schedule: r.get("reception_schedule"),
            partners: parse_stored(&r.get::<String, _>("partners"), Partner::parse),
            retired: flag(r, "retired"),
            created_at: r.get("created_at"),
            updated_at: r.get("updated_at"),
        })
        .collect())
}

pub async fn get(conn: &mut AnyConnection, id: i64) -> Result<Option<Station>, sqlx::Error> {
    let sql = format!("SELECT {}{FROM} WHERE s.id = $1", columns());
    let rows = sqlx::query(&sql).bind(id).fetch_all(&mut *conn).await?;
    Ok(to_stations(conn, rows).await?.pop())
}

pub async fn list(
    conn: &mut AnyConnection,
    w: &Where,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Station>, i64), sqlx::Error> {
    let total = super::count(conn, &format!("SELECT COUNT(*){FROM}{}", w.sql()), &w.args).await?;
    let n = w.next();
    let sql = format!(
        "SELECT {}{FROM}{} ORDER BY r.path, s.kind, s.name, s.id LIMIT ${n} OFFSET ${}",
        columns(),
        w.sql(),
        n + 1
    );
    let rows = bind(sqlx::query(&sql), &w.args)
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *conn)
        .await?;
    Ok((to_stations(conn, rows).await?, total))
}

pub async fn all(conn: &mut AnyConnection, w: &Where) -> Result<Vec<Station>, sqlx::Error> {
    let sql = format!(
        "SELECT {}{FROM}{} ORDER BY r.path, s.kind, s.name, s.id",
        columns(),
        w.sql()
    );
    let rows = bind(sqlx::query(&sql), &w.args)
        .fetch_all(&mut *conn)
        .await?;
    to_stations(conn, rows).await
}

/// The stored fields of a station.
pub struct StationRow<'a> {
    pub region_id: i64,
    pub kind: StationKind,
    pub name: &'a str,
    pub address: &'a str,
    pub opening_hours: &'a str,
    pub reception_schedule: &'a str,
    pub partners: &'a str,
}

pub async fn insert(
    conn: &mut AnyConnection,
    code: &str,
    s: &StationRow<'_>,
    now: i64,
) -> Result<i64, sqlx::Error> {
    Ok(sqlx::query(
        "INSERT INTO stations (region_id, code, kind, name, address, opening_hours, reception_schedule, partners, retired, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $9) RETURNING id",
    )
    .bind(s.region_id)
    .bind(code)
    .bind(s.kind.as_str())
    .bind(s.name)
    .bind(s.address)
    .bind(s.opening_hours)
    .bind(s.reception_schedule)
    .bind(s.partners)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?
    .get(0))
}

pub async fn update(
    conn: &mut AnyConnection,
    id: i64,
    s: &StationRow<'_>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE stations SET region_id = $2, kind = $3, name = $4, address = $5, opening_hours = $6,
                reception_schedule = $7, partners = $8, updated_at = $9 WHERE id = $1",
    )
    .bind(id)
    .bind(s.region_id)
    .bind(s.kind.as_str())
    .bind(s.name)
    .bind(s.address)
    .bind(s.opening_hours)
    .bind(s.reception_schedule)
    .bind(s.partners)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Ids of the stations a deputy belongs to.
pub async fn of_deputy(conn: &mut AnyConnection, deputy_id: i64) -> Result<Vec<i64>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT station_id FROM deputy_stations WHERE deputy_id = $1 ORDER BY station_id",
    )
    .bind(deputy_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Ids of the deputies who belong to a station.
pub async fn members(conn: &mut AnyConnection, station_id: i64) -> Result<Vec<i64>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT deputy_id FROM deputy_stations WHERE station_id = $1 ORDER BY deputy_id",
    )
    .bind(station_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Whether another station of the same region has this name.
pub async fn name_taken(
    conn: &mut AnyConnection,
    region_id: i64,
    name: &str,
    except: Option<i64>,
) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM stations WHERE region_id = $1 AND name = $2 AND id <> $3",
    )
    .bind(region_id)
    .bind(name)
    .bind(except.unwrap_or(0))
    .fetch_one(&mut *conn)
    .await?
    .get(0);
    Ok(n > 0)
}
