//! JSON API of the text assist: an item's suggestions and near duplicates for staff,
//! retraining for the office, and the citizen form's 同问 look-up and action.

use super::metoo::{self, MetooReceipt, PublicSimilar, SimilarQuery};
use super::models::{self, ModelInfo, Suggestion, Suggestions, TrainReport};
use super::similar::{self, SimilarItem};
use crate::service::access::can_read;
use crate::store::{self, OpinionRow};
use crate::Opinions;
use axum::extract::{Path, Query};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};
use yidu_kernel::{AppError, AppResult, Principal};
use yidu_web::form::ApiJson;
use yidu_web::{ApiResult, ApiUser, AppState, RequestMeta};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/opinions/{id}/assist", get(item_assist))
        .route("/api/v1/text/models", get(list_models))
        .route("/api/v1/text/retrain", post(retrain))
        .route("/api/v1/citizen/similar", get(citizen_similar))
        .route("/api/v1/citizen/metoo", post(citizen_metoo))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(item_assist, list_models, retrain, citizen_similar, citizen_metoo),
    components(schemas(
        ItemAssist,
        Suggestions,
        Suggestion,
        SimilarItem,
        TrainReport,
        ModelInfo,
        PublicSimilar,
        MetooInput,
        MetooReceipt
    ))
)]
pub struct AssistApi;

/// What the text assist says about one item.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct ItemAssist {
    pub suggestions: Suggestions,
    /// The most similar open items in the same area, best first.
    pub similar: Vec<SimilarItem>,
    /// 同问 count of this item.
    pub metoo: i64,
}

/// Suggestions, near duplicates and 同问 count of an item the principal may read.
pub async fn for_item(o: &Opinions, p: &Principal, id: i64) -> AppResult<ItemAssist> {
    let mut conn = o.db.pool().acquire().await?;
    let row = store::by_id(&mut conn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    drop(conn);
    if !can_read(p, &row) {
        return Err(AppError::NotFound);
    }
    assist_of(o, p, &row).await
}

/// The same for a row already read and checked.
pub async fn assist_of(o: &Opinions, p: &Principal, row: &OpinionRow) -> AppResult<ItemAssist> {
    Ok(ItemAssist {
        suggestions: models::suggest(o, &row.title, &row.body).await?,
        similar: similar::similar_to(o, p, row).await?,
        metoo: metoo::metoo_counts(o, &[row.id])
            .await?
            .get(&row.id)
            .copied()
            .unwrap_or(0),
    })
}

/// Suggested category and unit (with confidence), similar open items and 同问 count.
#[utoipa::path(
    get, path = "/api/v1/opinions/{id}/assist", tag = "text",
    params(("id" = i64, Path, description = "Opinion id")),
    responses(
        (status = 200, description = "What the text assist says", body = ItemAssist),
        (status = 404, description = "No such opinion in the caller's scope", body = yidu_web::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn item_assist(
    Extension(o): Extension<Opinions>,
    ApiUser(p): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<ItemAssist> {
    Ok(Json(for_item(&o, &p, id).await?))
}

/// The stored models, newest first (office and admin).
#[utoipa::path(
    get, path = "/api/v1/text/models", tag = "text",
    responses(
        (status = 200, description = "Stored models", body = Vec<ModelInfo>),
        (status = 403, description = "Office and admin only", body = yidu_web::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn list_models(
    Extension(o): Extension<Opinions>,
    ApiUser(p): ApiUser,
) -> ApiResult<Vec<ModelInfo>> {
    Ok(Json(models::list(&o, &p).await?))
}

/// Retrains the category and unit models from the handled items now (office and admin).
#[utoipa::path(
    post, path = "/api/v1/text/retrain", tag = "text",
    responses(
        (status = 200, description = "One report per model kind", body = Vec<TrainReport>),
        (status = 403, description = "Office and admin only", body = yidu_web::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn retrain(
    Extension(o): Extension<Opinions>,
    meta: RequestMeta,
    ApiUser(p): ApiUser,
) -> ApiResult<Vec<TrainReport>> {
    Ok(Json(models::retrain(&o, &p, &meta.client).await?))
}

/// Up to 3 open items in the same area like what the citizen typed: titles only.
#[utoipa::path(
    get, path = "/api/v1/citizen/similar", tag = "text",
    params(SimilarQuery),
    responses(
        (status = 200, description = "Similar open items", body = Vec<PublicSimilar>),
    )
)]
async fn citizen_similar(
    Extension(o): Extension<Opinions>,
    Query(q): Query<SimilarQuery>,
) -> ApiResult<Vec<PublicSimilar>> {
    Ok(Json(metoo::similar_public(&o, &q).await?))
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct MetooInput {
    /// Id of the similar item, from /api/v1/citizen/similar.
    pub id: i64,
}

/// 同问: add your voice to an open item instead of filing a new one; returns its
/// tracking number. Rate-limited like submissions.
#[utoipa::path(
    post, path = "/api/v1/citizen/metoo", tag = "text",
    request_body = MetooInput,
    responses(
        (status = 200, description = "Recorded (or already recorded)", body = MetooReceipt),
        (status = 404, description = "No such item", body = yidu_web::error::ErrorBody),
        (status = 409, description = "The item is no longer open", body = yidu_web::error::ErrorBody),
        (status = 429, description = "Too many requests", body = yidu_web::error::ErrorBody),
    )
)]
async fn citizen_metoo(
    Extension(o): Extension<Opinions>,
    meta: RequestMeta,
    ApiJson(input): ApiJson<MetooInput>,
) -> ApiResult<MetooReceipt> {
    Ok(Json(metoo::metoo(&o, &meta.client, input.id).await?))
}
