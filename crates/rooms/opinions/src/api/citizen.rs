//! Citizen side of the opinions API: the category tree, submitting (JSON, or multipart
//! with photos), tracking with the query code, and rating the reply. No account is
//! needed; the tracking number and the query code are the citizen's keys.

use crate::model::input::MAX_PHOTOS;
use crate::model::{Channel, CitizenView, Receipt, Status, Submission, Upload};
use crate::service::categories::{self, Category};
use crate::service::{moves, read, submit};
use crate::Opinions;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};
use yidu_kernel::{AppError, AppResult, FieldError};
use yidu_web::error::ErrorBody;
use yidu_web::form::ApiJson;
use yidu_web::{ApiError, ApiResult, AppState, RequestMeta};

/// Five photos of at most 5 MB each, plus the text fields and multipart framing.
pub(crate) const UPLOAD_LIMIT: usize = 27 * 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/categories", get(list_categories))
        .route("/api/v1/opinions", post(submit_json))
        .route(
            "/api/v1/opinions/multipart",
            post(submit_multipart).layer(DefaultBodyLimit::max(UPLOAD_LIMIT)),
        )
        .route("/api/v1/track/{tracking_no}", get(track))
        .route("/api/v1/track/{tracking_no}/rating", post(rate))
        .route(
            "/api/v1/track/{tracking_no}/attachments/{file_id}",
            get(track_attachment),
        )
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        list_categories,
        submit_json,
        submit_multipart,
        track,
        track_attachment,
        rate
    ),
    components(schemas(
        Category,
        NewOpinion,
        Receipt,
        CitizenView,
        Status,
        RatingInput,
        RatingResult,
        MultipartSubmission
    ))
)]
pub struct CitizenApi;

/// A submission through the API: the citizen's form plus, optionally, the code it came
/// through (a deputy's or a station's).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewOpinion {
    #[serde(flatten)]
    pub submission: Submission,
    /// The deputy code (代表码) the citizen scanned, if any.
    #[serde(default)]
    pub deputy_code: Option<String>,
    /// The station code (联络站码) the citizen scanned, if any.
    #[serde(default)]
    pub station_code: Option<String>,
}

/// The multipart form of a submission (for the OpenAPI document; read by hand).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct MultipartSubmission {
    category_id: Option<i64>,
    title: String,
    body: String,
    grid_id: Option<i64>,
    address: Option<String>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    name: Option<String>,
    phone: Option<String>,
    /// "1", "true" or "on" when the citizen accepted the notice on personal information.
    consent: Option<String>,
    /// Honeypot: must stay empty.
    website: Option<String>,
    deputy_code: Option<String>,
    station_code: Option<String>,
    /// Same key, same receipt: a retry never creates a second record.
    idempotency_key: Option<String>,
    /// Up to five JPEG or PNG photos, 5 MB each.
    #[schema(value_type = Vec<String>, format = Binary)]
    photos: Vec<Vec<u8>>,
}

/// Which channel a submission came through.
pub(crate) fn channel_of(deputy_code: Option<&str>, station_code: Option<&str>) -> Channel {
    let given = |c: Option<&str>| {
        c.map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_string)
    };
    match (given(deputy_code), given(station_code)) {
        (Some(d), _) => Channel::Deputy(d),
        (None, Some(s)) => Channel::Station(s),
        (None, None) => Channel::General,
    }
}

/// The categories citizens pick from, as a tree.
#[utoipa::path(
    get, path = "/api/v1/categories", tag = "opinions",
    responses((status = 200, description = "The category tree", body = Vec<Category>))
)]
async fn list_categories(Extension(o): Extension<Opinions>) -> ApiResult<Vec<Category>> {
    Ok(Json(categories::list(&o).await?))
}

/// Submits an opinion (no account needed). Keep the tracking number and query code of
/// the receipt: they are the only way to follow the item. Send an `Idempotency-Key`
/// header: the same key again returns the first receipt and stores nothing new.
#[utoipa::path(
    post, path = "/api/v1/opinions", tag = "opinions",
    request_body = NewOpinion,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: same key, same receipt")),
    responses(
        (status = 200, description = "Stored; the receipt", body = Receipt),
        (status = 400, description = "Refused (e.g. the honeypot field was filled in)", body = yidu_web::error::ErrorBody),
        (status = 404, description = "No such deputy or station code", body = yidu_web::error::ErrorBody),
        (status = 422, description = "Invalid fields, each named", body = yidu_web::error::ErrorBody),
        (status = 429, description = "Too many submissions from this address or phone", body = yidu_web::error::ErrorBody),
    )
)]
async fn submit_json(
    Extension(o): Extension<Opinions>,
    meta: RequestMeta,
    headers: HeaderMap,
    ApiJson(input): ApiJson<NewOpinion>,
) -> Response {
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok());
    let channel = channel_of(input.deputy_code.as_deref(), input.station_code.as_deref());
    match submit::submit(&o, channel, &input.submission, &[], &meta.client, key).await {
        Ok(r) => Json(r).into_response(),
        Err(e) => refusal(&o, e),
    }
}

