//! The importer: reads the sheet, resolves names, creates each row through the same
//! use cases as the forms (same checks, same audit records) inside one transaction,
//! collects every problem by row and column, and commits only a clean file.

use super::refs::{split_path, Key, RegionIndex, StationIndex};
use super::{sheet, ImportReport, Kind};
use crate::model::kinds::split_list;
use crate::model::{DeputyInput, RegionInput, StationInput, UnitInput};
use crate::service::{self, regions::RegionFilter, stations::StationFilter, Ctx};
use crate::store;
use serde_json::json;
use std::collections::HashMap;
use yidu_db::{AnyConnection, Db, Row};
use yidu_kernel::{AppError, AppResult, FieldError, Principal, Role};

/// Collected problems of one file.
struct Report {
    problems: Vec<FieldError>,
    /// Rows with at least one problem.
    bad_rows: Vec<u32>,
}

impl Report {
    fn push(&mut self, row: u32, column: &str, zh: impl Into<String>, en: impl Into<String>) {
        self.problems
            .push(FieldError::new(column, zh, en).at_row(row));
        if !self.bad_rows.contains(&row) {
            self.bad_rows.push(row);
        }
    }

    fn is_bad(&self, row: u32) -> bool {
        self.bad_rows.contains(&row)
    }

    /// Turns a use case's refusal into problems at this row, naming the column of each
    /// field. Errors that are not about the input end the import.
    fn refused(
        &mut self,
        row: u32,
        e: AppError,
        columns: &[(&str, &str)],
        region_column: &str,
    ) -> AppResult<()> {
        let column = |field: &str| {
            columns
                .iter()
                .find(|(f, _)| *f == field)
                .map(|(_, c)| c.to_string())
                .unwrap_or_else(|| field.to_string())
        };
        match e {
            AppError::Validation(v) => {
                for fe in v {
                    self.push(row, &column(&fe.field), fe.zh, fe.en);
                }
            }
            AppError::Forbidden => self.push(
                row,
                region_column,
                "该区域不在您的管理范围内",
                "this region is outside the area you manage",
            ),
            AppError::Conflict(m) | AppError::BadRequest(m) => self.push(row, "", m.zh, m.en),
            other => return Err(other),
        }
        Ok(())
    }
}

/// Imports one kind from an .xlsx file: all rows or none.
pub async fn import(
    db: &Db,
    p: &Principal,
    client: &str,
    kind: &str,
    bytes: &[u8],
) -> AppResult<ImportReport> {
    let kind = Kind::parse(kind)?;
    if !matches!(p.role, Role::Admin | Role::Office | Role::Township) {
        return Err(AppError::Forbidden);
    }
    if bytes.len() > super::MAX_FILE_BYTES {
        return Err(AppError::field(
            "文件",
            "文件超过 10 MB",
            "the file is larger than 10 MB",
        ));
    }
    let table = sheet::read(bytes, kind.columns())?;
    if table.rows.is_empty() {
        return Err(AppError::field(
            "文件",
            "表格中没有数据行",
            "the sheet has no data rows",
        ));
    }
    // What names can refer to, read before the write transaction starts.
    let regions = service::regions::all(db, p, &RegionFilter::default()).await?;
    let stations = match kind {
        Kind::Deputies => service::stations::all(db, p, &StationFilter::default()).await?,
        _ => Vec::new(),
    };
    let mut index = RegionIndex::new(&regions);
    let ctx = Ctx::new(p, client);
    let mut report = Report {
        problems: Vec::new(),
        bad_rows: Vec::new(),
    };
    let mut tx = db.begin().await?;
    let created = match kind {
        Kind::Regions => regions_rows(&mut tx, &ctx, &table, &mut index, &mut report).await?,
        Kind::Stations => station_rows(&mut tx, &ctx, &table, &index, &mut report).await?,
        Kind::Deputies => {
            let stations = StationIndex {
                stations: &stations,
            };
            deputy_rows(&mut tx, &ctx, &table, &index, &stations, &mut report).await?
        }
        Kind::Units => unit_rows(&mut tx, &ctx, &table, &index, &mut report).await?,
    };
    if !report.problems.is_empty() {
        // Dropping the transaction rolls back every row written so far.
        return Err(AppError::Validation(report.problems));
    }
    let district: Option<i64> = sqlx::query("SELECT district_id FROM regions WHERE path = $1")
        .bind(&p.scope_path)
        .fetch_optional(&mut *tx)
        .await?
        .and_then(|r| r.get::<Option<i64>, _>(0));
    ctx.audit(
        &mut tx,
        "registry.import",
        "import",
        0,
        (&p.scope_path, district),
        &json!({}),
        &json!({"kind": kind.as_str(), "rows": table.rows.len(), "created": created}),
    )
    .await?;
    tx.commit().await?;
    Ok(ImportReport {
        kind,
        rows: table.rows.len() as u32,
        created,
    })
}

