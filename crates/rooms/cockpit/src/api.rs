//! JSON API of the cockpit.

use crate::service::{self, Cockpit, Period};
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use yidu_web::{ApiResult, ApiUser, AppState};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/cockpit", get(get_cockpit))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(get_cockpit),
    components(schemas(
        Cockpit,
        service::Slice,
        service::Week,
        service::GridCount,
        service::OverdueItem
    ))
)]
pub struct CockpitApi;

/// Totals and rates of the caller's scope over a period: by township, category and
/// station, the weekly trend, the grids with most items and the overdue list.
#[utoipa::path(
    get, path = "/api/v1/cockpit", tag = "cockpit",
    params(Period),
    responses(
        (status = 200, description = "The cockpit's numbers", body = Cockpit),
        (status = 400, description = "Bad period", body = yidu_web::error::ErrorBody),
        (status = 403, description = "Role may not read the cockpit", body = yidu_web::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn get_cockpit(
    State(state): State<AppState>,
    ApiUser(p): ApiUser,
    Query(period): Query<Period>,
) -> ApiResult<Cockpit> {
    Ok(Json(service::cockpit(&state.db, &p, &period).await?))
}
