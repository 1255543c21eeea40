//! The web console: server-rendered pages over the same use cases as the API, served by
//! the same router at `/` (the API stays under `/v1`); every asset is compiled in.

mod alarm;
mod charts;
mod dead_letters;
mod digest;
mod layout;
mod listing;
mod policy;
mod services;
mod session;
mod stats;

use crate::state::AppState;
use axum::http::{header, HeaderValue};
use axum::middleware::{from_fn_with_state, map_response};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

/// The console's stylesheet, compiled into the binary.
const STYLE: &str = include_str!("assets/console.css");
/// The console's script, compiled into the binary: progressive enhancement only.
const SCRIPT: &str = include_str!("assets/console.js");

/// The console's routes: the pages and the acknowledge action behind the session check,
/// the login form, logout and the assets outside it.
pub fn router(state: &AppState) -> Router<AppState> {
    let pages = Router::new()
        .route("/", get(listing::listing))
        .route("/alarms", get(listing::listing))
        .route("/alarms/{user}/{alarm}", get(alarm::one))
        .route("/alarms/{user}/{alarm}/ack", post(alarm::acknowledge))
        .route("/users/{user}/digest", get(digest::preview))
        .route("/users/{user}/digest/schedule", post(digest::submit_schedule))
        .route("/stats", get(stats::stats))
        .route("/dead-letters", get(dead_letters::listing))
        .route("/services", get(services::listing))
        .route("/services/{service}", get(services::one))
        .route("/services/{service}/acknowledge", post(services::acknowledge))
        .route("/services/{service}/healthy", post(services::healthy))
        .route("/services/{service}/policy", get(policy::show).post(policy::submit))
        .route(
            "/services/{service}/policy/delete",
            get(policy::confirm_delete).post(policy::delete),
        )
        .route_layer(from_fn_with_state(state.clone(), session::require));
    Router::new()
        .route("/login", get(session::login_form).post(session::login))
        .route("/logout", post(session::logout))
        .route("/console.css", get(|| asset("text/css; charset=utf-8", STYLE)))
        .route("/console.js", get(|| asset("text/javascript; charset=utf-8", SCRIPT)))
        .merge(pages)
        .layer(map_response(protect))
}

/// What every console response may load and do: only this origin's script, stylesheet
/// and forms, no inline script or style, no framing. Escaping keeps attacker text inert;
/// this keeps it inert even if an escape were missed.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Adds the security headers to a console response.
async fn protect(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    response
}

/// A compiled-in asset with its type, cached for five minutes.
async fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        body,
    )
}
