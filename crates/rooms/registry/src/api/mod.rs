//! JSON API of the registry under `/api/v1`: list (paginated, filtered, `q` searches
//! names), create, read, patch and retire regions, stations, deputies, units and
//! committees; deputy photos; spreadsheet import, export and templates.

mod orgs;
mod places;
mod transfer;

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::routing::{get, post};
use axum::Router;
use serde::de::DeserializeOwned;
use yidu_kernel::AppError;
use yidu_web::{ApiError, AppState};

pub use orgs::*;
pub use places::*;
pub use transfer::*;

/// Query string parameters whose errors come in the API's error shape.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(v)) => Ok(ApiQuery(v)),
            Err(rej) => {
                let text = rej.body_text();
                Err(ApiError(AppError::bad_request(
                    &format!("查询参数有误：{text}"),
                    &format!("Invalid query parameters: {text}"),
                )))
            }
        }
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/regions", get(list_regions).post(create_region))
        .route("/api/v1/regions/tree", get(region_tree))
        .route("/api/v1/regions/{id}", get(get_region).patch(update_region))
        .route("/api/v1/regions/{id}/retire", post(retire_region))
        .route("/api/v1/stations", get(list_stations).post(create_station))
        .route(
            "/api/v1/stations/{id}",
            get(get_station).patch(update_station),
        )
        .route("/api/v1/stations/{id}/retire", post(retire_station))
        .route("/api/v1/deputies", get(list_deputies).post(create_deputy))
        .route(
            "/api/v1/deputies/{id}",
            get(get_deputy).patch(update_deputy),
        )
        .route("/api/v1/deputies/{id}/retire", post(retire_deputy))
        .route(
            "/api/v1/deputies/{id}/photo",
            get(get_photo)
                .put(put_photo)
                .post(put_photo)
                .delete(delete_photo)
                .layer(axum::extract::DefaultBodyLimit::max(
                    crate::model::check::MAX_PHOTO_BYTES + 64 * 1024,
                )),
        )
        .route("/api/v1/units", get(list_units).post(create_unit))
        .route("/api/v1/units/{id}", get(get_unit).patch(update_unit))
        .route("/api/v1/units/{id}/retire", post(retire_unit))
        .route(
            "/api/v1/committees",
            get(list_committees).post(create_committee),
        )
        .route(
            "/api/v1/committees/{id}",
            get(get_committee).patch(update_committee),
        )
        .route("/api/v1/committees/{id}/retire", post(retire_committee))
        .route("/api/v1/registry/counts", get(registry_counts))
        .route("/api/v1/import/{kind}/template.xlsx", get(import_template))
        .route(
            "/api/v1/import/{kind}",
            post(import_file).layer(axum::extract::DefaultBodyLimit::max(
                crate::xlsx::MAX_FILE_BYTES,
            )),
        )
        .route("/api/v1/export/{kind}", get(export_file))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        list_regions, create_region, region_tree, get_region, update_region, retire_region,
        list_stations, create_station, get_station, update_station, retire_station,
        list_deputies, create_deputy, get_deputy, update_deputy, retire_deputy,
        get_photo, put_photo, delete_photo,
        list_units, create_unit, get_unit, update_unit, retire_unit,
        list_committees, create_committee, get_committee, update_committee, retire_committee,
        registry_counts, import_template, import_file, export_file,
    ),
    components(schemas(
        crate::model::Region, crate::model::RegionNode, crate::model::RegionRef, crate::model::RegionInput,
        crate::model::RegionPatch, crate::model::Station, crate::model::StationRef, crate::model::StationInput,
        crate::model::StationPatch, crate::model::Deputy, crate::model::DeputyInput, crate::model::DeputyPatch,
        crate::model::Unit, crate::model::UnitInput, crate::model::UnitPatch, crate::model::Committee,
        crate::model::CommitteeInput, crate::model::CommitteePatch, crate::model::Counts,
        crate::model::RegionLevel, crate::model::StationKind, crate::model::Partner, crate::model::DeputyLevel,
        crate::model::UnitKind, crate::model::Gender, crate::xlsx::ImportReport,
    )),
    tags((name = "registry", description = "区域、联络站、代表、承办单位、工委 / Regions, stations, deputies, units, committees"))
)]
pub struct RegistryApi;