/// Resolves the region column of a row to an existing region id.
fn region_of(
    index: &RegionIndex,
    report: &mut Report,
    row: u32,
    column: &str,
    written: &str,
) -> Option<i64> {
    match index.resolve(written) {
        Ok(e) => match e.key {
            Key::Existing(id) => Some(id),
            Key::New(r) => {
                report.push(
                    row,
                    column,
                    format!("所引用的区域在第 {r} 行，该行有错误"),
                    format!("the region referred to is created by row {r}, which has problems"),
                );
                None
            }
        },
        Err((zh, en)) => {
            report.push(row, column, zh, en);
            None
        }
    }
}

/// Records a duplicate key within the file.
fn once(seen: &mut HashMap<String, u32>, report: &mut Report, row: u32, column: &str, key: String) {
    if let Some(first) = seen.get(&key) {
        report.push(
            row,
            column,
            format!("与第 {first} 行重复"),
            format!("duplicates row {first}"),
        );
    } else {
        seen.insert(key, row);
    }
}

const REGION_FIELDS: &[(&str, &str)] = &[
    ("name", "名称"),
    ("level", "层级"),
    ("parent_id", "上级区域"),
    ("division_code", "区划代码"),
    ("geojson", "边界GeoJSON"),
];

async fn regions_rows(
    conn: &mut AnyConnection,
    ctx: &Ctx<'_>,
    table: &sheet::Table,
    index: &mut RegionIndex,
    report: &mut Report,
) -> AppResult<u32> {
    let mut created = 0;
    let mut seen = HashMap::new();
    for (row, cells) in &table.rows {
        let row = *row;
        let [name, level, parent, division, geo] =
            [&cells[0], &cells[1], &cells[2], &cells[3], &cells[4]];
        let level_parsed = crate::model::RegionLevel::parse(level);
        let mut parent_names: Vec<String> = Vec::new();
        let parent_id = if parent.is_empty() {
            None
        } else {
            match index.resolve(parent) {
                Ok(e) => {
                    parent_names = e.names.clone();
                    match e.key {
                        Key::Existing(id) => Some(id),
                        Key::New(r) => {
                            report.push(
                                row,
                                "上级区域",
                                format!("上级区域在第 {r} 行，该行有错误"),
                                format!("the parent is created by row {r}, which has problems"),
                            );
                            None
                        }
                    }
                }
                Err((zh, en)) => {
                    report.push(row, "上级区域", zh, en);
                    None
                }
            }
        };
        once(
            &mut seen,
            report,
            row,
            "名称",
            format!("{}|{}", parent_names.join("/"), name),
        );
        if !report.is_bad(row) {
            let input = RegionInput {
                parent_id,
                level: level.clone(),
                name: name.clone(),
                division_code: Some(division.clone()),
                geojson: Some(geo.clone()),
            };
            match service::regions::create_in(conn, ctx, &input).await {
                Ok(r) => {
                    created += 1;
                    index.add(Key::Existing(r.id), &parent_names, &r.name, r.level);
                    continue;
                }
                Err(e) => report.refused(row, e, REGION_FIELDS, "上级区域")?,
            }
        }
        // Later rows that name this one learn that it failed, rather than that it is unknown.
        if let Some(l) = level_parsed {
            index.add(Key::New(row), &parent_names, name.trim(), l);
        }
    }
    Ok(created)
}

const STATION_FIELDS: &[(&str, &str)] = &[
    ("name", "名称"),
    ("kind", "类型"),
    ("region_id", "所属区域"),
    ("address", "地址"),
    ("opening_hours", "开放时间"),
    ("reception_schedule", "接待安排"),
    ("partners", "共建阵地"),
    ("code", "编码"),
];

