//! Room: registry (名册). The district's region tree, liaison stations, deputies,
//! handling units and working committees, and the two public codes (代表码、联络站码).

pub mod codes;
pub mod demo;
pub mod api;
pub mod model;
pub mod pages;
pub mod service;
pub mod store;
pub mod xlsx;
pub mod scope;

pub use api::{router as api_router, RegistryApi};
pub use pages::router as pages_router;

use axum::Router;
use yidu_web::AppState;

/// Every router of the room, merged by the app. (Lead: each part of the room is added
/// here as it lands: management API and pages, public code pages.)
pub fn routers() -> Router<AppState> {
    Router::new().merge(codes::public_router())
}

/// The OpenAPI document of the room's JSON API, merged into `/api/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    utoipa::openapi::OpenApi::default()
}

// Lead: temporary until xlsx.rs lands; replaced by the real import and export.
pub async fn import_xlsx(
    _db: &yidu_db::Db,
    _p: &yidu_kernel::Principal,
    _client: &str,
    _kind: &str,
    _bytes: &[u8],
) -> yidu_kernel::AppResult<String> {
    Err(yidu_kernel::AppError::bad_request("导入尚未接入", "import is not wired yet"))
}

pub async fn export_xlsx(_db: &yidu_db::Db, _p: &yidu_kernel::Principal, _kind: &str) -> yidu_kernel::AppResult<Vec<u8>> {
    Err(yidu_kernel::AppError::bad_request("导出尚未接入", "export is not wired yet"))
}
