//! JSON API of the opinions room: the citizen side (submit, track, rate) and the
//! handling side (queues, items, moves). Handlers reach the room's [`Opinions`] through
//! an axum `Extension`.

pub mod categories;
pub mod citizen;
pub mod handling;

use crate::Opinions;
use axum::{Extension, Router};
use utoipa::OpenApi;
use yidu_web::AppState;

pub fn router(o: Opinions) -> Router<AppState> {
    Router::new()
        .merge(citizen::router())
        .merge(handling::router())
        .merge(categories::router())
        .merge(crate::assist::api::router())
        .layer(Extension(o))
}

/// The room's OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = citizen::CitizenApi::openapi();
    doc.merge(handling::HandlingApi::openapi());
    doc.merge(categories::CategoriesApi::openapi());
    doc.merge(crate::assist::api::AssistApi::openapi());
    doc
}
