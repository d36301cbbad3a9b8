//! Registry types: what the API returns (records) and what it accepts (inputs and
//! patches). Inputs carry vocabulary words as strings so that a wrong word becomes a
//! field error in both languages rather than a generic parse failure.

pub mod check;
pub mod kinds;

pub use kinds::{DeputyLevel, Gender, Partner, RegionLevel, StationKind, UnitKind};

use serde::{Deserialize, Serialize};

/// A node of the region tree.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Region {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub level: RegionLevel,
    pub name: String,
    /// Names from the top of the tree down to this region, joined by "/".
    pub full_name: String,
    pub division_code: Option<String>,
    /// Materialized path of ids, e.g. "/1/4/17/".
    pub path: String,
    /// The district this region lies in (itself for a district; none above districts).
    pub district_id: Option<i64>,
    /// GeoJSON boundary; only filled when a single region is read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub geojson: Option<String>,
    pub has_boundary: bool,
    pub retired: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A region with its children, for the tree view.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RegionNode {
    pub id: i64,
    pub level: RegionLevel,
    pub name: String,
    #[schema(no_recursion)]
    pub children: Vec<RegionNode>,
}

/// A region as other records name it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RegionRef {
    pub id: i64,
    pub name: String,
    pub full_name: String,
    pub path: String,
    pub district_id: Option<i64>,
}

/// 代表联络站（总站/站/点）.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Station {
    pub id: i64,
    /// Stable public code: the station's page is `/c/s/{code}`.
    pub code: String,
    pub kind: StationKind,
    pub name: String,
    pub region: RegionRef,
    pub address: String,
    pub opening_hours: String,
    pub reception_schedule: String,
    pub partners: Vec<Partner>,
    pub retired: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A station as a deputy's record names it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct StationRef {
    pub id: i64,
    pub code: String,
    pub name: String,
}

/// 人大代表.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Deputy {
    pub id: i64,
    /// Stable public code: the deputy's page is `/c/d/{code}`.
    pub code: String,
    pub name: String,
    pub gender: Option<Gender>,
    pub region: RegionRef,
    pub levels: Vec<DeputyLevel>,
    /// 届次, e.g. 第十八届.
    pub term: String,
    /// 界别.
    pub sector: String,
    /// 职务.
    pub duties: String,
    /// Only shown to staff whose scope covers the deputy, and to the deputy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    pub stations: Vec<StationRef>,
    pub has_photo: bool,
    pub retired: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// 承办单位.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Unit {
    pub id: i64,
    pub kind: UnitKind,
    pub name: String,
    pub region: RegionRef,
    pub contact_name: String,
    pub contact_phone: String,
    pub retired: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// 人大常委会工作委员会（工委）.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Committee {
    pub id: i64,
    pub name: String,
    pub region: RegionRef,
    pub contact_name: String,
    pub contact_phone: String,
    pub retired: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct RegionInput {
    /// None only for a top region (administrators).
    pub parent_id: Option<i64>,
    /// province, city, district, township, community or grid.
    pub level: String,
    pub name: String,
    #[serde(default)]
    pub division_code: Option<String>,
    /// GeoJSON Polygon or MultiPolygon.
    #[serde(default)]
    pub geojson: Option<String>,
}

/// Fields left out stay as they are; an empty string clears an optional field.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct RegionPatch {
    pub name: Option<String>,
    pub division_code: Option<String>,
    pub geojson: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct StationInput {
    pub region_id: i64,
    /// hub, station or point.
    pub kind: String,
    pub name: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub opening_hours: String,
    #[serde(default)]
    pub reception_schedule: String,
    /// social_governance, civilization_practice, party_service.
    #[serde(default)]
    pub partners: Vec<String>,
    /// Public code to keep (when moving a registry); generated when absent.
    #[serde(default)]
    pub code: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct StationPatch {
    pub region_id: Option<i64>,
    pub kind: Option<String>,
    pub name: Option<String>,
    pub address: Option<String>,
    pub opening_hours: Option<String>,
    pub reception_schedule: Option<String>,
    pub partners: Option<Vec<String>>,
}

impl StationPatch {
    /// Station staff may change only the opening and reception schedule of their station.
    pub fn only_schedule(&self) -> bool {
        self.region_id.is_none()
            && self.kind.is_none()
            && self.name.is_none()
            && self.address.is_none()
            && self.partners.is_none()
    }
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct DeputyInput {
    pub region_id: i64,
    pub name: String,
    /// male, female (or empty).
    #[serde(default)]
    pub gender: String,
    /// national, provincial, city, district, township; at least one.
    pub levels: Vec<String>,
    #[serde(default)]
    pub term: String,
    #[serde(default)]
    pub sector: String,
    #[serde(default)]
    pub duties: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub station_ids: Vec<i64>,
    /// Public code to keep (when moving a registry); generated when absent.
    #[serde(default)]
    pub code: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct DeputyPatch {
    pub region_id: Option<i64>,
    pub name: Option<String>,
    pub gender: Option<String>,
    pub levels: Option<Vec<String>>,
    pub term: Option<String>,
    pub sector: Option<String>,
    pub duties: Option<String>,
    pub phone: Option<String>,
    pub station_ids: Option<Vec<i64>>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct UnitInput {
    pub region_id: i64,
    /// government_department, government, supervision_commission, court, procuratorate,
    /// township_government, other.
    pub kind: String,
    pub name: String,
    #[serde(default)]
    pub contact_name: String,
    #[serde(default)]
    pub contact_phone: String,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct UnitPatch {
    pub region_id: Option<i64>,
    pub kind: Option<String>,
    pub name: Option<String>,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
}

impl UnitPatch {
    /// A unit's own handler may change only its contacts.
    pub fn only_contacts(&self) -> bool {
        self.region_id.is_none() && self.kind.is_none() && self.name.is_none()
    }
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct CommitteeInput {
    pub region_id: i64,
    pub name: String,
    #[serde(default)]
    pub contact_name: String,
    #[serde(default)]
    pub contact_phone: String,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct CommitteePatch {
    pub region_id: Option<i64>,
    pub name: Option<String>,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
}

impl CommitteePatch {
    pub fn only_contacts(&self) -> bool {
        self.region_id.is_none() && self.name.is_none()
    }
}

/// Counts for the staff desk (工作台).
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Counts {
    pub regions: i64,
    pub stations: i64,
    pub deputies: i64,
    pub units: i64,
    pub committees: i64,
}