async fn station_rows(
    conn: &mut AnyConnection,
    ctx: &Ctx<'_>,
    table: &sheet::Table,
    index: &RegionIndex,
    report: &mut Report,
) -> AppResult<u32> {
    let mut created = 0;
    let (mut names, mut codes) = (HashMap::new(), HashMap::new());
    for (row, c) in &table.rows {
        let row = *row;
        let region = region_of(index, report, row, "所属区域", &c[2]);
        once(
            &mut names,
            report,
            row,
            "名称",
            format!("{}|{}", split_path(&c[2]).join("/"), c[0]),
        );
        if !c[7].is_empty() {
            once(&mut codes, report, row, "编码", c[7].to_ascii_uppercase());
        }
        let (Some(region_id), false) = (region, report.is_bad(row)) else {
            continue;
        };
        let input = StationInput {
            region_id,
            kind: c[1].clone(),
            name: c[0].clone(),
            address: c[3].clone(),
            opening_hours: c[4].clone(),
            reception_schedule: c[5].clone(),
            partners: split_list(&c[6]),
            code: Some(c[7].clone()),
        };
        match service::stations::create_in(conn, ctx, &input).await {
            Ok(_) => created += 1,
            Err(e) => report.refused(row, e, STATION_FIELDS, "所属区域")?,
        }
    }
    Ok(created)
}

const DEPUTY_FIELDS: &[(&str, &str)] = &[
    ("name", "姓名"),
    ("gender", "性别"),
    ("region_id", "所属区域"),
    ("levels", "代表层级"),
    ("term", "届次"),
    ("sector", "界别"),
    ("duties", "职务"),
    ("phone", "电话"),
    ("station_ids", "所属联络站"),
    ("code", "编码"),
];

async fn deputy_rows(
    conn: &mut AnyConnection,
    ctx: &Ctx<'_>,
    table: &sheet::Table,
    index: &RegionIndex,
    stations: &StationIndex<'_>,
    report: &mut Report,
) -> AppResult<u32> {
    let mut created = 0;
    let (mut people, mut codes) = (HashMap::new(), HashMap::new());
    for (row, c) in &table.rows {
        let row = *row;
        let region = region_of(index, report, row, "所属区域", &c[2]);
        once(
            &mut people,
            report,
            row,
            "姓名",
            format!("{}|{}", split_path(&c[2]).join("/"), c[0]),
        );
        if !c[9].is_empty() {
            once(&mut codes, report, row, "编码", c[9].to_ascii_uppercase());
        }
        let mut station_ids = Vec::new();
        for written in split_list(&c[8]) {
            match stations.resolve(&written) {
                Ok(id) => station_ids.push(id),
                Err((zh, en)) => report.push(row, "所属联络站", zh, en),
            }
        }
        let (Some(region_id), false) = (region, report.is_bad(row)) else {
            continue;
        };
        // Without a code to tell people apart, the same name in the same region is taken
        // to be the same deputy imported twice.
        if c[9].is_empty() && store::deputies::name_in_region(conn, region_id, c[0].trim()).await? {
            report.push(
                row,
                "姓名",
                "该区域已有同名代表；如确为另一人，请在“编码”列填写其编码",
                "a deputy of that name already lives in this region; if this is another person, give a code",
            );
            continue;
        }
        let input = DeputyInput {
            region_id,
            name: c[0].clone(),
            gender: c[1].clone(),
            levels: split_list(&c[3]),
            term: c[4].clone(),
            sector: c[5].clone(),
            duties: c[6].clone(),
            phone: c[7].clone(),
            station_ids,
            code: Some(c[9].clone()),
        };
        match service::deputies::create_in(conn, ctx, &input).await {
            Ok(_) => created += 1,
            Err(e) => report.refused(row, e, DEPUTY_FIELDS, "所属区域")?,
        }
    }
    Ok(created)
}

const UNIT_FIELDS: &[(&str, &str)] = &[
    ("name", "名称"),
    ("kind", "类型"),
    ("region_id", "所属区域"),
    ("contact_name", "联系人"),
    ("contact_phone", "联系电话"),
];

async fn unit_rows(
    conn: &mut AnyConnection,
    ctx: &Ctx<'_>,
    table: &sheet::Table,
    index: &RegionIndex,
    report: &mut Report,
) -> AppResult<u32> {
    let mut created = 0;
    let mut names = HashMap::new();
    for (row, c) in &table.rows {
        let row = *row;
        let region = region_of(index, report, row, "所属区域", &c[2]);
        once(
            &mut names,
            report,
            row,
            "名称",
            format!("{}|{}", split_path(&c[2]).join("/"), c[0]),
        );
        let (Some(region_id), false) = (region, report.is_bad(row)) else {
            continue;
        };
        let input = UnitInput {
            region_id,
            kind: c[1].clone(),
            name: c[0].clone(),
            contact_name: c[3].clone(),
            contact_phone: c[4].clone(),
        };
        match service::units::create_in(conn, ctx, &input).await {
            Ok(_) => created += 1,
            Err(e) => report.refused(row, e, UNIT_FIELDS, "所属区域")?,
        }
    }
    Ok(created)
}
