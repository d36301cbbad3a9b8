//! SQL of handling units (`u`) and working committees (`c`), each with its region `r`.

use super::{bind, flag, names_on_paths, region_ref, Where, REGION_REF_COLUMNS};
use crate::model::{Committee, Unit, UnitKind};
use yidu_db::{AnyConnection, AnyRow, Row};

const UNIT_FROM: &str = " FROM units u JOIN regions r ON r.id = u.region_id";
const COMMITTEE_FROM: &str = " FROM committees c JOIN regions r ON r.id = c.region_id";

fn unit_columns() -> String {
    format!("u.id, u.kind, u.name, u.contact_name, u.contact_phone, u.retired, u.created_at, u.updated_at, {REGION_REF_COLUMNS}")
}

fn committee_columns() -> String {
    format!("c.id, c.name, c.contact_name, c.contact_phone, c.retired, c.created_at, c.updated_at, {REGION_REF_COLUMNS}")
}

async fn to_units(conn: &mut AnyConnection, rows: Vec<AnyRow>) -> Result<Vec<Unit>, sqlx::Error> {
    let paths: Vec<String> = rows
        .iter()
        .map(|r| r.get::<String, _>("region_path"))
        .collect();
    let names = names_on_paths(conn, paths.iter().map(String::as_str)).await?;
    Ok(rows
        .iter()
        .map(|r| Unit {
            id: r.get("id"),
            kind: UnitKind::parse(&r.get::<String, _>("kind")).unwrap_or(UnitKind::Other),
            name: r.get("name"),
            region: region_ref(r, &names),
            contact_name: r.get("contact_name"),
            contact_phone: r.get("contact_phone"),
            retired: flag(r, "retired"),
            created_at: r.get("created_at"),
            updated_at: r.get("updated_at"),
        })
        .collect())
}

async fn to_committees(
    conn: &mut AnyConnection,
    rows: Vec<AnyRow>,
) -> Result<Vec<Committee>, sqlx::Error> {
    let paths: Vec<String> = rows
        .iter()
        .map(|r| r.get::<String, _>("region_path"))
        .collect();
    let names = names_on_paths(conn, paths.iter().map(String::as_str)).await?;
    Ok(rows
        .iter()
        .map(|r| Committee {
            id: r.get("id"),
            name: r.get("name"),
            region: region_ref(r, &names),
            contact_name: r.get("contact_name"),
            contact_phone: r.get("contact_phone"),
            retired: flag(r, "retired"),
            created_at: r.get("created_at"),
            updated_at: r.get("updated_at"),
        })
        .collect())
}

pub async fn get_unit(conn: &mut AnyConnection, id: i64) -> Result<Option<Unit>, sqlx::Error> {
    let sql = format!("SELECT {}{UNIT_FROM} WHERE u.id = $1", unit_columns());
    let rows = sqlx::query(&sql).bind(id).fetch_all(&mut *conn).await?;
    Ok(to_units(conn, rows).await?.pop())
}

pub async fn get_committee(
    conn: &mut AnyConnection,
    id: i64,
) -> Result<Option<Committee>, sqlx::Error> {
    let sql = format!(
        "SELECT {}{COMMITTEE_FROM} WHERE c.id = $1",
        committee_columns()
    );
    let rows = sqlx::query(&sql).bind(id).fetch_all(&mut *conn).await?;
    Ok(to_committees(conn, rows).await?.pop())
}

/// One page of units, or all of them when `page` is None.
pub async fn units(
    conn: &mut AnyConnection,
    w: &Where,
    page: Option<(i64, i64)>,
) -> Result<(Vec<Unit>, i64), sqlx::Error> {
    let total = super::count(
        conn,
        &format!("SELECT COUNT(*){UNIT_FROM}{}", w.sql()),
        &w.args,
    )
    .await?;
    let n = w.next();
    let limit = page
        .map(|_| format!(" LIMIT ${n} OFFSET ${}", n + 1))
        .unwrap_or_default();
    let sql = format!(
        "SELECT {}{UNIT_FROM}{} ORDER BY r.path, u.kind, u.name, u.id{limit}",
        unit_columns(),
        w.sql()
    );
    let mut q = bind(sqlx::query(&sql), &w.args);
    if let Some((l, o)) = page {
        q = q.bind(l).bind(o);
    }
    let rows = q.fetch_all(&mut *conn).await?;
    Ok((to_units(conn, rows).await?, total))
}

