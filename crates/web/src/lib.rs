//! The web shell every room plugs into: shared state, the request context (language,
//! client address, authenticated principal), error responses, CSRF checking, the page
//! layout with its three faces, embedded assets, health and metrics.
//!
//! Rooms build `Router<AppState>`s from their `api` and `pages` modules; the app crate
//! merges them and wraps them with [`middleware`].

pub mod assets;
pub mod auth;
pub mod cookies;
pub mod csrf;
pub mod error;
pub mod form;
pub mod meta;
pub mod metrics;
pub mod middleware;
pub mod ops;
pub mod shell;
pub mod state;

pub use auth::{ApiUser, AuthContext, Authenticator, PageUser};
pub use error::{ApiError, ApiResult, PageError, PageResult};
pub use meta::RequestMeta;
pub use shell::{Face, Shell};
pub use state::{AppState, WebConfig};
