//! The HTTP server: health, readiness, metrics and the `/v1` API.

pub mod alarms;
pub mod auth;
pub mod error;
pub mod events;
pub mod listing;
pub mod observe;
pub mod stats;

use crate::domain::ports::AlarmStore;
use crate::health::Health;
use crate::metrics::Metrics;
use crate::service::AlarmService;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::middleware::from_fn_with_state;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use std::sync::Arc;
use std::time::Duration;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// What handlers share.
#[derive(Clone)]
pub struct AppState {
    /// Readiness parts.
    pub health: Arc<Health>,
    /// The metrics registry.
    pub metrics: Arc<Metrics>,
    /// Alarm queries.
    pub store: Arc<dyn AlarmStore>,
    /// Event intake and acknowledgements.
    pub service: Arc<AlarmService>,
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

/// All routes: health, readiness and metrics stay open; `/v1` reads and writes require
/// their token when one is configured. Errors are `application/problem+json`.
pub fn router(state: AppState) -> Router {
    let reads = alarms::router()
        .merge(stats::router())
        .route_layer(from_fn_with_state(state.clone(), auth::require_read));
    let writes = events::router().route_layer(from_fn_with_state(state.clone(), auth::require_write));
    let limits = state.limits;
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .merge(reads)
        .merge(writes)
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(limits.body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            limits.timeout,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
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
        [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        state.metrics.encode(),
    )
}
