//! Handling side of the opinions API: the scoped queue, one item with its timeline and
//! photos, moves, bulk assignment, the inbox and the export of a filtered queue.

use crate::model::{MoveInput, Opinion, Status, TimelineEvent};
use crate::service::handling::{
    self, BulkAssign, BulkItemResult, BulkOutcome, Digest, DigestItem, InboxItem,
};
use crate::service::moves;
use crate::service::read::{self, QueueFilter};
use crate::Opinions;
use axum::extract::{Path, Query};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Serialize;
use yidu_kernel::{Page, PageQuery};
use yidu_web::form::ApiJson;
use yidu_web::{ApiResult, ApiUser, AppState, RequestMeta};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/opinions", get(list_opinions))
        .route("/api/v1/opinions/export.xlsx", get(export_opinions))
        .route("/api/v1/opinions/digest", get(opinions_digest))
        .route("/api/v1/opinions/bulk-assign", post(bulk_assign))
        .route("/api/v1/opinions/{id}", get(get_opinion))
        .route("/api/v1/opinions/{id}/timeline", get(opinion_timeline))
        .route("/api/v1/opinions/{id}/photos/{file_id}", get(opinion_photo))
        .route("/api/v1/opinions/{id}/moves", post(move_opinion))
        .route("/api/v1/inbox", get(list_inbox))
        .route("/api/v1/inbox/{id}/read", post(read_inbox))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        list_opinions,
        get_opinion,
        opinion_timeline,
        opinion_photo,
        move_opinion,
        bulk_assign,
        export_opinions,
        opinions_digest,
        list_inbox,
        read_inbox
    ),
    components(schemas(
        Opinion,
        TimelineEvent,
        MoveInput,
        MoveResult,
        Status,
        BulkAssign,
        BulkOutcome,
        BulkItemResult,
        InboxPage,
        InboxItem,
        Digest,
        DigestItem
    ))
)]
pub struct HandlingApi;

