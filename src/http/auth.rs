//! Bearer tokens: `API_TOKEN` guards writes, `API_READ_TOKEN` guards reads.

use super::error::ApiError;
use super::AppState;
use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;

/// The tokens the API accepts; a route class without a token is open.
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

/// Middleware for write routes.
pub async fn require_write(State(state): State<AppState>, request: Request, next: Next) -> Result<Response, ApiError> {
    check(state.tokens.write.as_deref(), &request)?;
    Ok(next.run(request).await)
}

/// Middleware for read routes.
pub async fn require_read(State(state): State<AppState>, request: Request, next: Next) -> Result<Response, ApiError> {
    check(state.tokens.read.as_deref(), &request)?;
    Ok(next.run(request).await)
}

fn check(expected: Option<&str>, request: &Request) -> Result<(), ApiError> {
    let Some(expected) = expected else {
        return Ok(());
    };
    let presented = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if constant_time_eq(presented.as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        Err(ApiError::Unauthorized)
    }
}

/// Compares without an early exit on the first differing byte, so the time taken does not
/// reveal how much of a guessed token was right (the length is not secret).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_tokens_match_and_any_difference_does_not() {
        assert!(constant_time_eq(b"s3cret", b"s3cret"));
        assert!(!constant_time_eq(b"s3cret", b"s3creT"));
        assert!(!constant_time_eq(b"s3cret", b"s3cre"));
        assert!(!constant_time_eq(b"", b"x"));
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