/// Submits an opinion with photos as `multipart/form-data`. Browsers' double-submit CSRF
/// applies: send the `yidu_csrf` cookie and the same value in `X-CSRF-Token` (or the
/// `_csrf` query parameter), or a bearer token.
#[utoipa::path(
    post, path = "/api/v1/opinions/multipart", tag = "opinions",
    request_body(content = MultipartSubmission, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "Stored; the receipt", body = Receipt),
        (status = 400, description = "Refused or unreadable", body = yidu_web::error::ErrorBody),
        (status = 422, description = "Invalid fields, e.g. photos[0] is not an image", body = yidu_web::error::ErrorBody),
        (status = 429, description = "Too many submissions from this address or phone", body = yidu_web::error::ErrorBody),
    )
)]
async fn submit_multipart(
    Extension(o): Extension<Opinions>,
    meta: RequestMeta,
    multipart: Multipart,
) -> Response {
    let form = match SubmissionForm::read(multipart).await {
        Ok(f) => f,
        Err(e) => return refusal(&o, e),
    };
    let submission = match form.submission() {
        Ok(s) => s,
        Err(e) => return refusal(&o, e),
    };
    let channel = channel_of(Some(&form.deputy_code), Some(&form.station_code));
    let receipt = submit::submit(
        &o,
        channel,
        &submission,
        &form.photos,
        &meta.client,
        Some(form.idempotency_key.as_str()),
    )
    .await;
    match receipt {
        Ok(r) => Json(r).into_response(),
        Err(e) => refusal(&o, e),
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CodeQuery {
    /// The secret query code from the receipt.
    #[serde(default)]
    pub code: String,
}

/// Status, timeline (roles, never staff names) and reply of an item. A wrong number and
/// a wrong code give the same 404.
#[utoipa::path(
    get, path = "/api/v1/track/{tracking_no}", tag = "opinions",
    params(("tracking_no" = String, Path, description = "Tracking number from the receipt"), CodeQuery),
    responses(
        (status = 200, description = "The citizen's view", body = CitizenView),
        (status = 404, description = "No item with this number and code", body = yidu_web::error::ErrorBody),
    )
)]
async fn track(
    Extension(o): Extension<Opinions>,
    Path(tracking_no): Path<String>,
    Query(q): Query<CodeQuery>,
) -> ApiResult<CitizenView> {
    Ok(Json(read::track(&o, &tracking_no, &q.code).await?))
}

/// An attachment of the reply, with the tracking number and query code. A wrong number,
/// code or file give the same 404.
#[utoipa::path(
    get, path = "/api/v1/track/{tracking_no}/attachments/{file_id}", tag = "opinions",
    params(
        ("tracking_no" = String, Path, description = "Tracking number from the receipt"),
        ("file_id" = i64, Path, description = "Attachment id from the citizen's view"),
        CodeQuery
    ),
    responses(
        (status = 200, description = "The file (PDF, JPEG or PNG)", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 404, description = "No such attachment for this number and code", body = yidu_web::error::ErrorBody),
    )
)]
async fn track_attachment(
    Extension(o): Extension<Opinions>,
    Path((tracking_no, file_id)): Path<(String, i64)>,
    Query(q): Query<CodeQuery>,
) -> Result<Response, ApiError> {
    let (ct, name, bytes) = read::citizen_attachment(&o, &tracking_no, &q.code, file_id).await?;
    Ok(super::handling::download_response(ct, &name, bytes))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RatingInput {
    /// The secret query code from the receipt.
    pub code: String,
    /// satisfied (满意), basic (基本满意) or unsatisfied (不满意).
    pub satisfaction: String,
    #[serde(default)]
    pub comment: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RatingResult {
    /// closed, or in_progress when an unsatisfied rating reopened the item.
    pub status: Status,
}

/// Rates the reply. Unsatisfied reopens the item for its handler (as often as the
/// deployment allows); otherwise the item closes.
#[utoipa::path(
    post, path = "/api/v1/track/{tracking_no}/rating", tag = "opinions",
    params(("tracking_no" = String, Path, description = "Tracking number from the receipt")),
    request_body = RatingInput,
    responses(
        (status = 200, description = "Rated", body = RatingResult),
        (status = 404, description = "No item with this number and code", body = yidu_web::error::ErrorBody),
        (status = 409, description = "Not waiting for a rating", body = yidu_web::error::ErrorBody),
        (status = 422, description = "Invalid rating", body = yidu_web::error::ErrorBody),
    )
)]
async fn rate(
    Extension(o): Extension<Opinions>,
    meta: RequestMeta,
    Path(tracking_no): Path<String>,
    ApiJson(input): ApiJson<RatingInput>,
) -> ApiResult<RatingResult> {
    let status = moves::rate(
        &o,
        &tracking_no,
        &input.code,
        &input.satisfaction,
        &input.comment,
        &meta.client,
    )
    .await?;
    Ok(Json(RatingResult { status }))
}

