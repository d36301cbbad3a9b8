//! The shared kernel every room stands on: who is acting and within which scope
//! ([`principal`]), the one error type ([`error`]), the two UI languages ([`i18n`]),
//! clock helpers ([`clock`]) and list paging ([`page`]).

pub mod clock;
pub mod error;
pub mod i18n;
pub mod page;
pub mod principal;

pub use error::{AppError, AppResult, FieldError};
pub use i18n::{Lang, Msg};
pub use page::{Page, PageQuery};
pub use principal::{Principal, Role, ScopeKind};
