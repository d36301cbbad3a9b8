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

/// The deployment's settings of the text assist (`text_*` keys of the app config,
/// checked at start-up by [`AssistConfig::validate`]).
#[derive(Debug, Clone, PartialEq)]
pub struct AssistConfig {
    /// A category or unit suggestion at least this sure (0–1) is pre-selected in the
    /// handler's form (`text_preselect_confidence`).
    pub preselect_confidence: f32,
    /// Estimated similarity (0–1) below which an open item is not offered as a near
    /// duplicate, to staff or to citizens as 同问 (`text_similar_min`).
    pub similar_min: f32,
    /// Fewer handled items than this give no model (`text_train_min_items`).
    pub train_min_items: usize,
    /// A category or unit with fewer handled items than this is left out of training: a
    /// label learnt from one or two items is a guess (`text_train_min_per_label`).
    pub train_min_per_label: usize,
    /// The daily run retrains a kind only when this many items that came in after its
    /// model was trained have been handled (`text_retrain_min_new`).
    pub retrain_min_new: i64,
}

impl Default for AssistConfig {
    fn default() -> Self {
        AssistConfig {
            preselect_confidence: 0.6,
            similar_min: 0.2,
            train_min_items: 10,
            train_min_per_label: 3,
            retrain_min_new: 50,
        }
    }
}

impl AssistConfig {
    /// The first setting out of range, as a message naming it (zh / en).
    pub fn validate(&self) -> Result<(), String> {
        let unit = |v: f32| v > 0.0 && v <= 1.0;
        if !unit(self.preselect_confidence) {
            return Err(format!(
                "text_preselect_confidence 应大于 0 且不超过 1 / text_preselect_confidence must be above 0 and at most 1: {}",
                self.preselect_confidence
            ));
        }
        if !unit(self.similar_min) {
            return Err(format!(
                "text_similar_min 应大于 0 且不超过 1 / text_similar_min must be above 0 and at most 1: {}",
                self.similar_min
            ));
        }
        if self.train_min_items < 2 {
            return Err(format!(
                "text_train_min_items 至少为 2 / text_train_min_items must be at least 2: {}",
                self.train_min_items
            ));
        }
        if self.train_min_per_label < 1 {
            return Err(
                "text_train_min_per_label 至少为 1 / text_train_min_per_label must be at least 1: 0"
                    .to_string(),
            );
        }
        if self.retrain_min_new < 1 {
            return Err(format!(
                "text_retrain_min_new 至少为 1 / text_retrain_min_new must be at least 1: {}",
                self.retrain_min_new
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::AssistConfig;

    #[test]
    fn each_bad_setting_is_named() {
        assert!(AssistConfig::default().validate().is_ok());
        let cases: [(&str, AssistConfig); 5] = [
            (
                "text_preselect_confidence",
                AssistConfig {
                    preselect_confidence: 1.5,
                    ..Default::default()
                },
            ),
            (
                "text_similar_min",
                AssistConfig {
                    similar_min: 0.0,
                    ..Default::default()
                },
            ),
            (
                "text_train_min_items",
                AssistConfig {
                    train_min_items: 1,
                    ..Default::default()
                },
            ),
            (
                "text_train_min_per_label",
                AssistConfig {
                    train_min_per_label: 0,
                    ..Default::default()
                },
            ),
            (
                "text_retrain_min_new",
                AssistConfig {
                    retrain_min_new: 0,
                    ..Default::default()
                },
            ),
        ];
        for (name, c) in cases {
            let e = c.validate().unwrap_err();
            assert!(e.contains(name), "{name}: {e}");
        }
    }
}
