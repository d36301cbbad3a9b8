//! Read-only SQL behind the code pages. It selects only what a public page may show:
//! no phone numbers or other contact data ever leave this module for a public page.

use super::labels::{self, Label};
use yidu_db::{Db, Row};
use yidu_kernel::AppResult;

/// A station as shown next to a deputy.
#[derive(Debug, Clone)]
pub struct StationBrief {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub kind: Label,
    pub address: String,
    pub opening_hours: String,
    pub reception_schedule: String,
}

/// A deputy as listed on a station page or a badge.
#[derive(Debug, Clone)]
pub struct DeputyBrief {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub surname: String,
    pub levels: Vec<Label>,
    pub has_photo: bool,
}

/// Everything the public deputy page shows (亮身份、亮职责).
#[derive(Debug, Clone)]
pub struct DeputyCard {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub surname: String,
    pub levels: Vec<Label>,
    pub term: String,
    pub sector: String,
    pub duties: String,
    pub has_photo: bool,
    /// Region names from the root down, e.g. "明湖区 · 青山镇 · 金桥村".
    pub region_trail: String,
    pub region_path: String,
    pub stations: Vec<StationBrief>,
}

/// Everything the public station page shows.
#[derive(Debug, Clone)]
pub struct StationCard {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub kind: Label,
    pub address: String,
    pub opening_hours: String,
    pub reception_schedule: String,
    pub partners: Vec<Label>,
    pub region_trail: String,
    pub region_path: String,
    pub deputies: Vec<DeputyBrief>,
}

/// The forms a code may be typed or printed in: as stored, and upper-cased (printed
/// codes are read aloud and typed back in any case).
fn code_forms(code: &str) -> (String, String) {
    (code.to_string(), code.to_ascii_uppercase())
}

const DEPUTY_COLUMNS: &str = "d.id, d.code, d.name, d.levels, d.term, d.sector, d.duties, r.path,
    (SELECT COUNT(*) FROM deputy_photos p WHERE p.deputy_id = d.id) AS photos";

pub async fn deputy_by_code(db: &Db, code: &str) -> AppResult<Option<DeputyCard>> {
    let (raw, upper) = code_forms(code);
    let row = sqlx::query(&format!(
        "SELECT {DEPUTY_COLUMNS} FROM deputies d JOIN regions r ON r.id = d.region_id
         WHERE (d.code = $1 OR d.code = $2) AND d.retired = 0
         ORDER BY CASE WHEN d.code = $1 THEN 0 ELSE 1 END LIMIT 1"
    ))
    .bind(&raw)
    .bind(&upper)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let id: i64 = row.get(0);
    let name: String = row.get(2);
    let levels: String = row.get(3);
    let region_path: String = row.get(7);
    let photos: i64 = row.get(8);
    Ok(Some(DeputyCard {
        id,
        code: row.get(1),
        surname: labels::surname(&name),
        name,
        levels: labels::levels(&levels),
        term: row.get(4),
        sector: row.get(5),
        duties: row.get(6),
        has_photo: photos > 0,
        region_trail: region_trail(db, &region_path).await?,
        region_path,
        stations: stations_of_deputy(db, id).await?,
    }))
}

const STATION_COLUMNS: &str =
    "s.id, s.code, s.name, s.kind, s.address, s.opening_hours, s.reception_schedule";

fn station_brief(row: &yidu_db::AnyRow) -> StationBrief {
    let kind: String = row.get(3);
    StationBrief {
        id: row.get(0),
        code: row.get(1),
        name: row.get(2),
        kind: labels::station_kind(&kind),
        address: row.get(4),
        opening_hours: row.get(5),
        reception_schedule: row.get(6),
    }
}

/// The deputy's active stations, hub first then by name.
pub async fn stations_of_deputy(db: &Db, deputy_id: i64) -> AppResult<Vec<StationBrief>> {
    let rows = sqlx::query(&format!(
        "SELECT {STATION_COLUMNS} FROM stations s JOIN deputy_stations ds ON ds.station_id = s.id
         WHERE ds.deputy_id = $1 AND s.retired = 0
         ORDER BY CASE s.kind WHEN 'hub' THEN 0 WHEN 'station' THEN 1 ELSE 2 END, s.id"
    ))
    .bind(deputy_id)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.iter().map(station_brief).collect())
}

/// A station by its public code (retired stations are not found).
pub async fn station_by_code(db: &Db, code: &str) -> AppResult<Option<StationCard>> {
    let (raw, upper) = code_forms(code);
    station_where(db, "(s.code = $1 OR s.code = $2)", &[raw, upper]).await
}

/// A station by id, for staff pages (retired stations are not found).
pub async fn station_by_id(db: &Db, id: i64) -> AppResult<Option<StationCard>> {
    let row = sqlx::query("SELECT code FROM stations WHERE id = $1 AND retired = 0")
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    match row {
        Some(r) => {
            let code: String = r.get(0);
            station_where(db, "s.code = $1", &[code]).await
        }
        None => Ok(None),
    }
}

