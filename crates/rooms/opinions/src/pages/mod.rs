//! Pages of the opinions room: citizens' forms, tracking and rating (phone first), and
//! the handling pages for deputies and staff.

pub mod categories;
pub mod citizen;
mod citizen_metoo;
pub mod handling;

use crate::Opinions;
use axum::{Extension, Router};
use yidu_web::AppState;

pub fn router(o: Opinions) -> Router<AppState> {
    Router::new()
        .merge(citizen::router())
        .merge(handling::router())
        .merge(categories::router())
        .merge(crate::assist::pages::router())
        .layer(Extension(o))
}
