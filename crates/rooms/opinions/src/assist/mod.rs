//! Text assist at intake (issue 4): the suggested category and handling unit from models
//! trained on this deployment's own handled items ([`models`]), the most similar open
//! items in the same area ([`similar`]), and citizens' 同问 ("me too", [`metoo`]).
//!
//! The state lives in memory per process: the newest model of each kind (checked against
//! the database at most once a minute) and the near-duplicate index of open items
//! (refreshed from the database by id and update-time watermarks at most once a second),
//! so a lookup costs no database round trip and every instance converges on the same data.

pub mod api;
pub mod metoo;
pub mod models;
pub mod pages;
pub mod similar;

use std::sync::{Arc, RwLock};

/// Per-process state of the text assist. Cheap to share: one per `Opinions`.
#[derive(Default)]
pub struct TextAssist {
    pub(crate) models: RwLock<models::Loaded>,
    pub(crate) dup: similar::DupIndex,
}

impl TextAssist {
    pub fn new() -> Arc<TextAssist> {
        Arc::new(TextAssist::default())
    }
}

/// Shown before the handler's own choice when a suggestion is at least this sure.
pub const PRESELECT_CONFIDENCE: f32 = 0.6;
