//! The web adapters of alarm-digest: the `/v1` HTTP API ([`api`]) and the server-rendered
//! console ([`console`]), over the same use cases, served by one [`router`].
//!
//! The two adapters know nothing of each other; what they share lives beside them:
//!
//! - [`state`]: the use cases, tokens and limits every handler is given ([`AppState`]).
//! - [`params`]: the query strings and path segments both parse, the same way.
//! - [`auth`]: the tokens, checked as bearer tokens by the API and as sessions by the
//!   console.
//! - [`error`]: the one error type, a problem document in the API, an error page in the
//!   console.
//! - [`observe`] and [`observer`]: request metrics and tracing over every route.

pub mod api;
pub mod auth;
pub mod console;
pub mod error;
pub mod observe;
pub mod observer;
pub mod params;
pub mod state;

pub use auth::Tokens;
pub use state::{AppState, HttpLimits};

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::middleware::{from_fn_with_state, Next};
use axum::response::Response;
use axum::Router;
use std::time::Duration;

/// Every route: the API's (health, readiness, metrics, `/v1`, the OpenAPI document) and the
/// console's at `/`. A path no route matches gets a problem (404, or 405 for the wrong
/// method); every request is held to the body limit and the deadline, and traced.
pub fn router(state: AppState) -> Router {
    let limits = state.limits;
    api::router(&state)
        .merge(console::router(&state))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(limits.body_bytes))
        .layer(from_fn_with_state(limits.timeout, deadline))
        .layer(observe::trace_layer())
        .with_state(state)
}

/// Answers 503 as a problem when a request takes longer than `HTTP_TIMEOUT`; the handler's
/// future is dropped, so a store call in flight is abandoned, not left running.
async fn deadline(State(timeout): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => error::problem(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the request took longer than {} ms", timeout.as_millis()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::header;
    use axum::routing::get;

    #[tokio::test]
    async fn a_request_over_the_deadline_gets_a_503_problem() {
        let app = Router::new()
            .route("/stuck", get(std::future::pending::<&'static str>))
            .layer(from_fn_with_state(Duration::from_millis(50), deadline));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let response = reqwest::get(format!("http://{addr}/stuck")).await.unwrap();
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()[header::CONTENT_TYPE], error::PROBLEM_JSON);
    }
}
