//! JSON API for webhook subscriptions (administrator and congress office only).

use crate::service::{self, CreatedSubscription, Subscription, SubscriptionInput};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use yidu_web::form::ApiJson;
use yidu_web::{ApiError, ApiResult, ApiUser, AppState, RequestMeta};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/webhooks", get(list_webhooks).post(create_webhook))
        .route("/api/v1/webhooks/{id}", delete(revoke_webhook))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(list_webhooks, create_webhook, revoke_webhook),
    components(schemas(Subscription, CreatedSubscription, SubscriptionInput))
)]
pub struct OutboxApi;

/// Webhook subscriptions with their delivery health (secrets are never listed).
#[utoipa::path(
    get, path = "/api/v1/webhooks", tag = "webhooks",
    responses(
        (status = 200, description = "Subscriptions", body = Vec<Subscription>),
        (status = 403, description = "Only the administrator and the congress office", body = yidu_web::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn list_webhooks(
    State(state): State<AppState>,
    ApiUser(p): ApiUser,
) -> ApiResult<Vec<Subscription>> {
    Ok(Json(service::list(&state.db, &p).await?))
}

/// Subscribes a URL to events. Each delivery is a POST of
/// `{event_id, topic, payload, created_at}` with `X-Yidu-Event-Id`, `X-Yidu-Topic`,
/// `X-Yidu-Timestamp` (Unix seconds) and `X-Yidu-Signature: sha256=<hex HMAC-SHA256(secret,
/// timestamp + "." + body)>`. The secret is returned only here.
#[utoipa::path(
    post, path = "/api/v1/webhooks", tag = "webhooks",
    request_body = SubscriptionInput,
    responses(
        (status = 201, description = "Created; the secret is shown only now", body = CreatedSubscription),
        (status = 422, description = "Invalid name, URL or topics", body = yidu_web::error::ErrorBody),
        (status = 403, description = "Only the administrator and the congress office", body = yidu_web::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn create_webhook(
    State(state): State<AppState>,
    meta: RequestMeta,
    ApiUser(p): ApiUser,
    ApiJson(input): ApiJson<SubscriptionInput>,
) -> Result<(StatusCode, Json<CreatedSubscription>), ApiError> {
    let created = service::create(&state.db, &p, &meta.client, &input).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Revokes a subscription; its pending deliveries are dropped (marked dead).
#[utoipa::path(
    delete, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = i64, Path, description = "Subscription id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 403, description = "Only the administrator and the congress office", body = yidu_web::error::ErrorBody),
        (status = 404, description = "No such subscription", body = yidu_web::error::ErrorBody),
        (status = 409, description = "Already revoked", body = yidu_web::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn revoke_webhook(
    State(state): State<AppState>,
    meta: RequestMeta,
    ApiUser(p): ApiUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    service::revoke(&state.db, &p, &meta.client, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
