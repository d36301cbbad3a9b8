//! The text room: Chinese text understanding for routing, duplicates and class cases
//! (issue 4). A pure library with no database or web dependency; the opinions application
//! calls it, and the `yidu text` CLI runs it on files through [`cli`].
//!
//! - [`normalize`]: full-width → half-width, traditional → simplified, whitespace and
//!   punctuation folding.
//! - [`segment`]: jieba segmentation with a user dictionary, and the search tokenizer
//!   (words plus character bigrams).
//! - [`classify`]: a category / handling-unit model trained from the deployment's own
//!   handled items, predicting a label with a confidence; saved to a versioned file.
//! - [`neardup`]: the near-duplicate index for intake ("others reported this too").
//! - [`cluster`]: class cases, grouping texts of the same problem, batch or incremental
//!   with identical results.

pub mod classify;
pub mod cli;
pub mod cluster;
pub mod csvio;
pub mod error;
mod features;
mod hashing;
mod linear;
pub mod neardup;
pub mod normalize;
pub mod segment;
pub mod stop;

pub use classify::{cross_validate, CvReport, Model, Prediction, TrainOptions};
pub use cluster::{
    ClusterParams, ClusterSummary, Clusterer, Clustering, IdfCounter, IdfTable, SummaryBuilder,
};
pub use error::TextError;
pub use neardup::{NearDupIndex, NearDupMatch, NearDupParams};
pub use normalize::normalize;
pub use segment::Segmenter;
pub use stop::Stop;
