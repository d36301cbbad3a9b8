//! Channels for other systems: external channels with API keys (managed by the office)
//! and the Open311 GeoReport v2 API they file opinions through.

pub mod channels;
pub mod format;
pub mod georeport;
pub mod staff;

use crate::Opinions;
use axum::{Extension, Router};
use utoipa::OpenApi;
use yidu_web::AppState;

/// /open311/v2/..., /staff/channels and /api/v1/channels.
pub fn router(o: Opinions) -> Router<AppState> {
    Router::new()
        .merge(georeport::router())
        .merge(staff::router())
        .layer(Extension(o))
}

/// The channels' JSON API for the OpenAPI document (Open311 itself has its own spec).
pub fn openapi() -> utoipa::openapi::OpenApi {
    staff::ChannelsApi::openapi()
}
