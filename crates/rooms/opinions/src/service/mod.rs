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

/// Short id of an outbox event, unique across instances: 48 bits of the time in
/// milliseconds, then 48 random bits (24 hex characters, as before).
///
/// Time first so that new ids sort after older ones: the unique index on
/// `outbox.event_id` then grows at its end, and a batch of events dirties one or two
/// index pages instead of one random page per event (every dirty page is written to the
/// WAL at COMMIT, inside the writer's time). Two ids of the same millisecond clash only
/// if 48 random bits do.
pub fn event_id() -> String {
    use rand::RngCore;
    let mut b = [0u8; 12];
    let ms = u64::try_from(yidu_kernel::clock::now_ms()).unwrap_or(0);
    b[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
    rand::thread_rng().fill_bytes(&mut b[6..]);
    hex::encode(b)
}

#[cfg(test)]
mod event_id_tests {
    use super::event_id;

    #[test]
    fn ids_are_24_hex_characters_sorted_by_time_and_distinct() {
        let first = event_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let later: Vec<String> = (0..1000).map(|_| event_id()).collect();
        assert_eq!(first.len(), 24);
        assert!(first.chars().all(|c| c.is_ascii_hexdigit()));
        assert!(later.iter().all(|id| *id > first), "later ids sort after");
        let distinct: std::collections::HashSet<&String> = later.iter().collect();
        assert_eq!(distinct.len(), later.len());
    }
}
