//! The tokens that guard the API and the console: `API_TOKEN` for writes, `API_READ_TOKEN`
//! for reads, compared in constant time.

use subtle::ConstantTimeEq;

/// The tokens the API and the console accept; a route class without a token is open.
#[derive(Clone, Default)]
pub struct Tokens {
    /// Required by write routes when set.
    pub write: Option<String>,
    /// Required by read routes when set.
    pub read: Option<String>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Tokens are secrets: show only whether they are set.
        f.debug_struct("Tokens")
            .field("write", &self.write.is_some())
            .field("read", &self.read.is_some())
            .finish()
    }
}

/// Whether the presented token is the configured one, compared in constant time (subtle's
/// `ct_eq`): the time taken does not reveal how much of a guessed token was right. Only the
/// length can show, and the length is not the secret.
pub fn token_matches(presented: &str, expected: &str) -> bool {
    presented.as_bytes().ct_eq(expected.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_comparison_is_exact() {
        assert!(token_matches("s3cret", "s3cret"));
        assert!(!token_matches("s3cret", "s3creT"));
        assert!(!token_matches("s3cre", "s3cret"));
        assert!(!token_matches("", "x"));
        assert!(!token_matches("x", ""));
    }

    #[test]
    fn debug_output_never_shows_a_token() {
        let tokens = Tokens {
            write: Some("hunter2".into()),
            read: None,
        };
        assert!(!format!("{tokens:?}").contains("hunter2"));
    }
}
