//! Room: class cases (类案). "督办一类建议、解决一批问题": items about the same problem
//! (citizens' opinions now, deputies' suggestions later) are grouped into classes by the
//! text engine, in batch and as they arrive; staff confirm, rename, merge, split and
//! dissolve them; a confirmed class is supervised as one, with one lead unit, one deadline
//! and one reply that reaches every member's citizen, who rates it on their own. Hot
//! topics (classes ranked by size, growth and "me too" count) feed the cockpit.

pub mod api;
pub mod model;
pub mod pages;
pub mod service;
mod store;
pub mod worker;

pub use model::ClassesConfig;
pub use service::Classes;

/// Page and API routes of the room.
pub fn router(c: Classes) -> axum::Router<yidu_web::AppState> {
    api::router()
        .merge(pages::router())
        .layer(axum::Extension(c))
}

/// The cockpit's hot-topics panel, served from this room (the cockpit cannot depend on it).
pub fn hot_topics_source(c: Classes) -> yidu_cockpit::panels::HotTopicsSource {
    yidu_cockpit::panels::HotTopicsSource(std::sync::Arc::new(c))
}

impl yidu_cockpit::panels::HotTopics for Classes {
    fn hot_topics<'a>(
        &'a self,
        p: &'a yidu_kernel::Principal,
        limit: usize,
    ) -> yidu_cockpit::panels::PanelFuture<'a> {
        Box::pin(async move {
            let rows = service::read::hot(self, p, limit as i64).await?;
            Ok(rows
                .into_iter()
                .map(|h| yidu_cockpit::panels::HotTopicLine {
                    href: format!("/staff/classes/{}", h.id),
                    label: h.label,
                    size: h.size,
                    recent: h.recent,
                    growth: h.growth,
                    same_asks: h.same_asks,
                    score: h.score,
                })
                .collect())
        })
    }

    fn formula(&self) -> (&'static str, &'static str) {
        model::HOT_FORMULA
    }
}