/// A rate-limit refusal says what happened and what to do; other errors keep the
/// project's shape.
pub(crate) fn refusal(o: &Opinions, e: AppError) -> Response {
    if !matches!(e, AppError::RateLimited) {
        return ApiError(e).into_response();
    }
    let (per_hour, per_day) = (o.config.per_client_per_hour, o.config.per_phone_per_day);
    let body = ErrorBody {
        code: "rate_limited".into(),
        message: format!(
            "提交过于频繁：同一网络每小时最多提交 {per_hour} 条，同一电话每天最多 {per_day} 条。请稍后再试，或到代表联络站当面反映。"
        ),
        message_en: format!(
            "Too many submissions: at most {per_hour} per hour from one network and {per_day} per day from one phone. Please try again later, or visit a liaison station."
        ),
        details: Vec::new(),
    };
    (
        StatusCode::TOO_MANY_REQUESTS,
        [(header::RETRY_AFTER, "3600")],
        Json(body),
    )
        .into_response()
}

/// The fields of a submission as a multipart form sends them, kept as typed so that a
/// form with problems can be shown again as the citizen left it (photos excepted).
#[derive(Debug, Clone, Default)]
pub struct SubmissionForm {
    pub category_id: String,
    pub title: String,
    pub body: String,
    pub grid_id: String,
    pub address: String,
    pub latitude: String,
    pub longitude: String,
    pub name: String,
    pub phone: String,
    pub consent: bool,
    pub website: String,
    pub idempotency_key: String,
    pub deputy_code: String,
    pub station_code: String,
    /// Set once similar open items were offered (by the page's script as the citizen
    /// types, or by the server-rendered 同问 step): the next send files the item.
    pub similar_checked: String,
    pub photos: Vec<Upload>,
}

fn unreadable() -> AppError {
    AppError::bad_request(
        "上传的内容无法读取，请重试",
        "The upload could not be read; please try again",
    )
}

impl SubmissionForm {
    /// Reads every field; file inputs left empty by the browser are skipped.
    pub async fn read(mut mp: Multipart) -> AppResult<SubmissionForm> {
        let mut f = SubmissionForm::default();
        let mut too_many = false;
        while let Some(field) = mp.next_field().await.map_err(|_| unreadable())? {
            let name = field.name().unwrap_or("").to_string();
            if name == "photos" || name.starts_with("photos[") {
                let bytes = field.bytes().await.map_err(|_| {
                    AppError::field(
                        "photos",
                        "照片太大或无法读取",
                        "a photo is too large or unreadable",
                    )
                })?;
                if bytes.is_empty() {
                    continue;
                }
                if f.photos.len() >= MAX_PHOTOS {
                    too_many = true;
                    continue;
                }
                f.photos.push(Upload {
                    bytes: bytes.to_vec(),
                });
                continue;
            }
            let text = field.text().await.map_err(|_| unreadable())?;
            let slot = match name.as_str() {
                "category_id" => &mut f.category_id,
                "title" => &mut f.title,
                "body" => &mut f.body,
                "grid_id" => &mut f.grid_id,
                "address" => &mut f.address,
                "latitude" => &mut f.latitude,
                "longitude" => &mut f.longitude,
                "name" => &mut f.name,
                "phone" => &mut f.phone,
                "website" => &mut f.website,
                "idempotency_key" => &mut f.idempotency_key,
                "deputy_code" => &mut f.deputy_code,
                "station_code" => &mut f.station_code,
                "similar_checked" => &mut f.similar_checked,
                "consent" => {
                    f.consent = matches!(text.trim(), "1" | "true" | "on" | "yes");
                    continue;
                }
                _ => continue,
            };
            *slot = text;
        }
        if too_many {
            return Err(AppError::Validation(vec![FieldError::new(
                "photos",
                format!("最多上传 {MAX_PHOTOS} 张照片"),
                format!("at most {MAX_PHOTOS} photos"),
            )]));
        }
        Ok(f)
    }

    /// The typed submission; numbers that do not parse are named as field errors.
    pub fn submission(&self) -> AppResult<Submission> {
        let mut problems = yidu_kernel::error::Problems::default();
        fn num<T: std::str::FromStr>(
            p: &mut yidu_kernel::error::Problems,
            field: &str,
            v: &str,
        ) -> Option<T> {
            let v = v.trim();
            if v.is_empty() {
                return None;
            }
            match v.parse() {
                Ok(n) => Some(n),
                Err(_) => {
                    p.push(field, "不是有效的数字", "is not a valid number");
                    None
                }
            }
        }
        let s = Submission {
            category_id: num(&mut problems, "category_id", &self.category_id),
            title: self.title.clone(),
            body: self.body.clone(),
            grid_id: num(&mut problems, "grid_id", &self.grid_id),
            address: self.address.clone(),
            latitude: num(&mut problems, "latitude", &self.latitude),
            longitude: num(&mut problems, "longitude", &self.longitude),
            name: self.name.clone(),
            phone: self.phone.clone(),
            consent: self.consent,
            website: self.website.clone(),
        };
        problems.finish()?;
        Ok(s)
    }
}
