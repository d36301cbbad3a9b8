//! API handlers of deputies (with photos), units and committees.

use super::ApiQuery;
use crate::model::{
    Committee, CommitteeInput, CommitteePatch, Counts, Deputy, DeputyInput, DeputyPatch, Unit,
    UnitInput, UnitPatch,
};
use crate::service;
use crate::service::deputies::DeputyFilter;
use crate::service::units::UnitFilter;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use yidu_kernel::{Page, PageQuery};
use yidu_web::error::ErrorBody;
use yidu_web::form::ApiJson;
use yidu_web::{ApiError, ApiResult, ApiUser, AppState, RequestMeta};

/// 代表照片 / The deputy's photo (JPEG or PNG).
#[utoipa::path(
    get, path = "/api/v1/deputies/{id}/photo", tag = "registry",
    params(("id" = i64, Path, description = "Deputy id")),
    responses(
        (status = 200, description = "The photo", content_type = "image/jpeg"),
        (status = 404, description = "No such deputy in scope, or no photo", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get_photo(
    State(state): State<AppState>,
    ApiUser(p): ApiUser,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let (content_type, bytes) = service::deputies::photo(&state.db, &p, id).await?;
    Ok(([(header::CONTENT_TYPE, content_type)], bytes).into_response())
}

/// 上传代表照片（请求体为 JPEG 或 PNG 图片，不超过 2 MB）/ Upload the deputy's photo: the
/// body is the JPEG or PNG image itself, at most 2 MB, checked by its content.
#[utoipa::path(
    put, path = "/api/v1/deputies/{id}/photo", tag = "registry",
    params(("id" = i64, Path, description = "Deputy id")),
    request_body(content = Vec<u8>, content_type = "image/jpeg"),
    responses(
        (status = 200, description = "The deputy, with has_photo set", body = Deputy),
        (status = 403, description = "Outside the caller's scope", body = ErrorBody),
        (status = 422, description = "Not a JPEG or PNG, or too large", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn put_photo(
    State(state): State<AppState>,
    meta: RequestMeta,
    ApiUser(p): ApiUser,
    Path(id): Path<i64>,
    body: Bytes,
) -> ApiResult<Deputy> {
    Ok(Json(
        service::deputies::set_photo(&state.db, &p, &meta.client, id, &body).await?,
    ))
}

/// 删除代表照片 / Remove the deputy's photo.
#[utoipa::path(
    delete, path = "/api/v1/deputies/{id}/photo", tag = "registry",
    params(("id" = i64, Path, description = "Deputy id")),
    responses(
        (status = 200, description = "The deputy", body = Deputy),
        (status = 403, description = "Outside the caller's scope", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn delete_photo(
    State(state): State<AppState>,
    meta: RequestMeta,
    ApiUser(p): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Deputy> {
    Ok(Json(
        service::deputies::delete_photo(&state.db, &p, &meta.client, id).await?,
    ))
}

/// 范围内的名册数量 / Counts of active registry rows within the caller's scope.
#[utoipa::path(
    get, path = "/api/v1/registry/counts", tag = "registry",
    responses((status = 200, description = "Counts", body = Counts)),
    security(("bearer" = []))
)]
pub async fn registry_counts(
    State(state): State<AppState>,
    ApiUser(p): ApiUser,
) -> ApiResult<Counts> {
    Ok(Json(service::counts(&state.db, &p).await?))
}

/// 代表列表 / List deputies within the caller's scope.
#[utoipa::path(
    get, path = "/api/v1/deputies", tag = "registry",
    params(DeputyFilter, PageQuery),
    responses(
        (status = 200, description = "A page of deputies", body = Page<Deputy>),
        (status = 403, description = "The role reads no deputies", body = ErrorBody),
        (status = 422, description = "A bad filter", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list_deputies(
    State(state): State<AppState>,
    ApiUser(p): ApiUser,
    ApiQuery(f): ApiQuery<DeputyFilter>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Page<Deputy>> {
    Ok(Json(service::deputies::list(&state.db, &p, &f, &q).await?))
}

/// 新建代表 / Create a deputy.
#[utoipa::path(
    post, path = "/api/v1/deputies", tag = "registry",
    request_body = DeputyInput,
    responses(
        (status = 201, description = "Created", body = Deputy),
        (status = 403, description = "Outside the caller's scope", body = ErrorBody),
        (status = 422, description = "Invalid fields, each named", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn create_deputy(
    State(state): State<AppState>,
    meta: RequestMeta,
    ApiUser(p): ApiUser,
    ApiJson(input): ApiJson<DeputyInput>,
) -> Result<(StatusCode, Json<Deputy>), ApiError> {
    let created = service::deputies::create(&state.db, &p, &meta.client, input).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// 查看代表 / One deputy.
#[utoipa::path(
    get, path = "/api/v1/deputies/{id}", tag = "registry",
    params(("id" = i64, Path, description = "Id")),
    responses(
        (status = 200, description = "The deputy", body = Deputy),
        (status = 404, description = "No such deputy within the caller's scope", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get_deputy(
    State(state): State<AppState>,
    ApiUser(p): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Deputy> {
    Ok(Json(service::deputies::get(&state.db, &p, id).await?))
}

/// 修改代表（未给出的字段不变）/ Change a deputy; fields left out stay as they are.
#[utoipa::path(
    patch, path = "/api/v1/deputies/{id}", tag = "registry",
    params(("id" = i64, Path, description = "Id")),
    request_body = DeputyPatch,
    responses(
        (status = 200, description = "The changed deputy", body = Deputy),
        (status = 403, description = "Outside the caller's scope", body = ErrorBody),
        (status = 404, description = "No such deputy", body = ErrorBody),
        (status = 409, description = "The deputy is retired", body = ErrorBody),
        (status = 422, description = "Invalid fields, each named", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn update_deputy(
    State(state): State<AppState>,
    meta: RequestMeta,
    ApiUser(p): ApiUser,
    Path(id): Path<i64>,
    ApiJson(patch): ApiJson<DeputyPatch>,
) -> ApiResult<Deputy> {
    Ok(Json(
        service::deputies::update(&state.db, &p, &meta.client, id, patch).await?,
    ))
}

/// 撤销代表 / Retire a deputy.
#[utoipa::path(
    post, path = "/api/v1/deputies/{id}/retire", tag = "registry",
    params(("id" = i64, Path, description = "Id")),
    responses(
        (status = 200, description = "The retired deputy", body = Deputy),
        (status = 403, description = "Outside the caller's scope", body = ErrorBody),
        (status = 404, description = "No such deputy", body = ErrorBody),
        (status = 409, description = "Already retired, or still in use", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn retire_deputy(
    State(state): State<AppState>,
    meta: RequestMeta,
    ApiUser(p): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Deputy> {
    Ok(Json(
        service::deputies::retire(&state.db, &p, &meta.client, id).await?,
    ))
}

/// 承办单位列表 / List units within the caller's scope.
#[utoipa::path(
    get, path = "/api/v1/units", tag = "registry",
    params(UnitFilter, PageQuery),
    responses(
        (status = 200, description = "A page of units", body = Page<Unit>),
        (status = 403, description = "The role reads no units", body = ErrorBody),
        (status = 422, description = "A bad filter", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list_units(
    State(state): State<AppState>,
    ApiUser(p): ApiUser,
    ApiQuery(f): ApiQuery<UnitFilter>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Page<Unit>> {
    Ok(Json(service::units::list(&state.db, &p, &f, &q).await?))
}

/// 新建承办单位 / Create a unit.
#[utoipa::path(
    post, path = "/api/v1/units", tag = "registry",
    request_body = UnitInput,
    responses(
        (status = 201, description = "Created", body = Unit),
        (status = 403, description = "Outside the caller's scope", body = ErrorBody),
        (status = 422, description = "Invalid fields, each named", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn create_unit(
    State(state): State<AppState>,
    meta: RequestMeta,
    ApiUser(p): ApiUser,
    ApiJson(input): ApiJson<UnitInput>,
) -> Result<(StatusCode, Json<Unit>), ApiError> {
    let created = service::units::create(&state.db, &p, &meta.client, input).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// 查看承办单位 / One unit.
#[utoipa::path(
    get, path = "/api/v1/units/{id}", tag = "registry",
    params(("id" = i64, Path, description = "Id")),
    responses(
        (status = 200, description = "The unit", body = Unit),
        (status = 404, description = "No such unit within the caller's scope", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get_unit(
    State(state): State<AppState>,
    ApiUser(p): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Unit> {
    Ok(Json(service::units::get(&state.db, &p, id).await?))
}

/// 修改承办单位（未给出的字段不变）/ Change a unit; fields left out stay as they are.
#[utoipa::path(
    patch, path = "/api/v1/units/{id}", tag = "registry",
    params(("id" = i64, Path, description = "Id")),
    request_body = UnitPatch,
    responses(
        (status = 200, description = "The changed unit", body = Unit),
        (status = 403, description = "Outside the caller's scope", body = ErrorBody),
        (status = 404, description = "No such unit", body = ErrorBody),
        (status = 409, description = "The unit is retired", body = ErrorBody),
        (status = 422, description = "Invalid fields, each named", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn update_unit(
    State(state): State<AppState>,
    meta: RequestMeta,
    ApiUser(p): ApiUser,
    Path(id): Path<i64>,
    ApiJson(patch): ApiJson<UnitPatch>,
) -> ApiResult<Unit> {
    Ok(Json(
        service::units::update(&state.db, &p, &meta.client, id, patch).await?,
    ))
}

/// 撤销承办单位 / Retire a unit.
#[utoipa::path(
    post, path = "/api/v1/units/{id}/retire", tag = "registry",
    params(("id" = i64, Path, description = "Id")),
    responses(
        (status = 200, description = "The retired unit", body = Unit),
        (status = 403, description = "Outside the caller's scope", body = ErrorBody),
        (status = 404, description = "No such unit", body = ErrorBody),
        (status = 409, description = "Already retired, or still in use", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn retire_unit(
    State(state): State<AppState>,
    meta: RequestMeta,
    ApiUser(p): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Unit> {
    Ok(Json(
        service::units::retire(&state.db, &p, &meta.client, id).await?,
    ))
}

/// 工委列表 / List committees within the caller's scope.
#[utoipa::path(
    get, path = "/api/v1/committees", tag = "registry",
    params(UnitFilter, PageQuery),
    responses(
        (status = 200, description = "A page of committees", body = Page<Committee>),
        (status = 403, description = "The role reads no committees", body = ErrorBody),
        (status = 422, description = "A bad filter", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list_committees(
    State(state): State<AppState>,
    ApiUser(p): ApiUser,
    ApiQuery(f): ApiQuery<UnitFilter>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Page<Committee>> {
    Ok(Json(
        service::units::list_committees(&state.db, &p, &f, &q).await?,
    ))
}

/// 新建工委 / Create a committee.
#[utoipa::path(
    post, path = "/api/v1/committees", tag = "registry",
    request_body = CommitteeInput,
    responses(
        (status = 201, description = "Created", body = Committee),
        (status = 403, description = "Outside the caller's scope", body = ErrorBody),
        (status = 422, description = "Invalid fields, each named", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn create_committee(
    State(state): State<AppState>,
    meta: RequestMeta,
    ApiUser(p): ApiUser,
    ApiJson(input): ApiJson<CommitteeInput>,
) -> Result<(StatusCode, Json<Committee>), ApiError> {
    let created = service::units::create_committee(&state.db, &p, &meta.client, input).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// 查看工委 / One committee.
#[utoipa::path(
    get, path = "/api/v1/committees/{id}", tag = "registry",
    params(("id" = i64, Path, description = "Id")),
    responses(
        (status = 200, description = "The committee", body = Committee),
        (status = 404, description = "No such committee within the caller's scope", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get_committee(
    State(state): State<AppState>,
    ApiUser(p): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Committee> {
    Ok(Json(
        service::units::get_committee(&state.db, &p, id).await?,
    ))
}

/// 修改工委（未给出的字段不变）/ Change a committee; fields left out stay as they are.
#[utoipa::path(
    patch, path = "/api/v1/committees/{id}", tag = "registry",
    params(("id" = i64, Path, description = "Id")),
    request_body = CommitteePatch,
    responses(
        (status = 200, description = "The changed committee", body = Committee),
        (status = 403, description = "Outside the caller's scope", body = ErrorBody),
        (status = 404, description = "No such committee", body = ErrorBody),
        (status = 409, description = "The committee is retired", body = ErrorBody),
        (status = 422, description = "Invalid fields, each named", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn update_committee(
    State(state): State<AppState>,
    meta: RequestMeta,
    ApiUser(p): ApiUser,
    Path(id): Path<i64>,
    ApiJson(patch): ApiJson<CommitteePatch>,
) -> ApiResult<Committee> {
    Ok(Json(
        service::units::update_committee(&state.db, &p, &meta.client, id, patch).await?,
    ))
}

/// 撤销工委 / Retire a committee.
#[utoipa::path(
    post, path = "/api/v1/committees/{id}/retire", tag = "registry",
    params(("id" = i64, Path, description = "Id")),
    responses(
        (status = 200, description = "The retired committee", body = Committee),
        (status = 403, description = "Outside the caller's scope", body = ErrorBody),
        (status = 404, description = "No such committee", body = ErrorBody),
        (status = 409, description = "Already retired, or still in use", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn retire_committee(
    State(state): State<AppState>,
    meta: RequestMeta,
    ApiUser(p): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Committee> {
    Ok(Json(
        service::units::retire_committee(&state.db, &p, &meta.client, id).await?,
    ))
}
