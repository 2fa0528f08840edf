//! A wrapper for secrets that never shows its content in `Debug` or `Display`.

use std::fmt;

/// A secret string: refresh token, API key, client secret, webhook client state.
/// Read it with [`Secret::expose`] exactly where it is sent, nowhere else.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret text, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_prints_its_value() {
        let s = Secret::new("0123456789abcdef0123456789abcdef01234567");
        let shown = format!("{s} {s:?} {:?}", Some(&s));
        assert!(!shown.contains("0123"), "{shown}");
        assert_eq!(s.expose().len(), 40);
    }
}
