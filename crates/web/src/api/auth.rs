//! Bearer tokens: `API_TOKEN` guards writes, `API_READ_TOKEN` guards reads.

use super::error::ApiError;
use super::AppState;
use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;
use subtle::ConstantTimeEq;

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
    if token_matches(presented, expected) {
        Ok(())
    } else {
        Err(ApiError::Unauthorized)
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

    fn presenting(authorization: Option<&str>) -> Request {
        let mut request = Request::builder().uri("/v1/alarms");
        if let Some(value) = authorization {
            request = request.header(AUTHORIZATION, value);
        }
        request.body(axum::body::Body::empty()).unwrap()
    }

    #[test]
    fn the_configured_token_is_accepted_and_a_wrong_one_of_any_length_is_refused() {
        let expected = Some("s3cret");
        assert!(check(expected, &presenting(Some("Bearer s3cret"))).is_ok());
        for wrong in [
            "Bearer s3creT",  // same length, last byte differs
            "Bearer x3cret",  // same length, first byte differs
            "Bearer s3cre",   // shorter
            "Bearer s3crets", // longer
            "Bearer ",
            "s3cret", // no scheme
            "Basic s3cret",
        ] {
            let refused = check(expected, &presenting(Some(wrong)));
            assert!(matches!(refused, Err(ApiError::Unauthorized)), "{wrong:?} was accepted");
        }
        assert!(matches!(
            check(expected, &presenting(None)),
            Err(ApiError::Unauthorized)
        ));
    }

    #[test]
    fn a_route_class_without_a_token_is_open() {
        assert!(check(None, &presenting(None)).is_ok());
        assert!(check(None, &presenting(Some("Bearer anything"))).is_ok());
    }

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
