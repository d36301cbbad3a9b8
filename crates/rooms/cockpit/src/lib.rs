//! Room: cockpit (一舱). Aggregates, not items: every move of an opinion adds its effect
//! to counters per day/month x township x category x station in the move's transaction
//! ([`counters::record`]); the cockpit reads those rows, so its cost depends on days and
//! dimensions, not on the number of items. Charts and the grid map are SVG drawn here.

pub mod api;
pub mod counters;
pub mod pages;
pub mod panels;
pub mod service;
pub mod svg;

pub use api::CockpitApi;
pub use counters::{rebuild, Change, Item};

/// Page and API routes of the cockpit.
pub fn router() -> axum::Router<yidu_web::AppState> {
    api::router().merge(pages::router())
}
