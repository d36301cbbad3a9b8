//! Room: opinions (民意). A citizen scans a deputy's or a station's code, writes what is
//! wrong, and gets a tracking number and a secret query code; the deputy, the station,
//! the township or the district claims it, answers on the spot or assigns it to a
//! handling unit, which takes it or returns it; the reply reaches the citizen, who
//! rates it; an unsatisfied rating reopens it. Deadlines count working days on the State
//! Council's holiday calendar; personal data is sealed at rest and masked on screen.

pub mod api;
pub mod assist;
pub mod demo;
pub mod model;
pub mod open311;
pub mod pages;
pub mod service;
mod store;

pub use model::{Opinion, OpinionsConfig, Receipt, Status};
pub use service::Opinions;
