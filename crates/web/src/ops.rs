//! Operations endpoints: liveness, readiness, metrics, assets.

use crate::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/assets/{version}/{name}", get(crate::assets::serve))
}

/// The process is up.
async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// The database answers and every migration is applied.
async fn readyz(State(state): State<AppState>) -> Response {
    let db_ok = state.db.ping().await.is_ok();
    let pending = yidu_db::migrate::pending(&state.db).await.ok();
    let ready = db_ok && pending == Some(0);
    let body = Json(json!({
        "status": if ready { "ready" } else { "not_ready" },
        "database": if db_ok { "ok" } else { "unreachable" },
        "backend": state.db.backend().name(),
        "pending_migrations": pending,
    }));
    let code = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, body).into_response()
}

async fn metrics(State(state): State<AppState>) -> Response {
    let pool = state.db.pool();
    let extra = [
        (
            "yidu_db_pool_connections",
            "Open database connections (read pool).",
            pool.size() as f64,
        ),
        (
            "yidu_db_pool_idle",
            "Idle database connections (read pool).",
            pool.num_idle() as f64,
        ),
    ];
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(&extra),
    )
        .into_response()
}
