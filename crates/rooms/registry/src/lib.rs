//! Room: registry (名册). The district's region tree, liaison stations, deputies,
//! handling units and working committees, and the two public codes (代表码、联络站码).
//!
//! - `model`: closed vocabularies and input types; `store`: the room's SQL; `service`:
//!   scoped use cases (the only door other rooms use); `api` and `pages`: JSON and HTML.
//! - `xlsx`: bulk import (all or nothing, every problem listed) and export.
//! - `codes`: the public deputy and station pages, QR codes, badge sheets.
//! - `demo`: the deterministic demo district.
//! - `scope`: where a role's scope object sits in the region tree (for accounts).

pub mod api;
pub mod codes;
pub mod demo;
pub mod model;
pub mod pages;
pub mod scope;
pub mod service;
pub mod store;
pub mod xlsx;

pub use api::{router as api_router, RegistryApi};
pub use pages::router as pages_router;

use axum::Router;
use yidu_web::AppState;

/// Every router of the room, merged by the app.
pub fn routers() -> Router<AppState> {
    Router::new()
        .merge(api_router())
        .merge(pages_router())
        .merge(codes::public_router())
}
