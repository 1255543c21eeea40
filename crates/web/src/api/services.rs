//! Monitored services as the pager sees them: `GET /v1/services` (paged by id) and
//! `GET /v1/services/{service_id}` for health and the open incident, and the web console's
//! actions, acknowledge and healthy.

use super::body::{json_bytes, parse};
use super::policies::ServicePath;
use crate::error::HttpError;
use crate::params::service_id;
use crate::params::services::services_query;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::Json;
use domain::pager::{Incident, PagerRecord};
use domain::ServiceId;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The read route of services.
pub fn read_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_services))
        .routes(routes!(get_service))
}

/// The write routes of services.
pub fn write_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(acknowledge_service))
        .routes(routes!(mark_service_healthy))
}

/// The open incident of a service.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[schema(as = Incident)]
struct IncidentView {
    /// The service's incident number, from 1.
    number: u64,
    /// The message of the alert that opened it.
    message: String,
    /// When the alert says the problem was raised.
    raised_at: String,
    /// When the pager opened the incident.
    opened_at: String,
    /// The level last notified (0: the service had no policy).
    level: u32,
    /// Whether someone acknowledged it.
    acknowledged: bool,
    /// Who acknowledged it, when they said.
    acknowledged_by: Option<String>,
    /// When it was acknowledged.
    acknowledged_at: Option<String>,
    /// When the next level is notified, unless someone acknowledges first.
    timeout_at: Option<String>,
    /// While a maintenance window holds it: when the window ends, and level 1 is paged
    /// then unless someone acknowledged or the service recovered meanwhile.
    held_until: Option<String>,
}

impl From<&Incident> for IncidentView {
    fn from(i: &Incident) -> Self {
        Self {
            number: i.number,
            message: i.message.clone(),
            raised_at: i.raised_at.to_rfc3339(),
            opened_at: i.opened_at.to_rfc3339(),
            level: i.level,
            acknowledged: i.acknowledged.is_some(),
            acknowledged_by: i.acknowledged.as_ref().and_then(|a| a.by.clone()),
            acknowledged_at: i.acknowledged.as_ref().map(|a| a.at.to_rfc3339()),
            timeout_at: i.timeout_at.map(|t| t.to_rfc3339()),
            held_until: i.held_until.map(|t| t.to_rfc3339()),
        }
    }
}

/// A monitored service: its health, its open incident, and what a pager action did.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[schema(as = Service)]
struct ServiceView {
    #[serde(rename = "ServiceID")]
    service_id: String,
    /// No open incident.
    healthy: bool,
    /// The open incident, while unhealthy.
    incident: Option<IncidentView>,
    /// Notifications decided and not yet recorded as sent.
    pending_notifications: usize,
    /// What the action did (`acknowledged`, `already_acknowledged`, `no_incident`,
    /// `recovered`); absent on reads.
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome: Option<&'static str>,
}

impl ServiceView {
    fn new(service: &ServiceId, record: &PagerRecord, outcome: Option<&'static str>) -> Self {
        Self {
            service_id: service.as_str().to_string(),
            healthy: record.state.is_healthy(),
            incident: record.state.incident().map(IncidentView::from),
            pending_notifications: record.outbox.len(),
            outcome,
        }
    }
}

/// The paging of `GET /v1/services`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ServicesParams {
    /// Start after this ServiceID (the previous page's `next_after`).
    after: Option<String>,
    /// Services per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<usize>,
}

/// A page of services, by ascending ServiceID.
#[derive(Serialize, ToSchema)]
#[schema(as = ServicePage)]
struct ServicePageView {
    items: Vec<ServiceView>,
    /// Pass as `after` for the next page; null on the last page.
    next_after: Option<String>,
}

/// The services the pager holds a state for (an alert, acknowledgement or recovery reached
/// them), by ascending ServiceID, one page at a time.
#[utoipa::path(get, path = "/v1/services", tag = "pager", params(ServicesParams),
    responses((status = 200, description = "A page of services", body = ServicePageView)))]
async fn list_services(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<ServicePageView>, HttpError> {
    let (after, limit) = services_query(query.as_deref())?;
    let page = state.pager.services(after.as_ref(), limit).await?;
    Ok(Json(ServicePageView {
        items: page
            .services
            .iter()
            .map(|(id, record)| ServiceView::new(id, record, None))
            .collect(),
        next_after: page.next_after.map(|id| id.as_str().to_string()),
    }))
}

/// The optional body of an acknowledgement.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PagerAcknowledge)]
struct AcknowledgeBody {
    /// Who acknowledges.
    #[serde(rename = "AcknowledgedBy")]
    acknowledged_by: Option<String>,
}

/// The service's health and open incident; 404 for a service the pager never heard of.
#[utoipa::path(get, path = "/v1/services/{service_id}", tag = "pager", params(ServicePath),
    responses((status = 200, description = "Health and open incident", body = ServiceView)))]
async fn get_service(
    State(state): State<AppState>,
    Path(service): Path<String>,
) -> Result<Json<ServiceView>, HttpError> {
    let service = service_id(&service)?;
    let record = state
        .pager
        .known_service(&service)
        .await?
        .ok_or_else(|| HttpError::NotFound(format!("no service {service}")))?;
    Ok(Json(ServiceView::new(&service, &record, None)))
}

/// Acknowledges the open incident: escalation stops. Without an incident nothing changes
/// (outcome `no_incident`), for a service never seen too, as on NATS. The body, when
/// given, may name who acknowledges.
#[utoipa::path(post, path = "/v1/services/{service_id}/acknowledge", tag = "pager", params(ServicePath),
    request_body(content = Option<AcknowledgeBody>, content_type = "application/json"),
    responses((status = 200, description = "The service after the acknowledgement", body = ServiceView)))]
async fn acknowledge_service(
    State(state): State<AppState>,
    Path(service): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ServiceView>, HttpError> {
    let service = service_id(&service)?;
    let body = body?;
    let by = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        let parsed: Option<AcknowledgeBody> = parse(&json_bytes(&headers, Ok(body))?, &[""])?;
        parsed.and_then(|p| p.acknowledged_by).filter(|b| !b.trim().is_empty())
    };
    let report = state.pager.acknowledge(&service, by.as_deref()).await?;
    let record = state.pager.record(&service).await?;
    Ok(Json(ServiceView::new(&service, &record, Some(report.outcome.as_str()))))
}

/// Marks the service healthy: its incident closes and nothing more is sent for it.
#[utoipa::path(post, path = "/v1/services/{service_id}/healthy", tag = "pager", params(ServicePath),
    responses((status = 200, description = "The service, healthy", body = ServiceView)))]
async fn mark_service_healthy(
    State(state): State<AppState>,
    Path(service): Path<String>,
) -> Result<Json<ServiceView>, HttpError> {
    let service = service_id(&service)?;
    let report = state.pager.healthy(&service).await?;
    let record = state.pager.record(&service).await?;
    Ok(Json(ServiceView::new(&service, &record, Some(report.outcome.as_str()))))
}