pub async fn committees(
    conn: &mut AnyConnection,
    w: &Where,
    page: Option<(i64, i64)>,
) -> Result<(Vec<Committee>, i64), sqlx::Error> {
    let total = super::count(
        conn,
        &format!("SELECT COUNT(*){COMMITTEE_FROM}{}", w.sql()),
        &w.args,
    )
    .await?;
    let n = w.next();
    let limit = page
        .map(|_| format!(" LIMIT ${n} OFFSET ${}", n + 1))
        .unwrap_or_default();
    let sql = format!(
        "SELECT {}{COMMITTEE_FROM}{} ORDER BY r.path, c.name, c.id{limit}",
        committee_columns(),
        w.sql()
    );
    let mut q = bind(sqlx::query(&sql), &w.args);
    if let Some((l, o)) = page {
        q = q.bind(l).bind(o);
    }
    let rows = q.fetch_all(&mut *conn).await?;
    Ok((to_committees(conn, rows).await?, total))
}

pub struct UnitRow<'a> {
    pub region_id: i64,
    pub kind: UnitKind,
    pub name: &'a str,
    pub contact_name: &'a str,
    pub contact_phone: &'a str,
}

pub async fn insert_unit(
    conn: &mut AnyConnection,
    u: &UnitRow<'_>,
    now: i64,
) -> Result<i64, sqlx::Error> {
    Ok(sqlx::query(
        "INSERT INTO units (region_id, kind, name, contact_name, contact_phone, retired, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, 0, $6, $6) RETURNING id",
    )
    .bind(u.region_id)
    .bind(u.kind.as_str())
    .bind(u.name)
    .bind(u.contact_name)
    .bind(u.contact_phone)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?
    .get(0))
}

pub async fn update_unit(
    conn: &mut AnyConnection,
    id: i64,
    u: &UnitRow<'_>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE units SET region_id = $2, kind = $3, name = $4, contact_name = $5, contact_phone = $6, updated_at = $7
         WHERE id = $1",
    )
    .bind(id)
    .bind(u.region_id)
    .bind(u.kind.as_str())
    .bind(u.name)
    .bind(u.contact_name)
    .bind(u.contact_phone)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub struct CommitteeRow<'a> {
    pub region_id: i64,
    pub name: &'a str,
    pub contact_name: &'a str,
    pub contact_phone: &'a str,
}

pub async fn insert_committee(
    conn: &mut AnyConnection,
    c: &CommitteeRow<'_>,
    now: i64,
) -> Result<i64, sqlx::Error> {
    Ok(sqlx::query(
        "INSERT INTO committees (region_id, name, contact_name, contact_phone, retired, created_at, updated_at)
         VALUES ($1, $2, $3, $4, 0, $5, $5) RETURNING id",
    )
    .bind(c.region_id)
    .bind(c.name)
    .bind(c.contact_name)
    .bind(c.contact_phone)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?
    .get(0))
}

pub async fn update_committee(
    conn: &mut AnyConnection,
    id: i64,
    c: &CommitteeRow<'_>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE committees SET region_id = $2, name = $3, contact_name = $4, contact_phone = $5, updated_at = $6 WHERE id = $1",
    )
    .bind(id)
    .bind(c.region_id)
    .bind(c.name)
    .bind(c.contact_name)
    .bind(c.contact_phone)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Whether another unit (or committee) of the same region has this name.
pub async fn name_taken(
    conn: &mut AnyConnection,
    committee: bool,
    region_id: i64,
    name: &str,
    except: Option<i64>,
) -> Result<bool, sqlx::Error> {
    let table = if committee { "committees" } else { "units" };
    let sql = format!("SELECT CAST(COUNT(*) AS BIGINT) FROM {table} WHERE region_id = $1 AND name = $2 AND id <> $3");
    let n: i64 = sqlx::query(&sql)
        .bind(region_id)
        .bind(name)
        .bind(except.unwrap_or(0))
        .fetch_one(&mut *conn)
        .await?
        .get(0);
    Ok(n > 0)
}
