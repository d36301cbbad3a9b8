//! Handling pages of the opinions room.

use axum::Router;
use yidu_web::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
}
