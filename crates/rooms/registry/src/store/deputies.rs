//! SQL of deputies, their stations and photos. Queries refer to the deputy as `d` and
//! its home region as `r`. Phones are always read; the service decides who sees them.

use super::{bind, flag, in_list, names_on_paths, region_ref, Where, REGION_REF_COLUMNS};
use crate::model::kinds::parse_stored;
use crate::model::{Deputy, DeputyLevel, Gender, StationRef};
use std::collections::HashMap;
use yidu_db::{AnyConnection, AnyRow, Row};

fn columns() -> String {
    format!(
        "d.id, d.code, d.name, d.gender, d.levels, d.term, d.sector, d.duties, d.phone, d.retired, d.created_at, \
         d.updated_at, CAST(CASE WHEN EXISTS (SELECT 1 FROM deputy_photos ph WHERE ph.deputy_id = d.id) THEN 1 ELSE 0 END AS BIGINT) AS has_photo, \
         {REGION_REF_COLUMNS}"
    )
}

const FROM: &str = " FROM deputies d JOIN regions r ON r.id = d.region_id";

async fn to_deputies(
    conn: &mut AnyConnection,
    rows: Vec<AnyRow>,
) -> Result<Vec<Deputy>, sqlx::Error> {
    let paths: Vec<String> = rows
        .iter()
        .map(|r| r.get::<String, _>("region_path"))
        .collect();
    let names = names_on_paths(conn, paths.iter().map(String::as_str)).await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.get("id")).collect();
    let mut stations = stations_of(conn, &ids).await?;
    Ok(rows
        .iter()
        .map(|r| {
            let id: i64 = r.get("id");
            Deputy {
                id,
                code: r.get("code"),
                name: r.get("name"),
                gender: Gender::parse(&r.get::<String, _>("gender")),
                region: region_ref(r, &names),
                levels: parse_stored(&r.get::<String, _>("levels"), DeputyLevel::parse),
                term: r.get("term"),
                sector: r.get("sector"),
                duties: r.get("duties"),
                phone: Some(r.get("phone")),
                stations: stations.remove(&id).unwrap_or_default(),
                has_photo: flag(r, "has_photo"),
                retired: flag(r, "retired"),
                created_at: r.get("created_at"),
                updated_at: r.get("updated_at"),
            }
        })
        .collect())
}

/// The stations of each of the given deputies.
async fn stations_of(
    conn: &mut AnyConnection,
    ids: &[i64],
) -> Result<HashMap<i64, Vec<StationRef>>, sqlx::Error> {
    let mut out: HashMap<i64, Vec<StationRef>> = HashMap::new();
    for chunk in ids.chunks(500) {
        let mut w = Where::default();
        let list = in_list(&mut w, chunk);
        let sql = format!(
            "SELECT ds.deputy_id, s.id, s.code, s.name FROM deputy_stations ds JOIN stations s ON s.id = ds.station_id
             WHERE ds.deputy_id IN ({list}) ORDER BY s.name, s.id"
        );
        for r in bind(sqlx::query(&sql), &w.args)
            .fetch_all(&mut *conn)
            .await?
        {
            out.entry(r.get(0)).or_default().push(StationRef {
                id: r.get(1),
                code: r.get(2),
                name: r.get(3),
            });
        }
    }
    Ok(out)
}

pub async fn get(conn: &mut AnyConnection, id: i64) -> Result<Option<Deputy>, sqlx::Error> {
    let sql = format!("SELECT {}{FROM} WHERE d.id = $1", columns());
    let rows = sqlx::query(&sql).bind(id).fetch_all(&mut *conn).await?;
    Ok(to_deputies(conn, rows).await?.pop())
}

pub async fn list(
    conn: &mut AnyConnection,
    w: &Where,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Deputy>, i64), sqlx::Error> {
    let total = super::count(conn, &format!("SELECT COUNT(*){FROM}{}", w.sql()), &w.args).await?;
    let n = w.next();
    let sql = format!(
        "SELECT {}{FROM}{} ORDER BY r.path, d.name, d.id LIMIT ${n} OFFSET ${}",
        columns(),
        w.sql(),
        n + 1
    );
    let rows = bind(sqlx::query(&sql), &w.args)
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *conn)
        .await?;
    Ok((to_deputies(conn, rows).await?, total))
}

