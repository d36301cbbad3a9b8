//! Handling side of the opinions API: the scoped queue, one item with its timeline and
//! photos, moves, bulk assignment, the inbox and the export of a filtered queue.

use crate::model::attachment::{NamedUpload, MAX_ATTACHMENTS};
use crate::model::{AttachmentInfo, MoveInput, Opinion, Status, TimelineEvent};
use crate::service::digest_send::{self, DigestRun};
use crate::service::handling::{
    self, BulkAssign, BulkItemResult, BulkOutcome, Digest, DigestItem, InboxItem,
};
use crate::service::moves;
use crate::service::read::{self, QueueFilter};
use crate::Opinions;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Serialize;
use yidu_kernel::{AppError, AppResult, Page, PageQuery};
use yidu_web::form::ApiJson;
use yidu_web::{ApiResult, ApiUser, AppState, RequestMeta};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/opinions", get(list_opinions))
        .route("/api/v1/opinions/export.xlsx", get(export_opinions))
        .route("/api/v1/opinions/digest", get(opinions_digest))
        .route("/api/v1/opinions/digest/send", post(send_digest))
        .route("/api/v1/opinions/bulk-assign", post(bulk_assign))
        .route("/api/v1/opinions/{id}", get(get_opinion))
        .route("/api/v1/opinions/{id}/timeline", get(opinion_timeline))
        .route("/api/v1/opinions/{id}/photos/{file_id}", get(opinion_photo))
        .route("/api/v1/opinions/{id}/moves", post(move_opinion))
        .route(
            "/api/v1/opinions/{id}/moves/multipart",
            post(move_opinion_multipart).layer(DefaultBodyLimit::max(REPLY_UPLOAD_LIMIT)),
        )
        .route(
            "/api/v1/opinions/{id}/attachments/{file_id}",
            get(opinion_attachment),
        )
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
        move_opinion_multipart,
        opinion_attachment,
        bulk_assign,
        export_opinions,
        opinions_digest,
        send_digest,
        list_inbox,
        read_inbox
    ),
    components(schemas(
        Opinion,
        TimelineEvent,
        MoveInput,
        MultipartMove,
        AttachmentInfo,
        MoveResult,
        Status,
        BulkAssign,
        BulkOutcome,
        BulkItemResult,
        InboxPage,
        InboxItem,
        Digest,
        DigestItem,
        SendDigest,
        DigestRun
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

/// Five attachments of at most 10 MB each, plus the text fields and framing.
pub(crate) const REPLY_UPLOAD_LIMIT: usize = 51 * 1024 * 1024;

/// The multipart form of a move with attachments (for the OpenAPI document; read by hand).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct MultipartMove {
    /// reply or answer_on_spot (other moves take no files).
    action: String,
    note: String,
    /// Up to five PDF, JPEG or PNG files, 10 MB each, recognised by content.
    #[schema(value_type = Vec<String>, format = Binary)]
    attachments: Vec<Vec<u8>>,
}

fn unreadable() -> AppError {
    AppError::bad_request(
        "上传的内容无法读取，请重试",
        "The upload could not be read; please try again",
    )
}

/// Reads a move's multipart form: its text fields as pairs and the files under
/// `attachments` (file inputs the browser left empty are skipped).
pub(crate) async fn read_move_form(
    mut mp: Multipart,
) -> AppResult<(Vec<(String, String)>, Vec<NamedUpload>)> {
    let (mut fields, mut files) = (Vec::new(), Vec::new());
    while let Some(field) = mp.next_field().await.map_err(|_| unreadable())? {
        let name = field.name().unwrap_or("").to_string();
        if name == "attachments" || name.starts_with("attachments[") {
            let file_name = field.file_name().unwrap_or("").to_string();
            let bytes = field.bytes().await.map_err(|_| {
                AppError::field(
                    "attachments",
                    "附件太大或无法读取",
                    "an attachment is too large or unreadable",
                )
            })?;
            if bytes.is_empty() {
                continue;
            }
            if files.len() > MAX_ATTACHMENTS {
                // clean_all names the limit; no need to keep reading into memory.
                continue;
            }
            files.push(NamedUpload {
                name: file_name,
                bytes: bytes.to_vec(),
            });
            continue;
        }
        let text = field.text().await.map_err(|_| unreadable())?;
        fields.push((name, text));
    }
    Ok((fields, files))
}

/// A move from form pairs (pages and the multipart API share it).
pub(crate) fn move_input_of(f: &[(String, String)]) -> MoveInput {
    let get = |k: &str| {
        f.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let id = |k: &str| get(k).parse::<i64>().ok();
    MoveInput {
        action: get("action"),
        note: get("note"),
        unit_id: id("unit_id"),
        into_id: id("into_id"),
        convert_to: Some(get("convert_to")).filter(|s| !s.is_empty()),
        level: Some(get("level")).filter(|s| !s.is_empty()),
        category_id: id("category_id"),
    }
}

/// A move with attachments, as multipart/form-data (a reply with its documents).
#[utoipa::path(
    post, path = "/api/v1/opinions/{id}/moves/multipart", tag = "opinions",
    params(("id" = i64, Path, description = "Opinion id")),
    request_body(content = MultipartMove, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "The new state and the opinion", body = MoveResult),
        (status = 422, description = "A field or an attachment is invalid", body = yidu_web::error::ErrorBody),
        (status = 403, description = "The caller may not make this move", body = yidu_web::error::ErrorBody),
        (status = 404, description = "No such opinion in the caller's scope", body = yidu_web::error::ErrorBody),
        (status = 409, description = "The move is not allowed in the item's current state", body = yidu_web::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn move_opinion_multipart(
    Extension(o): Extension<Opinions>,
    meta: RequestMeta,
    ApiUser(p): ApiUser,
    Path(id): Path<i64>,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<MoveResult> {
    let mp = multipart.map_err(|_| unreadable())?;
    let (fields, files) = read_move_form(mp).await?;
    let input = move_input_of(&fields);
    let status = moves::apply_with_files(&o, &p, &meta.client, id, &input, &files).await?;
    let opinion = match read::get(&o, &p, id).await {
        Ok(v) => Some(v),
        Err(AppError::NotFound) => None,
        Err(e) => return Err(e.into()),
    };
    Ok(Json(MoveResult { status, opinion }))
}

/// An attachment of the reply, for staff who may read the item.
#[utoipa::path(
    get, path = "/api/v1/opinions/{id}/attachments/{file_id}", tag = "opinions",
    params(("id" = i64, Path, description = "Opinion id"), ("file_id" = i64, Path, description = "Attachment id")),
    responses(
        (status = 200, description = "The file (PDF, JPEG or PNG)", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 404, description = "No such attachment in the caller's scope", body = yidu_web::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn opinion_attachment(
    Extension(o): Extension<Opinions>,
    ApiUser(p): ApiUser,
    Path((id, file_id)): Path<(i64, i64)>,
) -> Result<Response, yidu_web::ApiError> {
    let (ct, name, bytes) = read::attachment(&o, &p, id, file_id).await?;
    Ok(download_response(ct, &name, bytes))
}

/// RFC 5987 encoding of a file name for `filename*`.
fn encode_name(name: &str) -> String {
    name.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A stored file as a download: never shown inline (a PDF viewer is the browser's
/// choice), never sniffed, kept out of shared caches.
pub(crate) fn download_response(ct: String, name: &str, bytes: Vec<u8>) -> Response {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    (
        [
            (header::CONTENT_TYPE, ct),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
                    encode_name(name)
                ),
            ),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
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

#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct SendDigest {
    /// Beijing day, YYYY-MM-DD; default today.
    pub date: Option<String>,
}

/// Sends the daily digest now (administrators; `yidu serve` does it every day at the
/// configured time). Each person gets one digest per day however often this is called.
#[utoipa::path(
    post, path = "/api/v1/opinions/digest/send", tag = "opinions",
    request_body = SendDigest,
    responses(
        (status = 200, description = "What was sent", body = DigestRun),
        (status = 422, description = "The date is invalid", body = yidu_web::error::ErrorBody),
        (status = 403, description = "Only administrators", body = yidu_web::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn send_digest(
    Extension(o): Extension<Opinions>,
    ApiUser(p): ApiUser,
    ApiJson(input): ApiJson<SendDigest>,
) -> ApiResult<DigestRun> {
    let now = yidu_kernel::clock::now_ms();
    let today = yidu_kernel::clock::to_china(now).date();
    let day = match input.date.as_deref().filter(|d| !d.trim().is_empty()) {
        Some(d) => digest_send::parse_day(d)?,
        None => today,
    };
    let at = if day == today {
        now
    } else {
        let (h, m) = o.config.digest_time.unwrap_or((8, 0));
        digest_send::at_china_time(day, h, m)
    };
    Ok(Json(digest_send::send_daily(&o, &p, day, at).await?))
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
