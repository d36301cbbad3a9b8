//! Staff editing of the category tree through the API (administrator and office):
//! the whole tree with retired categories and usage, add, rename, move, reorder, retire,
//! restore and delete (only what was never used).

use crate::service::category_edit::{
    self, CategoryRow, MoveCategory, NewCategory, OrderCategory, RenameCategory,
};
use crate::Opinions;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::{get, patch, post};
use axum::{Extension, Json, Router};
use yidu_web::form::ApiJson;
use yidu_web::{ApiResult, ApiUser, AppState, RequestMeta};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/categories/all",
            get(all_categories).post(create_category),
        )
        .route(
            "/api/v1/categories/{id}",
            patch(rename_category).delete(delete_category),
        )
        .route("/api/v1/categories/{id}/move", post(move_category))
        .route("/api/v1/categories/{id}/order", post(order_category))
        .route("/api/v1/categories/{id}/retire", post(retire_category))
        .route("/api/v1/categories/{id}/restore", post(restore_category))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        all_categories,
        create_category,
        rename_category,
        move_category,
        order_category,
        retire_category,
        restore_category,
        delete_category
    ),
    components(schemas(CategoryRow, NewCategory, RenameCategory, MoveCategory, OrderCategory))
)]
pub struct CategoriesApi;

/// Every category, retired ones too, parents first, with how many items use each.
#[utoipa::path(
    get, path = "/api/v1/categories/all", tag = "categories",
    responses(
        (status = 200, description = "The whole tree, flat", body = Vec<CategoryRow>),
        (status = 403, description = "Only the administrator and the office", body = yidu_web::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn all_categories(
    Extension(o): Extension<Opinions>,
    ApiUser(p): ApiUser,
) -> ApiResult<Vec<CategoryRow>> {
    Ok(Json(category_edit::list_all(&o, &p).await?))
}

/// Adds a category (at most three levels) at the end of its siblings.
#[utoipa::path(
    post, path = "/api/v1/categories/all", tag = "categories",
    request_body = NewCategory,
    responses(
        (status = 201, description = "Created", body = CategoryRow),
        (status = 422, description = "name or parent_id invalid, or the name is taken", body = yidu_web::error::ErrorBody),
        (status = 403, description = "Only the administrator and the office", body = yidu_web::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn create_category(
    Extension(o): Extension<Opinions>,
    meta: RequestMeta,
    ApiUser(p): ApiUser,
    ApiJson(input): ApiJson<NewCategory>,
) -> Result<(StatusCode, Json<CategoryRow>), yidu_web::ApiError> {
    let c = category_edit::create(&o, &p, &meta.client, &input).await?;
    Ok((StatusCode::CREATED, Json(c)))
}

/// Renames a category; its subcategories' codes follow.
#[utoipa::path(
    patch, path = "/api/v1/categories/{id}", tag = "categories",
    params(("id" = i64, Path, description = "Category id")),
    request_body = RenameCategory,
    responses(
        (status = 200, description = "Renamed", body = CategoryRow),
        (status = 422, description = "name invalid or taken", body = yidu_web::error::ErrorBody),
        (status = 403, description = "Only the administrator and the office", body = yidu_web::error::ErrorBody),
        (status = 404, description = "No such category", body = yidu_web::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn rename_category(
    Extension(o): Extension<Opinions>,
    meta: RequestMeta,
    ApiUser(p): ApiUser,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<RenameCategory>,
) -> ApiResult<CategoryRow> {
    Ok(Json(
        category_edit::rename(&o, &p, &meta.client, id, &input).await?,
    ))
}

/// Moves a category with its subtree under another parent (null: to the top level).
#[utoipa::path(
    post, path = "/api/v1/categories/{id}/move", tag = "categories",
    params(("id" = i64, Path, description = "Category id")),
    request_body = MoveCategory,
    responses(
        (status = 200, description = "Moved", body = CategoryRow),
        (status = 422, description = "parent_id invalid (itself, its subtree, too deep, name taken there)", body = yidu_web::error::ErrorBody),
        (status = 403, description = "Only the administrator and the office", body = yidu_web::error::ErrorBody),
        (status = 404, description = "No such category", body = yidu_web::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn move_category(
    Extension(o): Extension<Opinions>,
    meta: RequestMeta,
    ApiUser(p): ApiUser,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<MoveCategory>,
) -> ApiResult<CategoryRow> {
    Ok(Json(
        category_edit::move_to(&o, &p, &meta.client, id, &input).await?,
    ))
}

/// Moves a category one place up or down among its siblings.
#[utoipa::path(
    post, path = "/api/v1/categories/{id}/order", tag = "categories",
    params(("id" = i64, Path, description = "Category id")),
    request_body = OrderCategory,
    responses(
        (status = 200, description = "Reordered", body = CategoryRow),
        (status = 422, description = "direction is not up or down", body = yidu_web::error::ErrorBody),
        (status = 403, description = "Only the administrator and the office", body = yidu_web::error::ErrorBody),
        (status = 404, description = "No such category", body = yidu_web::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn order_category(
    Extension(o): Extension<Opinions>,
    meta: RequestMeta,
    ApiUser(p): ApiUser,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<OrderCategory>,
) -> ApiResult<CategoryRow> {
    Ok(Json(
        category_edit::reorder(&o, &p, &meta.client, id, &input).await?,
    ))
}

/// Retires a category and its subtree: old items keep it; citizens and Open311 no
/// longer see it.
#[utoipa::path(
    post, path = "/api/v1/categories/{id}/retire", tag = "categories",
    params(("id" = i64, Path, description = "Category id")),
    responses(
        (status = 200, description = "Retired", body = CategoryRow),
        (status = 403, description = "Only the administrator and the office", body = yidu_web::error::ErrorBody),
        (status = 404, description = "No such category", body = yidu_web::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn retire_category(
    Extension(o): Extension<Opinions>,
    meta: RequestMeta,
    ApiUser(p): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<CategoryRow> {
    Ok(Json(
        category_edit::set_retired(&o, &p, &meta.client, id, true).await?,
    ))
}

/// Restores a retired category (its parent must be active).
#[utoipa::path(
    post, path = "/api/v1/categories/{id}/restore", tag = "categories",
    params(("id" = i64, Path, description = "Category id")),
    responses(
        (status = 200, description = "Restored", body = CategoryRow),
        (status = 403, description = "Only the administrator and the office", body = yidu_web::error::ErrorBody),
        (status = 404, description = "No such category", body = yidu_web::error::ErrorBody),
        (status = 409, description = "The parent is retired", body = yidu_web::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn restore_category(
    Extension(o): Extension<Opinions>,
    meta: RequestMeta,
    ApiUser(p): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<CategoryRow> {
    Ok(Json(
        category_edit::set_retired(&o, &p, &meta.client, id, false).await?,
    ))
}

/// Deletes a category nothing uses (no items, subcategories or channel limits).
#[utoipa::path(
    delete, path = "/api/v1/categories/{id}", tag = "categories",
    params(("id" = i64, Path, description = "Category id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Only the administrator and the office", body = yidu_web::error::ErrorBody),
        (status = 404, description = "No such category", body = yidu_web::error::ErrorBody),
        (status = 409, description = "In use: retire it instead", body = yidu_web::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn delete_category(
    Extension(o): Extension<Opinions>,
    meta: RequestMeta,
    ApiUser(p): ApiUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, yidu_web::ApiError> {
    category_edit::delete(&o, &p, &meta.client, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
