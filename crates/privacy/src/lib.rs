//! Personal data at rest and on screen: citizens' names and phone numbers.
//!
//! - [`Keyring`]: AES-256-GCM sealing with the key id beside each ciphertext (keys rotate),
//!   keys from configuration (`YIDU_DATA_KEY`) or a 0600 key file in the data directory, and
//!   [`Keyring::blind_index`] (HMAC-SHA256 with a derived key) for look-ups and rate limits
//!   without decrypting.
//! - [`Phone`]: mainland phone numbers, normalized and validated, with field errors.
//! - [`mask_phone`] / [`mask_name`]: the one place masks are made.
//! - [`Secret`] / [`PersonalText`]: a wrapper whose `Debug` and `Display` print `***`, so
//!   personal data never reaches a log line.

mod error;
mod keyring;
mod mask;
mod phone;
mod secret;

pub use error::PrivacyError;
pub use keyring::{Keyring, KEY_ENV, KEY_FILE};
pub use mask::{mask_name, mask_phone};
pub use phone::{Phone, PhoneKind};
pub use secret::{PersonalText, Secret};
