//! A secret string (an ACL token, a password) that cannot be printed by accident.

use std::fmt;

/// Largest token file read: ACL tokens are UUIDs, 36 bytes.
pub const MAX_TOKEN_FILE_BYTES: u64 = 4096;

/// Holds a secret; `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value, trimming the whitespace a token file usually ends with, and
    /// registers it with [`crate::text::register_secret`] so that no output shows it.
    pub fn new(value: impl Into<String>) -> Secret {
        let value = value.into().trim().to_string();
        crate::text::register_secret(&value);
        Secret(value)
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when nothing is held (an empty token means "no token" to Consul).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_value() {
        let s = Secret::new(" 5e1f-token\n");
        assert_eq!(s.expose(), "5e1f-token");
        assert!(!format!("{s:?} {s}").contains("5e1f"));
        assert_eq!(crate::text::scrub("echo 5e1f-token"), "echo ***");
    }
}