/// The scoped queue of opinions, most urgent first.
#[utoipa::path(
    get, path = "/api/v1/opinions", tag = "opinions",
    params(QueueFilter, PageQuery),
    responses(
        (status = 200, description = "A page of opinions", body = Page<Opinion>),
        (status = 400, description = "A filter is invalid", body = yidu_web::error::ErrorBody),
        (status = 403, description = "The role has no queue", body = yidu_web::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn list_opinions(
    Extension(o): Extension<Opinions>,
    ApiUser(p): ApiUser,
    Query(f): Query<QueueFilter>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Page<Opinion>> {
    Ok(Json(read::queue(&o, &p, &f, &q).await?))
}

/// One opinion; personal data in full only for its current handler.
#[utoipa::path(
    get, path = "/api/v1/opinions/{id}", tag = "opinions",
    params(("id" = i64, Path, description = "Opinion id")),
    responses(
        (status = 200, description = "The opinion", body = Opinion),
        (status = 404, description = "No such opinion in the caller's scope", body = yidu_web::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn get_opinion(
    Extension(o): Extension<Opinions>,
    ApiUser(p): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Opinion> {
    Ok(Json(read::get(&o, &p, id).await?))
}

/// The full timeline of an opinion.
#[utoipa::path(
    get, path = "/api/v1/opinions/{id}/timeline", tag = "opinions",
    params(("id" = i64, Path, description = "Opinion id")),
    responses(
        (status = 200, description = "Timeline, oldest first", body = Vec<TimelineEvent>),
        (status = 404, description = "No such opinion in the caller's scope", body = yidu_web::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn opinion_timeline(
    Extension(o): Extension<Opinions>,
    ApiUser(p): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Vec<TimelineEvent>> {
    Ok(Json(read::timeline(&o, &p, id).await?))
}

/// A photo of an opinion, with its stored content type.
#[utoipa::path(
    get, path = "/api/v1/opinions/{id}/photos/{file_id}", tag = "opinions",
    params(("id" = i64, Path, description = "Opinion id"), ("file_id" = i64, Path, description = "Photo id")),
    responses(
        (status = 200, description = "The image", content_type = "image/jpeg", body = Vec<u8>),
        (status = 404, description = "No such photo in the caller's scope", body = yidu_web::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn opinion_photo(
    Extension(o): Extension<Opinions>,
    ApiUser(p): ApiUser,
    Path((id, file_id)): Path<(i64, i64)>,
) -> Result<Response, yidu_web::ApiError> {
    let (ct, bytes) = read::photo(&o, &p, id, file_id).await?;
    Ok(photo_response(ct, bytes))
}

/// Image bytes for staff eyes only: never cached by shared caches, never sniffed.
pub(crate) fn photo_response(ct: String, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, ct),
            (header::CACHE_CONTROL, "private, max-age=300".to_string()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        ],
        bytes,
    )
        .into_response()
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MoveResult {
    pub status: Status,
    /// The item after the move; None when the move took it out of the caller's scope
    /// (a unit that returned it no longer sees it).
    pub opinion: Option<Opinion>,
}

/// Makes a move on an opinion (accept, assign, take, return, reply, ...).
#[utoipa::path(
    post, path = "/api/v1/opinions/{id}/moves", tag = "opinions",
    params(("id" = i64, Path, description = "Opinion id")),
    request_body = MoveInput,
    responses(
        (status = 200, description = "The new state and the opinion", body = MoveResult),
        (status = 400, description = "A field is missing or invalid", body = yidu_web::error::ErrorBody),
        (status = 403, description = "The caller may not make this move", body = yidu_web::error::ErrorBody),
        (status = 404, description = "No such opinion in the caller's scope", body = yidu_web::error::ErrorBody),
        (status = 409, description = "The move is not allowed in the item's current state", body = yidu_web::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn move_opinion(
    Extension(o): Extension<Opinions>,
    meta: RequestMeta,
    ApiUser(p): ApiUser,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<MoveInput>,
) -> ApiResult<MoveResult> {
    let status = moves::apply(&o, &p, &meta.client, id, &input).await?;
    let opinion = match read::get(&o, &p, id).await {
        Ok(v) => Some(v),
        Err(yidu_kernel::AppError::NotFound) => None,
        Err(e) => return Err(e.into()),
    };
    Ok(Json(MoveResult { status, opinion }))
}

/// Assigns several opinions to one unit: all are checked first, and if any is refused
/// none is moved (409 with the refusals named per item).
#[utoipa::path(
    post, path = "/api/v1/opinions/bulk-assign", tag = "opinions",
    request_body = BulkAssign,
    responses(
        (status = 200, description = "Every item was assigned", body = BulkOutcome),
        (status = 400, description = "ids or unit_id is missing or invalid", body = yidu_web::error::ErrorBody),
        (status = 409, description = "Some item was refused; per-item results", body = BulkOutcome),
    ),
    security(("bearer" = []))
)]
async fn bulk_assign(
    Extension(o): Extension<Opinions>,
    meta: RequestMeta,
    ApiUser(p): ApiUser,
    ApiJson(input): ApiJson<BulkAssign>,
) -> Result<Response, yidu_web::ApiError> {
    let out = handling::bulk_assign(&o, &p, &meta.client, &input).await?;
    let status = if out.done {
        StatusCode::OK
    } else {
        StatusCode::CONFLICT
    };
    Ok((status, Json(out)).into_response())
}

/// The filtered queue as an .xlsx file (personal data masked unless the caller handles
/// the item).
#[utoipa::path(
    get, path = "/api/v1/opinions/export.xlsx", tag = "opinions",
    params(QueueFilter),
    responses(
        (status = 200, description = "The workbook",
         content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
        (status = 400, description = "A filter is invalid", body = yidu_web::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn export_opinions(
    Extension(o): Extension<Opinions>,
    ApiUser(p): ApiUser,
    Query(f): Query<QueueFilter>,
) -> Result<Response, yidu_web::ApiError> {
    let bytes = handling::export_xlsx(&o, &p, &f).await?;
    Ok(xlsx_response(bytes))
}

pub(crate) fn xlsx_response(bytes: Vec<u8>) -> Response {
    let name = format!(
        "opinions-{}.xlsx",
        yidu_kernel::clock::format_china(yidu_kernel::clock::now_ms())
            .get(..10)
            .unwrap_or("export")
    );
    (
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        bytes,
    )
        .into_response()
}

/// What is due today, soon (yellow) and overdue (red) in the caller's scope.
#[utoipa::path(
    get, path = "/api/v1/opinions/digest", tag = "opinions",
    responses((status = 200, description = "The digest", body = Digest)),
    security(("bearer" = []))
)]
async fn opinions_digest(
    Extension(o): Extension<Opinions>,
    ApiUser(p): ApiUser,
) -> ApiResult<Digest> {
    Ok(Json(handling::digest(&o, &p).await?))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InboxPage {
    pub items: Vec<InboxItem>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
    pub unread: i64,
}

/// The caller's notifications, newest first.
#[utoipa::path(
    get, path = "/api/v1/inbox", tag = "opinions",
    params(PageQuery),
    responses((status = 200, description = "Notifications", body = InboxPage)),
    security(("bearer" = []))
)]
async fn list_inbox(
    Extension(o): Extension<Opinions>,
    ApiUser(p): ApiUser,
    Query(q): Query<PageQuery>,
) -> ApiResult<InboxPage> {
    let (page, unread) = handling::inbox(&o, &p, &q).await?;
    Ok(Json(InboxPage {
        items: page.items,
        total: page.total,
        page: page.page,
        per_page: page.per_page,
        unread,
    }))
}

/// Marks a notification read.
#[utoipa::path(
    post, path = "/api/v1/inbox/{id}/read", tag = "opinions",
    params(("id" = i64, Path, description = "Notification id")),
    responses(
        (status = 204, description = "Marked read"),
        (status = 404, description = "No such notification for the caller", body = yidu_web::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn read_inbox(
    Extension(o): Extension<Opinions>,
    ApiUser(p): ApiUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, yidu_web::ApiError> {
    handling::mark_read(&o, &p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
