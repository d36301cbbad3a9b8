//! Citizen side of the opinions API.

use axum::Router;
use yidu_web::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
}

#[derive(utoipa::OpenApi)]
#[openapi()]
pub struct CitizenApi;
