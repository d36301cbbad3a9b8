//! Panels other rooms add to the cockpit page. The cockpit sits below the rooms that feed
//! it (opinions records counters here), so a room above it plugs a panel in through a
//! trait object the app puts into the request extensions; without one the panel is left
//! out.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use yidu_kernel::{AppResult, Principal};

/// One hot topic (a class of the same problem) as the cockpit lists it.
#[derive(Debug, Clone)]
pub struct HotTopicLine {
    pub href: String,
    pub label: String,
    pub size: i64,
    /// Items in the last 7 days.
    pub recent: i64,
    /// Last 7 days minus the 7 before.
    pub growth: i64,
    /// "Me too" (同问) count.
    pub same_asks: i64,
    /// The rank's score (the source explains it in `formula`).
    pub score: i64,
}

pub type PanelFuture<'a> = Pin<Box<dyn Future<Output = AppResult<Vec<HotTopicLine>>> + Send + 'a>>;

/// The source of the hot-topics panel (the class-case room).
pub trait HotTopics: Send + Sync {
    /// At most `limit` topics within the principal's scope, hottest first.
    fn hot_topics<'a>(&'a self, p: &'a Principal, limit: usize) -> PanelFuture<'a>;
    /// How the topics are ranked, for the panel's caption (zh, en).
    fn formula(&self) -> (&'static str, &'static str);
}

#[derive(Clone)]
pub struct HotTopicsSource(pub Arc<dyn HotTopics>);
