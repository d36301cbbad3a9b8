//! JSON API of the audit room.

use crate::model::AuditRecord;
use crate::service::{self, AuditFilter};
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use yidu_kernel::{Page, PageQuery};
use yidu_web::{ApiResult, ApiUser, AppState};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/audit", get(list_audit))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(list_audit), components(schemas(AuditRecord)))]
pub struct AuditApi;

/// Audit records within the caller's scope, newest first.
#[utoipa::path(
    get, path = "/api/v1/audit", tag = "audit",
    params(AuditFilter, PageQuery),
    responses(
        (status = 200, description = "A page of audit records", body = Page<AuditRecord>),
        (status = 403, description = "Role may not read audit records", body = yidu_web::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn list_audit(
    State(state): State<AppState>,
    ApiUser(p): ApiUser,
    Query(filter): Query<AuditFilter>,
    Query(page): Query<PageQuery>,
) -> ApiResult<Page<AuditRecord>> {
    Ok(Json(service::list(&state.db, &p, &filter, &page).await?))
}