async fn station_where(db: &Db, cond: &str, args: &[String]) -> AppResult<Option<StationCard>> {
    let sql = format!(
        "SELECT {STATION_COLUMNS}, s.partners, r.path FROM stations s JOIN regions r ON r.id = s.region_id
         WHERE {cond} AND s.retired = 0 ORDER BY s.id LIMIT 1"
    );
    let mut q = sqlx::query(&sql);
    for a in args {
        q = q.bind(a.clone());
    }
    let Some(row) = q.fetch_optional(db.pool()).await? else {
        return Ok(None);
    };
    let brief = station_brief(&row);
    let partners: String = row.get(7);
    let region_path: String = row.get(8);
    Ok(Some(StationCard {
        deputies: deputies_of_station(db, brief.id).await?,
        id: brief.id,
        code: brief.code,
        name: brief.name,
        kind: brief.kind,
        address: brief.address,
        opening_hours: brief.opening_hours,
        reception_schedule: brief.reception_schedule,
        partners: labels::partners(&partners),
        region_trail: region_trail(db, &region_path).await?,
        region_path,
    }))
}

/// The station's active deputies, by name.
pub async fn deputies_of_station(db: &Db, station_id: i64) -> AppResult<Vec<DeputyBrief>> {
    let rows = sqlx::query(
        "SELECT d.id, d.code, d.name, d.levels,
                (SELECT COUNT(*) FROM deputy_photos p WHERE p.deputy_id = d.id)
         FROM deputies d JOIN deputy_stations ds ON ds.deputy_id = d.id
         WHERE ds.station_id = $1 AND d.retired = 0
         ORDER BY d.name, d.id",
    )
    .bind(station_id)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let name: String = r.get(2);
            let levels: String = r.get(3);
            let photos: i64 = r.get(4);
            DeputyBrief {
                id: r.get(0),
                code: r.get(1),
                surname: labels::surname(&name),
                name,
                levels: labels::levels(&levels),
                has_photo: photos > 0,
            }
        })
        .collect())
}

/// A deputy's photo, with the deputy's name for the placeholder when there is none.
pub struct Photo {
    pub name: String,
    /// (content type, bytes, updated_at) when a photo was uploaded.
    pub image: Option<(String, Vec<u8>, i64)>,
}

pub async fn photo_by_code(db: &Db, code: &str) -> AppResult<Option<Photo>> {
    let (raw, upper) = code_forms(code);
    let row = sqlx::query(
        "SELECT d.id, d.name FROM deputies d WHERE (d.code = $1 OR d.code = $2) AND d.retired = 0
         ORDER BY CASE WHEN d.code = $1 THEN 0 ELSE 1 END LIMIT 1",
    )
    .bind(&raw)
    .bind(&upper)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let id: i64 = row.get(0);
    let name: String = row.get(1);
    let img = sqlx::query(
        "SELECT content_type, bytes, updated_at FROM deputy_photos WHERE deputy_id = $1",
    )
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    Ok(Some(Photo {
        name,
        image: img.map(|r| (r.get(0), r.get(1), r.get(2))),
    }))
}

/// The stored code of an active deputy (`d`) or station (`s`), matching as the pages do.
pub async fn active_code(db: &Db, kind: CodeKind, code: &str) -> AppResult<Option<String>> {
    let (raw, upper) = code_forms(code);
    let table = match kind {
        CodeKind::Deputy => "deputies",
        CodeKind::Station => "stations",
    };
    let row = sqlx::query(&format!(
        "SELECT code FROM {table} WHERE (code = $1 OR code = $2) AND retired = 0
         ORDER BY CASE WHEN code = $1 THEN 0 ELSE 1 END LIMIT 1"
    ))
    .bind(&raw)
    .bind(&upper)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(|r| r.get(0)))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeKind {
    Deputy,
    Station,
}

impl CodeKind {
    /// The letter in the public URL: `/c/d/...`, `/c/s/...`.
    pub fn letter(self) -> &'static str {
        match self {
            CodeKind::Deputy => "d",
            CodeKind::Station => "s",
        }
    }
}

/// Ids of the deputy's active stations (for scope checks on staff pages).
pub async fn deputy_station_paths(db: &Db, deputy_id: i64) -> AppResult<Vec<(i64, String)>> {
    let rows = sqlx::query(
        "SELECT s.id, r.path FROM deputy_stations ds JOIN stations s ON s.id = ds.station_id
         JOIN regions r ON r.id = s.region_id WHERE ds.deputy_id = $1 AND s.retired = 0",
    )
    .bind(deputy_id)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Region names along a path such as `/1/4/17/`, root first, joined with " · ".
pub async fn region_trail(db: &Db, path: &str) -> AppResult<String> {
    let ids: Vec<i64> = path.split('/').filter_map(|s| s.parse().ok()).collect();
    if ids.is_empty() {
        return Ok(String::new());
    }
    let marks: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT id, name FROM regions WHERE id IN ({})",
        marks.join(", ")
    );
    let mut q = sqlx::query(&sql);
    for id in &ids {
        q = q.bind(*id);
    }
    let rows = q.fetch_all(db.pool()).await?;
    let names: Vec<String> = ids
        .iter()
        .filter_map(|id| {
            rows.iter()
                .find(|r| r.get::<i64, _>(0) == *id)
                .map(|r| r.get::<String, _>(1))
        })
        .collect();
    Ok(names.join(" · "))
}
