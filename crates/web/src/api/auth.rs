//! The API's bearer tokens: `API_TOKEN` guards writes, `API_READ_TOKEN` guards reads.

use crate::auth::token_matches;
use crate::error::HttpError;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;

/// The tokens these middlewares check (shared with the console's sessions).
pub use crate::auth::Tokens;

/// Middleware for write routes.
pub async fn require_write(State(state): State<AppState>, request: Request, next: Next) -> Result<Response, HttpError> {
    check(state.tokens.write.as_deref(), &request)?;
    Ok(next.run(request).await)
}

/// Middleware for read routes.
pub async fn require_read(State(state): State<AppState>, request: Request, next: Next) -> Result<Response, HttpError> {
    check(state.tokens.read.as_deref(), &request)?;
    Ok(next.run(request).await)
}

fn check(expected: Option<&str>, request: &Request) -> Result<(), HttpError> {
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
        Err(HttpError::Unauthorized)
    }
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
            assert!(
                matches!(refused, Err(HttpError::Unauthorized)),
                "{wrong:?} was accepted"
            );
        }
        assert!(matches!(
            check(expected, &presenting(None)),
            Err(HttpError::Unauthorized)
        ));
    }

    #[test]
    fn a_route_class_without_a_token_is_open() {
        assert!(check(None, &presenting(None)).is_ok());
        assert!(check(None, &presenting(Some("Bearer anything"))).is_ok());
    }
}
