//! Use cases of the opinions room. Every read and move checks the principal against the
//! item (see [`access`]); citizens act through the tracking number and query code.

pub mod access;
mod binds;
pub mod categories;
pub mod category_edit;
pub mod deadline;
pub mod digest_send;
pub mod feed;
pub mod handling;
mod intake;
pub mod moves;
pub mod queue;
pub mod read;
pub mod routes;
pub mod search;
pub mod search_build;
mod search_pg;
mod search_queue;
pub mod submit;

use crate::model::OpinionsConfig;
use crate::store::OpinionRow;
use std::sync::Arc;
use yidu_calendar::Calendar;
use yidu_db::Db;
use yidu_privacy::Keyring;
use yidu_text::Segmenter;

/// What the room's use cases need besides the database.
#[derive(Clone)]
pub struct Opinions {
    pub db: Db,
    pub keys: Arc<Keyring>,
    pub calendar: Arc<Calendar>,
    pub config: Arc<OpinionsConfig>,
    /// The search tokenizer: jieba's dictionary is slow to load, so one per process.
    pub segmenter: Arc<Segmenter>,
    /// Intake's short-lived memory of where codes and regions route (see [`routes`]).
    pub routes: Arc<routes::RouteCache>,
    /// Text assist state: loaded models and the near-duplicate index (see [`crate::assist`]).
    pub assist: Arc<crate::assist::TextAssist>,
    /// Whether the search index is in this binary's token format (see [`search_build`]).
    pub search: Arc<search_build::IndexState>,
}

impl Opinions {
    /// The deadline `days` working days after `from`. A year the calendar does not cover
    /// is a configuration error: it is logged loudly and the item gets no deadline rather
    /// than a wrong one.
    pub fn deadline(&self, from: i64, days: u32) -> Option<i64> {
        match self.calendar.due_at_ms(from, days) {
            Ok(d) => Some(d),
            Err(e) => {
                tracing::error!(error = %e, "holiday calendar does not cover this date: add the year's State Council notice");
                None
            }
        }
    }

    /// Urgency colour of an item's deadline now.
    pub fn urgency(&self, o: &OpinionRow, now: i64) -> &'static str {
        let Some(due) = o.deadline_at else {
            return "normal";
        };
        if !o.status.is_open() {
            return "normal";
        }
        if now >= due {
            return "red";
        }
        // Yellow when the due day is the next working day or today.
        match yidu_calendar::china_time_ms(now).and_then(|n| self.calendar.add_working_days(n, 1)) {
            Ok(next_working) => {
                let due_day = yidu_calendar::china_time_ms(due - 1).map(|d| d.date());
                match due_day {
                    Ok(d) if d <= next_working => "yellow",
                    _ => "normal",
                }
            }
            Err(_) => "normal",
        }
    }
}

/// Short id of an outbox event, unique across instances.
pub fn event_id() -> String {
    use rand::RngCore;
    let mut b = [0u8; 12];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}
