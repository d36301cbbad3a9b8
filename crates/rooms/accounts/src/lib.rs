//! Room: accounts (账号). Users with one role bound to one scope, argon2 password
//! hashes, the password policy, lockout after repeated failures, sessions with an idle
//! timeout, and API bearer tokens. All of it lives in the database, so any number of
//! app instances can share it.

pub mod api;
pub mod model;
pub mod pages;
mod pages_import;
pub mod service;
mod store;
pub mod xlsx;

pub use model::{AccountsConfig, NewUser, User};
pub use service::AccountsAuth;
