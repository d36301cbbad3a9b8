//! Bulk import and export of the registry as .xlsx spreadsheets, one kind per file:
//! regions, stations, deputies, units. Columns carry Chinese headers and records refer
//! to each other by name or name path, never by internal id, so a file exported from
//! one yidu imports into another.
//!
//! An import is all or nothing: the whole file is checked (file type by content, the
//! header row, every cell, references, duplicates within the file and against the
//! registry) and written in one transaction with one audit record per created row plus
//! one for the import; any problem rejects the file with every problem listed by row
//! and column.

mod import;
pub mod refs;
pub mod sheet;

use crate::service::{
    self, deputies::DeputyFilter, regions::RegionFilter, stations::StationFilter, units::UnitFilter,
};
use serde::{Deserialize, Serialize};
use sheet::Column;
use yidu_db::Db;
use yidu_kernel::{AppError, AppResult, Principal};

pub use import::import;

/// Largest file accepted for import.
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Regions,
    Stations,
    Deputies,
    Units,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::Regions, Kind::Stations, Kind::Deputies, Kind::Units];

    /// Accepts the English names (and `departments` for units) and the Chinese ones.
    pub fn parse(s: &str) -> AppResult<Kind> {
        match s.trim().trim_end_matches(".xlsx") {
            "regions" | "区域" => Ok(Kind::Regions),
            "stations" | "联络站" => Ok(Kind::Stations),
            "deputies" | "代表" => Ok(Kind::Deputies),
            "units" | "departments" | "承办单位" => Ok(Kind::Units),
            other => Err(AppError::bad_request(
                &format!("未知的导入类型“{other}”，可选：regions、stations、deputies、units"),
                &format!("unknown kind \"{other}\"; one of: regions, stations, deputies, units"),
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Regions => "regions",
            Kind::Stations => "stations",
            Kind::Deputies => "deputies",
            Kind::Units => "units",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Kind::Regions => "区域",
            Kind::Stations => "联络站",
            Kind::Deputies => "代表",
            Kind::Units => "承办单位",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Kind::Regions => "Regions",
            Kind::Stations => "Stations",
            Kind::Deputies => "Deputies",
            Kind::Units => "Units",
        }
    }

    pub fn columns(self) -> &'static [Column] {
        match self {
            Kind::Regions => REGION_COLUMNS,
            Kind::Stations => STATION_COLUMNS,
            Kind::Deputies => DEPUTY_COLUMNS,
            Kind::Units => UNIT_COLUMNS,
        }
    }

    /// "yidu-deputies.xlsx".
    pub fn file_name(self) -> String {
        format!("yidu-{}.xlsx", self.as_str())
    }
}

const fn col(
    header: &'static str,
    header_en: &'static str,
    required: bool,
    hint_zh: &'static str,
    hint_en: &'static str,
) -> Column {
    Column {
        header,
        header_en,
        required,
        hint_zh,
        hint_en,
        text: false,
    }
}

const fn text_col(
    header: &'static str,
    header_en: &'static str,
    hint_zh: &'static str,
    hint_en: &'static str,
) -> Column {
    Column {
        header,
        header_en,
        required: false,
        hint_zh,
        hint_en,
        text: true,
    }
}

const REGION_HINT_ZH: &str = "写区域名称；重名时连同上级一起写，用 / 分隔，如“城关镇/东门社区”";
const REGION_HINT_EN: &str = "the region's name; where names repeat, add its parents separated by /, e.g. \"Town/Community\"";

pub const REGION_COLUMNS: &[Column] = &[
    col("名称", "Name", true, "区域名称，同一上级下不能重名", "the region's name, unique under its parent"),
    col("层级", "Level", true, "省、市、区县、镇街、村社 或 网格（也可写 街道、社区 等）", "province, city, district, township, community or grid"),
    col("上级区域", "Parent", false, "上级区域，可引用本文件前面各行新建的区域；只有系统管理员可以不填", "the parent region; may be created by an earlier row of this file; only administrators may leave it empty"),
    text_col("区划代码", "Division code", "6 至 12 位行政区划代码，可不填", "6 to 12 digit administrative division code, optional"),
    col("边界GeoJSON", "Boundary GeoJSON", false, "网格边界：GeoJSON 的 Polygon 或 MultiPolygon，可不填", "grid boundary: a GeoJSON Polygon or MultiPolygon, optional"),
];

