//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` annotations.

use axum::routing::get;
use axum::{Json, Router};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::OpenApi;
use yidu_web::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "yidu 议督 API",
        description = "JSON API of yidu. Errors share one shape: code, message, message_en, details."
    ),
    components(schemas(yidu_web::error::ErrorBody, yidu_web::error::ErrorDetail))
)]
struct RootApi;

pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = RootApi::openapi();
    doc.merge(yidu_accounts::api::AccountsApi::openapi());
    doc.merge(yidu_audit::api::AuditApi::openapi());
    doc.merge(yidu_registry::RegistryApi::openapi());
    doc.merge(yidu_opinions::api::openapi());
    doc.merge(yidu_cockpit::CockpitApi::openapi());
    doc.merge(yidu_outbox::api::OutboxApi::openapi());
    doc.merge(yidu_opinions::open311::openapi());
    doc.merge(yidu_classes::api::ClassesApi::openapi());
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
    );
    doc
}

pub fn router() -> Router<AppState> {
    Router::new().route("/api/openapi.json", get(|| async { Json(document()) }))
}
