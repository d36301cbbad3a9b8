//! API handlers of spreadsheet import, export and templates.

use super::ApiQuery;
use crate::xlsx::{self, ExportFilter, ImportReport, Kind};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use yidu_web::error::ErrorBody;
use yidu_web::{ApiError, ApiResult, ApiUser, AppState, RequestMeta};

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// An .xlsx download with a file name.
pub fn xlsx_response(file_name: &str, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, XLSX.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// 导入模板 / The empty spreadsheet to fill in for an import, with an instructions sheet.
#[utoipa::path(
    get, path = "/api/v1/import/{kind}/template.xlsx", tag = "registry",
    params(("kind" = String, Path, description = "regions, stations, deputies or units")),
    responses(
        (status = 200, description = "The template", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 400, description = "Unknown kind", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn import_template(
    ApiUser(_p): ApiUser,
    Path(kind): Path<String>,
) -> Result<Response, ApiError> {
    let kind = Kind::parse(&kind)?;
    Ok(xlsx_response(
        &format!("yidu-{}-template.xlsx", kind.as_str()),
        xlsx::template(kind)?,
    ))
}

/// 批量导入：请求体为 .xlsx 文件；有任何问题则整份不导入，并逐一列出行、列和原因 /
/// Bulk import: the body is the .xlsx file itself. Any problem rejects the whole file and
/// lists every problem with its row and column.
#[utoipa::path(
    post, path = "/api/v1/import/{kind}", tag = "registry",
    params(("kind" = String, Path, description = "regions, stations, deputies or units")),
    request_body(content = Vec<u8>, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    responses(
        (status = 200, description = "Every row imported", body = ImportReport),
        (status = 403, description = "The role may not import", body = ErrorBody),
        (status = 422, description = "Nothing imported; details list each problem by row and column", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn import_file(
    State(state): State<AppState>,
    meta: RequestMeta,
    ApiUser(p): ApiUser,
    Path(kind): Path<String>,
    body: Bytes,
) -> ApiResult<ImportReport> {
    Ok(Json(
        xlsx::import(&state.db, &p, &meta.client, &kind, &body).await?,
    ))
}

/// 导出：按筛选条件导出为与导入相同格式的 .xlsx / Export the filtered list as .xlsx in
/// the import format.
#[utoipa::path(
    get, path = "/api/v1/export/{kind}", tag = "registry",
    params(("kind" = String, Path, description = "regions, stations, deputies or units"), ExportFilter),
    responses(
        (status = 200, description = "The spreadsheet", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 403, description = "The role reads none of this kind", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn export_file(
    State(state): State<AppState>,
    ApiUser(p): ApiUser,
    Path(kind): Path<String>,
    ApiQuery(f): ApiQuery<ExportFilter>,
) -> Result<Response, ApiError> {
    let kind = Kind::parse(&kind)?;
    let bytes = xlsx::export_filtered(&state.db, &p, kind, &f).await?;
    Ok(xlsx_response(&kind.file_name(), bytes))
}
