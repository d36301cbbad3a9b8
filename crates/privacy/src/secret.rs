//! A wrapper that keeps personal data out of logs and error messages.

use serde::{Deserialize, Deserializer};
use std::fmt;

/// A value that must never be printed: `Debug` and `Display` show `***`. Read it with
/// [`Secret::expose`], a name that stands out in review. It deliberately has no `Serialize`:
/// whether a view gets the clear text or a mask is decided where the view is built.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Secret<T>(T);

/// A citizen's name, phone number or other personal text, in clear inside the process.
pub type PersonalText = Secret<String>;

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Secret(value)
    }
    pub fn expose(&self) -> &T {
        &self.0
    }
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Secret(value)
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Secret<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Secret)
    }
}
