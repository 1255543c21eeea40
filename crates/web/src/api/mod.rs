//! The HTTP API: health, readiness, metrics, the `/v1` routes and their OpenAPI document.

pub mod alarms;
pub mod alerts;
pub mod allma;
pub mod auth;
pub mod body;
pub mod dead_letters;
pub mod events;
pub mod maintenance;
pub mod openapi;
pub mod policies;
pub mod preview;
pub mod schedules;
pub mod services;
pub mod stats;

use crate::observer::EXPOSITION_CONTENT_TYPE;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::middleware::from_fn_with_state;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use std::sync::Arc;
use utoipa::{Modify as _, OpenApi as _};
use utoipa_axum::router::OpenApiRouter;

/// The `/v1` routes and the OpenAPI document generated from the same registrations, so the
/// document cannot list a route the server lacks or miss one it has.
pub fn api(state: &AppState) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let reads = alarms::router()
        .merge(stats::router())
        .merge(dead_letters::router())
        .merge(preview::router())
        .merge(services::read_router())
        .merge(policies::read_router())
        .merge(schedules::read_router())
        .merge(maintenance::read_router())
        .route_layer(from_fn_with_state(state.clone(), auth::require_read));
    let writes = events::router()
        .merge(allma::router())
        .merge(alerts::router())
        .merge(services::write_router())
        .merge(policies::write_router())
        .merge(schedules::write_router())
        .merge(maintenance::write_router())
        .route_layer(from_fn_with_state(state.clone(), auth::require_write));
    let (routes, mut document) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(reads)
        .merge(writes)
        .split_for_parts();
    openapi::Conventions.modify(&mut document);
    (routes, document)
}

/// The API's routes: health, readiness and metrics stay open; `/v1` reads and writes
/// require their token when one is configured.
pub fn router(state: &AppState) -> Router<AppState> {
    let (api, document) = api(state);
    let document = Arc::new(document);
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
