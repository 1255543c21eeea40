//! The HTTP server: health, readiness, metrics, the `/v1` API and the console at `/`.

pub mod alarms;
pub mod allma;
pub mod auth;
pub mod body;
pub mod dead_letters;
pub mod error;
pub mod events;
pub mod listing;
#[cfg(test)]
mod listing_properties;
pub mod observe;
pub mod openapi;
pub mod policies;
pub mod preview;
pub mod services;
pub mod stats;

use crate::observer::{WebObserver, EXPOSITION_CONTENT_TYPE};
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use std::sync::Arc;
use std::time::Duration;
use usecases::alarms::AlarmUpdates;
use usecases::digests::Digests;
use usecases::health::Health;
use usecases::pager::PagerService;
use usecases::queries::AlarmQueries;
use utoipa::{Modify as _, OpenApi as _};
use utoipa_axum::router::OpenApiRouter;

/// What handlers share.
#[derive(Clone)]
pub struct AppState {
    /// Readiness parts.
    pub health: Arc<Health>,
    /// Counts requests and serves the metrics exposition.
    pub observer: Arc<dyn WebObserver>,
    /// Status changes and acknowledgements in.
    pub updates: Arc<AlarmUpdates>,
    /// Alarms, histories, totals and statistics out.
    pub queries: Arc<AlarmQueries>,
    /// Digest previews and the digests sent.
    pub digests: Arc<Digests>,
    /// Escalation policies, service health and the console's pager actions.
    pub pager: Arc<PagerService>,
    /// The latest dead letters, for the API and the console.
    pub dead_letters: Arc<usecases::dead_letters::DeadLetterQueries>,
    /// The bearer tokens of the API.
    pub tokens: Arc<auth::Tokens>,
    /// Body size and time limits.
    pub limits: HttpLimits,
}

/// Limits on every request.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    /// Largest request body in bytes (`HTTP_BODY_LIMIT`); larger bodies get a 413.
    pub body_bytes: usize,
    /// Longest time a request may take (`HTTP_TIMEOUT`); slower ones get a 503.
    pub timeout: Duration,
}

/// The `/v1` routes and the OpenAPI document generated from the same registrations, so the
/// document cannot list a route the server lacks or miss one it has.
pub fn api(state: &AppState) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let reads = alarms::router()
        .merge(stats::router())
        .merge(dead_letters::router())
        .merge(preview::router())
        .merge(services::read_router())
        .merge(policies::read_router())
        .route_layer(from_fn_with_state(state.clone(), auth::require_read));
    let writes = events::router()
        .merge(allma::router())
        .merge(services::write_router())
        .merge(policies::write_router())
        .route_layer(from_fn_with_state(state.clone(), auth::require_write));
    let (routes, mut document) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(reads)
        .merge(writes)
        .split_for_parts();
    openapi::Conventions.modify(&mut document);
    (routes, document)
}

/// All routes: health, readiness and metrics stay open; `/v1` reads and writes require
/// their token when one is configured, and so do the console's pages and actions. Errors are `application/problem+json`.
pub fn router(state: AppState) -> Router {
    let (api, document) = api(&state);
    let document = Arc::new(document);
    let limits = state.limits;
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route(
            "/v1/openapi.json",
            get(move || {
                let document = Arc::clone(&document);
                async move { Json(document.as_ref().clone()) }
            }),
        )
        .merge(api)
        .merge(crate::console::router(&state))
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

/// The process is up.
async fn healthz() -> impl IntoResponse {
    Json(serde_json::json!({ "status": "ok" }))
}

/// 200 when NATS is connected, the store answers and intake consumes; 503 otherwise.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let readiness = state.health.readiness();
    let code = if readiness.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(readiness))
}

/// Prometheus exposition, in OpenMetrics text.
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, EXPOSITION_CONTENT_TYPE)],
        state.observer.exposition(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

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
