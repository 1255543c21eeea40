//! The web console: server-rendered pages over the same use cases as the API, served by
//! the same router at `/` (the API stays under `/v1`); every asset is compiled in.

mod alarms;
mod digest;
mod layout;
mod policy;
mod services;
mod session;

use crate::http::AppState;
use axum::http::header;
use axum::middleware::from_fn_with_state;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;

/// The console's stylesheet, compiled into the binary.
const STYLE: &str = include_str!("assets/console.css");
/// The countdown ticker of the service pages, compiled into the binary; the pages work
/// without it.
const COUNTDOWN: &str = include_str!("assets/countdown.js");

/// The console's routes: the pages and the acknowledge action behind the session check,
/// the login form, logout and the stylesheet outside it.
pub fn router(state: &AppState) -> Router<AppState> {
    let pages = Router::new()
        .route("/", get(alarms::listing))
        .route("/alarms", get(alarms::listing))
        .route("/alarms/{user}/{alarm}", get(alarms::one))
        .route("/alarms/{user}/{alarm}/ack", post(alarms::acknowledge))
        .route("/users/{user}/digest", get(digest::preview))
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
        .route("/console.css", get(style))
        .route("/countdown.js", get(countdown))
        .merge(pages)
}

async fn style() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        STYLE,
    )
}

async fn countdown() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        COUNTDOWN,
    )
}