pub const STATION_COLUMNS: &[Column] = &[
    col("名称", "Name", true, "联络站名称，同一区域内不能重名", "the station's name, unique within its region"),
    col("类型", "Kind", true, "总站、站 或 点", "hub, station or point"),
    col("所属区域", "Region", true, REGION_HINT_ZH, REGION_HINT_EN),
    col("地址", "Address", false, "地址", "address"),
    col("开放时间", "Opening hours", false, "如“周一至周五 9:00-17:00”", "e.g. Mon-Fri 9:00-17:00"),
    col("接待安排", "Reception schedule", false, "代表接待选民的安排，如“每月 15 日上午”", "when deputies receive citizens, e.g. the 15th of each month"),
    col("共建阵地", "Partner centres", false, "社会治理中心、新时代文明实践中心、党群服务中心 中的若干个，用顿号分隔", "any of the three partner centres, separated by 、"),
    text_col("编码", "Code", "公开码，留空则自动生成；迁移时填写原编码以保持已印二维码有效", "public code; generated when empty; keep the old one when moving so printed QR codes stay valid"),
];

pub const DEPUTY_COLUMNS: &[Column] = &[
    col("姓名", "Name", true, "代表姓名", "the deputy's name"),
    col("性别", "Gender", false, "男 或 女", "male or female"),
    col("所属区域", "Region", true, REGION_HINT_ZH, REGION_HINT_EN),
    col("代表层级", "Levels", true, "全国、省、市、区、乡镇 中的一个或几个，用顿号分隔", "one or more of national, provincial, city, district, township, separated by 、"),
    col("届次", "Term", false, "如“第十八届”", "e.g. 第十八届"),
    col("界别", "Sector", false, "界别", "sector"),
    col("职务", "Duties", false, "工作单位及职务", "workplace and position"),
    text_col("电话", "Phone", "手机或固定电话，不会在公开页面显示", "mobile or landline; never shown on public pages"),
    col("所属联络站", "Stations", false, "联络站名称，多个用顿号分隔；重名时写成“区域/站名”", "station names separated by 、; where names repeat, write region/station"),
    text_col("编码", "Code", "公开码，留空则自动生成；迁移时填写原编码以保持已印二维码有效", "public code; generated when empty; keep the old one when moving so printed QR codes stay valid"),
];

pub const UNIT_COLUMNS: &[Column] = &[
    col("名称", "Name", true, "单位名称，同一区域内不能重名", "the unit's name, unique within its region"),
    col("类型", "Kind", true, "政府部门、区政府、监委、法院、检察院、乡镇政府 或 其他", "government department, government, supervision commission, court, procuratorate, township government or other"),
    col("所属区域", "Region", true, REGION_HINT_ZH, REGION_HINT_EN),
    col("联系人", "Contact", false, "联系人姓名", "contact person"),
    text_col("联系电话", "Contact phone", "联系电话", "contact phone"),
];

/// What an import did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    pub kind: Kind,
    /// Data rows in the file.
    pub rows: u32,
    /// Records created (all rows: an import is all or nothing).
    pub created: u32,
}

/// The empty file to fill in, with an instructions sheet.
pub fn template(kind: Kind) -> AppResult<Vec<u8>> {
    sheet::write(kind.label_zh(), kind.columns(), &[], true).map_err(AppError::internal)
}

/// Filters of an export (each kind uses the ones that apply to it).
#[derive(Debug, Default, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportFilter {
    #[serde(default, deserialize_with = "service::opt_id")]
    #[param(value_type = Option<i64>)]
    pub region: Option<i64>,
    #[serde(default, deserialize_with = "service::opt_id")]
    #[param(value_type = Option<i64>)]
    pub station: Option<i64>,
    pub kind: Option<String>,
    pub level: Option<String>,
    pub q: Option<String>,
}

/// Everything of a kind within the principal's scope, as .xlsx.
pub async fn export(db: &Db, p: &Principal, kind: &str) -> AppResult<Vec<u8>> {
    export_filtered(db, p, Kind::parse(kind)?, &ExportFilter::default()).await
}

