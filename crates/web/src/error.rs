//! The one error type of the web adapters: the API renders it as RFC 9457
//! `application/problem+json`, the console as an error page showing the same problem.

use axum::extract::rejection::BytesRejection;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::dead_letter::DeadLetterError;
use serde::Serialize;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Why a request failed, to the API or the console; each variant has one status code.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// A query parameter, path segment or body is malformed (400).
    #[error("{0}")]
    BadRequest(String),
    /// The bearer token is missing or wrong (401); the token itself is never echoed.
    #[error("a valid bearer token is required")]
    Unauthorized,
    /// The credentials are valid but the request is not (403): a console form without its
    /// CSRF token.
    #[error("{0}")]
    Forbidden(String),
    /// No such resource (404).
    #[error("{0}")]
    NotFound(String),
    /// The route exists, but not for this method (405); axum sets `Allow`.
    #[error("method not allowed for this resource")]
    MethodNotAllowed,
    /// The body exceeds `HTTP_BODY_LIMIT` (413).
    #[error("request body exceeds the configured limit")]
    PayloadTooLarge,
    /// The body is not `application/json` (415).
    #[error("expected a body with content type application/json")]
    UnsupportedMediaType,
    /// Well-formed JSON that is not a valid request or event (422).
    #[error("{0}")]
    Unprocessable(String),
    /// The store could not be reached (503); detail is logged, not shown.
    #[error("store unavailable: {0}")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Anything else (500); detail is logged, not shown.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl HttpError {
    /// The status code this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            HttpError::BadRequest(_) => StatusCode::BAD_REQUEST,
            HttpError::Unauthorized => StatusCode::UNAUTHORIZED,
            HttpError::Forbidden(_) => StatusCode::FORBIDDEN,
            HttpError::NotFound(_) => StatusCode::NOT_FOUND,
            HttpError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            HttpError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            HttpError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            HttpError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            HttpError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            HttpError::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<domain::ports::StoreError> for HttpError {
    fn from(e: domain::ports::StoreError) -> Self {
        if e.is_transient() {
            HttpError::Unavailable(Box::new(e))
        } else {
            HttpError::Unexpected(anyhow::Error::new(e))
        }
    }
}

impl From<usecases::pager::PagerError> for HttpError {
    fn from(e: usecases::pager::PagerError) -> Self {
        match e {
            usecases::pager::PagerError::Store(e) => e.into(),
            other if other.is_transient() => HttpError::Unavailable(Box::new(other)),
            other => HttpError::Unexpected(anyhow::Error::new(other)),
        }
    }
}

impl From<DeadLetterError> for HttpError {
    fn from(e: DeadLetterError) -> Self {
        match e {
            DeadLetterError::Unavailable(failure) => HttpError::Unavailable(Box::new(failure)),
        }
    }
}

impl From<BytesRejection> for HttpError {
    fn from(rejection: BytesRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            HttpError::PayloadTooLarge
        } else {
            HttpError::BadRequest(rejection.body_text())
        }
    }
}

/// The RFC 9457 body.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem<'a> {
    /// Always `about:blank`: the status code says it all.
    #[serde(rename = "type")]
    kind: &'a str,
    /// The status code's reason phrase.
    title: &'a str,
    /// The HTTP status code.
    status: u16,
    /// What went wrong, for a person to read.
    detail: String,
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let status = self.status();
        problem(status, self.client_detail())
    }
}

impl HttpError {
    /// The problem's `detail`: the error for a client error; for a server error, a fixed
    /// sentence, the error itself logged (the console shows the same).
    pub fn client_detail(&self) -> String {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %domain::failure::Chain(self), status = status.as_u16(), "request failed");
            "the server could not complete the request; it has been logged".to_string()
        } else {
            self.to_string()
        }
    }
}

/// A problem response with `status` and `detail`.
pub fn problem(status: StatusCode, detail: String) -> Response {
    let body = Problem {
        kind: "about:blank",
        title: status.canonical_reason().unwrap_or("Error"),
        status: status.as_u16(),
        detail,
    };
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    let mut response = (status, bytes).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    response
}

/// The answer for paths no route matches.
pub async fn not_found() -> HttpError {
    HttpError::NotFound("no such resource".into())
}

/// The answer for a known path with the wrong method (axum adds `Allow`).
pub async fn method_not_allowed() -> HttpError {
    HttpError::MethodNotAllowed
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_of(response: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn server_errors_hide_their_detail_from_the_client() {
        let response = HttpError::Unexpected(anyhow::anyhow!("secret connection string")).into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(response.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
        let body = body_of(response).await;
        assert!(
            !body.to_string().contains("secret connection string"),
            "detail leaked: {body}"
        );
        assert_eq!(
            body,
            serde_json::json!({
                "type": "about:blank",
                "title": "Internal Server Error",
                "status": 500,
                "detail": "the server could not complete the request; it has been logged",
            })
        );
    }

    #[tokio::test]
    async fn client_errors_tell_the_client_what_was_wrong() {
        let response = HttpError::BadRequest("limit must be at most 500".into()).into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(response.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
        assert_eq!(body_of(response).await["detail"], "limit must be at most 500");
    }

    #[test]
    fn a_store_outage_is_a_503_that_keeps_the_store_error_as_its_cause() {
        let outage = domain::ports::StoreError::Unavailable("connection refused".into());
        let error = HttpError::from(outage);
        assert_eq!(error.status(), StatusCode::SERVICE_UNAVAILABLE);
        let cause = std::error::Error::source(&error).expect("the store error is kept");
        assert_eq!(cause.to_string(), "store unavailable: connection refused");
        let root = cause.source().expect("and its own cause");
        assert_eq!(root.to_string(), "connection refused");
    }
}