pub async fn all(conn: &mut AnyConnection, w: &Where) -> Result<Vec<Deputy>, sqlx::Error> {
    let sql = format!(
        "SELECT {}{FROM}{} ORDER BY r.path, d.name, d.id",
        columns(),
        w.sql()
    );
    let rows = bind(sqlx::query(&sql), &w.args)
        .fetch_all(&mut *conn)
        .await?;
    to_deputies(conn, rows).await
}

/// The stored fields of a deputy.
pub struct DeputyRow<'a> {
    pub region_id: i64,
    pub name: &'a str,
    pub gender: &'a str,
    pub levels: &'a str,
    pub term: &'a str,
    pub sector: &'a str,
    pub duties: &'a str,
    pub phone: &'a str,
}

pub async fn insert(
    conn: &mut AnyConnection,
    code: &str,
    d: &DeputyRow<'_>,
    now: i64,
) -> Result<i64, sqlx::Error> {
    Ok(sqlx::query(
        "INSERT INTO deputies (region_id, code, name, gender, levels, term, sector, duties, phone, retired, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10, $10) RETURNING id",
    )
    .bind(d.region_id)
    .bind(code)
    .bind(d.name)
    .bind(d.gender)
    .bind(d.levels)
    .bind(d.term)
    .bind(d.sector)
    .bind(d.duties)
    .bind(d.phone)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?
    .get(0))
}

pub async fn update(
    conn: &mut AnyConnection,
    id: i64,
    d: &DeputyRow<'_>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE deputies SET region_id = $2, name = $3, gender = $4, levels = $5, term = $6, sector = $7,
                duties = $8, phone = $9, updated_at = $10 WHERE id = $1",
    )
    .bind(id)
    .bind(d.region_id)
    .bind(d.name)
    .bind(d.gender)
    .bind(d.levels)
    .bind(d.term)
    .bind(d.sector)
    .bind(d.duties)
    .bind(d.phone)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Replaces the deputy's stations.
pub async fn set_stations(
    conn: &mut AnyConnection,
    deputy_id: i64,
    station_ids: &[i64],
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM deputy_stations WHERE deputy_id = $1")
        .bind(deputy_id)
        .execute(&mut *conn)
        .await?;
    for s in station_ids {
        sqlx::query("INSERT INTO deputy_stations (deputy_id, station_id) VALUES ($1, $2)")
            .bind(deputy_id)
            .bind(*s)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

pub async fn photo(
    conn: &mut AnyConnection,
    deputy_id: i64,
) -> Result<Option<(String, Vec<u8>)>, sqlx::Error> {
    let row = sqlx::query("SELECT content_type, bytes FROM deputy_photos WHERE deputy_id = $1")
        .bind(deputy_id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(|r| (r.get(0), r.get(1))))
}

pub async fn set_photo(
    conn: &mut AnyConnection,
    deputy_id: i64,
    content_type: &str,
    bytes: &[u8],
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM deputy_photos WHERE deputy_id = $1")
        .bind(deputy_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("INSERT INTO deputy_photos (deputy_id, content_type, bytes, updated_at) VALUES ($1, $2, $3, $4)")
        .bind(deputy_id)
        .bind(content_type)
        .bind(bytes.to_vec())
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn delete_photo(conn: &mut AnyConnection, deputy_id: i64) -> Result<bool, sqlx::Error> {
    let r = sqlx::query("DELETE FROM deputy_photos WHERE deputy_id = $1")
        .bind(deputy_id)
        .execute(&mut *conn)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// Whether an active deputy of this name already lives in this region.
pub async fn name_in_region(
    conn: &mut AnyConnection,
    region_id: i64,
    name: &str,
) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM deputies WHERE region_id = $1 AND name = $2 AND retired = 0",
    )
    .bind(region_id)
    .bind(name)
    .fetch_one(&mut *conn)
    .await?
    .get(0);
    Ok(n > 0)
}
