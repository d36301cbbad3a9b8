//! Room: audit (审计). Every state change in yidu writes one record here, inside the
//! same transaction as the change, so a change without its record cannot exist.
//!
//! Records form hash chains, one per district (plus a global chain for system-wide
//! objects): each record stores the hash of its predecessor, and the chain head row
//! holds the last sequence number and hash. Appending locks the head row, which
//! serializes writers of one chain across app instances; `yidu audit verify` walks every
//! chain and names the first record that was changed, removed or inserted.
//!
//! Records are kept indefinitely (the network security law asks for at least six
//! months; GB/T 22239 level 3 asks for them to be protected): nothing deletes them.

pub mod api;
mod batch;
pub mod model;
pub mod pages;
pub mod service;
mod store;

pub use batch::record_many;
pub use model::{Actor, AuditRecord, Entry, VerifyReport};
pub use service::{list, record, verify};
