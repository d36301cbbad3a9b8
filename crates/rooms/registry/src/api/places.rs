//! API handlers of regions and stations.

use super::ApiQuery;
use crate::model::{
    Region, RegionInput, RegionNode, RegionPatch, Station, StationInput, StationPatch,
};
use crate::service;
use crate::service::regions::RegionFilter;
use crate::service::stations::StationFilter;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use yidu_kernel::{Page, PageQuery};
use yidu_web::error::ErrorBody;
use yidu_web::form::ApiJson;
use yidu_web::{ApiError, ApiResult, ApiUser, AppState, RequestMeta};

/// 区域树 / The active region tree within the caller's scope.
#[utoipa::path(
    get, path = "/api/v1/regions/tree", tag = "registry",
    responses(
        (status = 200, description = "Nested regions", body = Vec<RegionNode>),
        (status = 403, description = "The role reads no regions", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn region_tree(
    State(state): State<AppState>,
    ApiUser(p): ApiUser,
) -> ApiResult<Vec<RegionNode>> {
    Ok(Json(service::regions::tree(&state.db, &p).await?))
}

/// 区域列表 / List regions within the caller's scope.
#[utoipa::path(
    get, path = "/api/v1/regions", tag = "registry",
    params(RegionFilter, PageQuery),
    responses(
        (status = 200, description = "A page of regions", body = Page<Region>),
        (status = 403, description = "The role reads no regions", body = ErrorBody),
        (status = 422, description = "A bad filter", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list_regions(
    State(state): State<AppState>,
    ApiUser(p): ApiUser,
    ApiQuery(f): ApiQuery<RegionFilter>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Page<Region>> {
    Ok(Json(service::regions::list(&state.db, &p, &f, &q).await?))
}

/// 新建区域 / Create a region.
#[utoipa::path(
    post, path = "/api/v1/regions", tag = "registry",
    request_body = RegionInput,
    responses(
        (status = 201, description = "Created", body = Region),
        (status = 403, description = "Outside the caller's scope", body = ErrorBody),
        (status = 422, description = "Invalid fields, each named", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn create_region(
    State(state): State<AppState>,
    meta: RequestMeta,
    ApiUser(p): ApiUser,
    ApiJson(input): ApiJson<RegionInput>,
) -> Result<(StatusCode, Json<Region>), ApiError> {
    let created = service::regions::create(&state.db, &p, &meta.client, input).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// 查看区域 / One region.
#[utoipa::path(
    get, path = "/api/v1/regions/{id}", tag = "registry",
    params(("id" = i64, Path, description = "Id")),
    responses(
        (status = 200, description = "The region", body = Region),
        (status = 404, description = "No such region within the caller's scope", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get_region(
    State(state): State<AppState>,
    ApiUser(p): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Region> {
    Ok(Json(service::regions::get(&state.db, &p, id).await?))
}

/// 修改区域（未给出的字段不变）/ Change a region; fields left out stay as they are.
#[utoipa::path(
    patch, path = "/api/v1/regions/{id}", tag = "registry",
    params(("id" = i64, Path, description = "Id")),
    request_body = RegionPatch,
    responses(
        (status = 200, description = "The changed region", body = Region),
        (status = 403, description = "Outside the caller's scope", body = ErrorBody),
        (status = 404, description = "No such region", body = ErrorBody),
        (status = 409, description = "The region is retired", body = ErrorBody),
        (status = 422, description = "Invalid fields, each named", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn update_region(
    State(state): State<AppState>,
    meta: RequestMeta,
    ApiUser(p): ApiUser,
    Path(id): Path<i64>,
    ApiJson(patch): ApiJson<RegionPatch>,
) -> ApiResult<Region> {
    Ok(Json(
        service::regions::update(&state.db, &p, &meta.client, id, patch).await?,
    ))
}

/// 撤销区域 / Retire a region.
#[utoipa::path(
    post, path = "/api/v1/regions/{id}/retire", tag = "registry",
    params(("id" = i64, Path, description = "Id")),
    responses(
        (status = 200, description = "The retired region", body = Region),
        (status = 403, description = "Outside the caller's scope", body = ErrorBody),
        (status = 404, description = "No such region", body = ErrorBody),
        (status = 409, description = "Already retired, or still in use", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn retire_region(
    State(state): State<AppState>,
    meta: RequestMeta,
    ApiUser(p): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Region> {
    Ok(Json(
        service::regions::retire(&state.db, &p, &meta.client, id).await?,
    ))
}

/// 联络站列表 / List stations within the caller's scope.
#[utoipa::path(
    get, path = "/api/v1/stations", tag = "registry",
    params(StationFilter, PageQuery),
    responses(
        (status = 200, description = "A page of stations", body = Page<Station>),
        (status = 403, description = "The role reads no stations", body = ErrorBody),
        (status = 422, description = "A bad filter", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list_stations(
    State(state): State<AppState>,
    ApiUser(p): ApiUser,
    ApiQuery(f): ApiQuery<StationFilter>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Page<Station>> {
    Ok(Json(service::stations::list(&state.db, &p, &f, &q).await?))
}

/// 新建联络站 / Create a station.
#[utoipa::path(
    post, path = "/api/v1/stations", tag = "registry",
    request_body = StationInput,
    responses(
        (status = 201, description = "Created", body = Station),
        (status = 403, description = "Outside the caller's scope", body = ErrorBody),
        (status = 422, description = "Invalid fields, each named", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn create_station(
    State(state): State<AppState>,
    meta: RequestMeta,
    ApiUser(p): ApiUser,
    ApiJson(input): ApiJson<StationInput>,
) -> Result<(StatusCode, Json<Station>), ApiError> {
    let created = service::stations::create(&state.db, &p, &meta.client, input).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// 查看联络站 / One station.
#[utoipa::path(
    get, path = "/api/v1/stations/{id}", tag = "registry",
    params(("id" = i64, Path, description = "Id")),
    responses(
        (status = 200, description = "The station", body = Station),
        (status = 404, description = "No such station within the caller's scope", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get_station(
    State(state): State<AppState>,
    ApiUser(p): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Station> {
    Ok(Json(service::stations::get(&state.db, &p, id).await?))
}

/// 修改联络站（未给出的字段不变）/ Change a station; fields left out stay as they are.
#[utoipa::path(
    patch, path = "/api/v1/stations/{id}", tag = "registry",
    params(("id" = i64, Path, description = "Id")),
    request_body = StationPatch,
    responses(
        (status = 200, description = "The changed station", body = Station),
        (status = 403, description = "Outside the caller's scope", body = ErrorBody),
        (status = 404, description = "No such station", body = ErrorBody),
        (status = 409, description = "The station is retired", body = ErrorBody),
        (status = 422, description = "Invalid fields, each named", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn update_station(
    State(state): State<AppState>,
    meta: RequestMeta,
    ApiUser(p): ApiUser,
    Path(id): Path<i64>,
    ApiJson(patch): ApiJson<StationPatch>,
) -> ApiResult<Station> {
    Ok(Json(
        service::stations::update(&state.db, &p, &meta.client, id, patch).await?,
    ))
}

/// 撤销联络站 / Retire a station.
#[utoipa::path(
    post, path = "/api/v1/stations/{id}/retire", tag = "registry",
    params(("id" = i64, Path, description = "Id")),
    responses(
        (status = 200, description = "The retired station", body = Station),
        (status = 403, description = "Outside the caller's scope", body = ErrorBody),
        (status = 404, description = "No such station", body = ErrorBody),
        (status = 409, description = "Already retired, or still in use", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn retire_station(
    State(state): State<AppState>,
    meta: RequestMeta,
    ApiUser(p): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Station> {
    Ok(Json(
        service::stations::retire(&state.db, &p, &meta.client, id).await?,
    ))
}