/// The filtered list of a kind, in the import format.
pub async fn export_filtered(
    db: &Db,
    p: &Principal,
    kind: Kind,
    f: &ExportFilter,
) -> AppResult<Vec<u8>> {
    let rows = match kind {
        Kind::Regions => region_rows(db, p, f).await?,
        Kind::Stations => station_rows(db, p, f).await?,
        Kind::Deputies => deputy_rows(db, p, f).await?,
        Kind::Units => unit_rows(db, p, f).await?,
    };
    sheet::write(kind.label_zh(), kind.columns(), &rows, false).map_err(AppError::internal)
}

/// The full name of a region's parent: its own full name without the last part.
fn parent_full_name(full_name: &str) -> String {
    match full_name.rfind('/') {
        Some(i) => full_name[..i].to_string(),
        None => String::new(),
    }
}

async fn region_rows(db: &Db, p: &Principal, f: &ExportFilter) -> AppResult<Vec<Vec<String>>> {
    let filter = RegionFilter {
        under: f.region,
        level: f.level.clone(),
        q: f.q.clone(),
        ..Default::default()
    };
    let regions = service::regions::all(db, p, &filter).await?;
    let mut out = Vec::new();
    for r in regions {
        // The ancestors a scope can see are not the scope's to export.
        if !p.is_admin() && p.scope_path.starts_with(&r.path) && p.scope_path != r.path {
            continue;
        }
        let geojson = if r.has_boundary {
            service::regions::get(db, p, r.id)
                .await?
                .geojson
                .unwrap_or_default()
        } else {
            String::new()
        };
        out.push(vec![
            r.name.clone(),
            r.level.label_zh().to_string(),
            parent_full_name(&r.full_name),
            r.division_code.clone().unwrap_or_default(),
            geojson,
        ]);
    }
    Ok(out)
}

async fn station_rows(db: &Db, p: &Principal, f: &ExportFilter) -> AppResult<Vec<Vec<String>>> {
    let filter = StationFilter {
        region: f.region,
        kind: f.kind.clone(),
        q: f.q.clone(),
        include_retired: false,
    };
    let stations = service::stations::all(db, p, &filter).await?;
    Ok(stations
        .into_iter()
        .map(|s| {
            vec![
                s.name,
                s.kind.label_zh().to_string(),
                s.region.full_name,
                s.address,
                s.opening_hours,
                s.reception_schedule,
                s.partners
                    .iter()
                    .map(|x| x.label_zh())
                    .collect::<Vec<_>>()
                    .join("、"),
                s.code,
            ]
        })
        .collect())
}

async fn deputy_rows(db: &Db, p: &Principal, f: &ExportFilter) -> AppResult<Vec<Vec<String>>> {
    let filter = DeputyFilter {
        region: f.region,
        station: f.station,
        level: f.level.clone(),
        q: f.q.clone(),
        include_retired: false,
    };
    let deputies = service::deputies::all(db, p, &filter).await?;
    // Station names that repeat are written with their region, so they import back.
    let stations = service::stations::all(db, p, &StationFilter::default())
        .await
        .unwrap_or_default();
    let station_ref = |id: i64, name: &str| -> String {
        let same = stations.iter().filter(|s| s.name == name).count();
        match stations.iter().find(|s| s.id == id) {
            Some(s) if same > 1 => format!("{}/{}", s.region.full_name, s.name),
            _ => name.to_string(),
        }
    };
    Ok(deputies
        .into_iter()
        .map(|d| {
            vec![
                d.name,
                d.gender
                    .map(|g| g.label_zh().to_string())
                    .unwrap_or_default(),
                d.region.full_name,
                d.levels
                    .iter()
                    .map(|l| l.label_zh())
                    .collect::<Vec<_>>()
                    .join("、"),
                d.term,
                d.sector,
                d.duties,
                d.phone.unwrap_or_default(),
                d.stations
                    .iter()
                    .map(|s| station_ref(s.id, &s.name))
                    .collect::<Vec<_>>()
                    .join("、"),
                d.code,
            ]
        })
        .collect())
}

async fn unit_rows(db: &Db, p: &Principal, f: &ExportFilter) -> AppResult<Vec<Vec<String>>> {
    let filter = UnitFilter {
        region: f.region,
        kind: f.kind.clone(),
        q: f.q.clone(),
        include_retired: false,
    };
    let units = service::units::all(db, p, &filter).await?;
    Ok(units
        .into_iter()
        .map(|u| {
            vec![
                u.name,
                u.kind.label_zh().to_string(),
                u.region.full_name,
                u.contact_name,
                u.contact_phone,
            ]
        })
        .collect())
}
