//! `POST /v1/intake/allma`: alerts of the external alert emitter, translated into status
//! changes (and acknowledgements) at the edge.

use super::body::{json_bytes, parse};
use super::openapi::{Identifier, Timestamp};
use crate::error::HttpError;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use domain::query::AckOutcome;
use domain::{AlarmEvent, EventTime};
use serde::{Deserialize, Serialize};
use serde_json::json;
use usecases::alarms::EventOutcome;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use wire::parse_status_changed;

/// The intake route.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(intake))
}

/// The emitter's event: the alert and why it was sent. Either type inserts an alert not
/// seen before, so a missed `ALERT_CREATED` loses nothing.
#[derive(Deserialize, ToSchema)]
#[schema(as = AllmaEvent)]
#[allow(dead_code)]
struct Envelope {
    /// Why the emitter sent the alert; not needed to apply it.
    #[serde(rename = "type")]
    kind: Option<EventType>,
    alert: Alert,
}

/// The emitter's event types.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[schema(as = AllmaEventType)]
enum EventType {
    AlertCreated,
    AlertChanged,
}

/// The fields of an alert this service uses; anything else in the payload is ignored.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AllmaAlert)]
struct Alert {
    /// Becomes the AlarmID.
    #[schema(value_type = Identifier)]
    alert_id: String,
    /// Becomes the alarm's Name.
    #[schema(max_length = 1024)]
    name: Option<String>,
    status: AlertStatus,
    /// When the alert was triggered (ISO 8601); the alarm is WARNING from then.
    #[schema(value_type = Timestamp)]
    triggered_on: String,
    /// The first acknowledgement (ISO 8601), when there was one.
    #[schema(value_type = Option<Timestamp>)]
    acknowledged_on: Option<String>,
    /// When the alert was resolved (ISO 8601); the alarm is CLEARED from then. Required
    /// when the status is RESOLVED.
    #[schema(value_type = Option<Timestamp>)]
    resolved_on: Option<String>,
    responder: Responder,
    service: Option<Service>,
}

/// An alert's status.
#[derive(Deserialize, ToSchema, PartialEq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[schema(as = AllmaAlertStatus)]
enum AlertStatus {
    Triggered,
    Acknowledged,
    Resolved,
}

/// The person responsible for the alert.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AllmaResponder)]
struct Responder {
    /// Becomes the UserID.
    #[schema(value_type = Identifier)]
    user_id: String,
    /// Becomes the alarm's UserName.
    #[schema(max_length = 1024)]
    name: Option<String>,
}

/// The monitored service.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AllmaService)]
struct Service {
    /// Becomes the alarm's Service: it tells apart services that share a name.
    #[schema(max_length = 1024)]
    service_id: Option<String>,
    /// Becomes the alarm's Service when the service has no (or an empty) serviceId, and
    /// its ServiceName when it has one: the `service` filter finds the alarm by either.
    #[schema(max_length = 1024)]
    name: Option<String>,
}

impl Service {
    /// What the alarm's Service holds: the service's id, else its name. Two services of one
    /// name are two services, so the id wins; the name stands in only when there is no id.
    fn key(&self) -> Option<&str> {
        self.service_id
            .as_deref()
            .filter(|id| !id.is_empty())
            .or(self.name.as_deref())
    }

    /// The service's name when its id is the alarm's Service: kept as the alarm's
    /// ServiceName, so filtering by the name still finds the alarm.
    fn name_beside_id(&self) -> Option<&str> {
        self.service_id.as_deref().filter(|id| !id.is_empty())?;
        self.name.as_deref()
    }
}

/// What the intake did.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[schema(as = AllmaIntake)]
struct IntakeView {
    #[serde(rename = "UserID")]
    user_id: String,
    #[serde(rename = "AlarmID")]
    alarm_id: String,
    /// One outcome per status change derived from the alert.
    #[schema(value_type = Vec<String>)]
    outcomes: Vec<&'static str>,
    /// Whether an acknowledgement was newly recorded.
    acknowledged: bool,
}

fn invalid(reason: impl Into<String>) -> HttpError {
    HttpError::Unprocessable(reason.into())
}

/// The status changes an alert stands for: WARNING at `triggeredOn`, and CLEARED at
/// `resolvedOn` once resolved.
fn events(alert: &Alert) -> Result<Vec<AlarmEvent>, HttpError> {
    let mut changes = vec![("WARNING", alert.triggered_on.as_str(), "triggeredOn")];
    match (&alert.status, alert.resolved_on.as_deref()) {
        (_, Some(resolved_on)) => changes.push(("CLEARED", resolved_on, "resolvedOn")),
        (AlertStatus::Resolved, None) => return Err(invalid("resolvedOn is required for a RESOLVED alert")),
        _ => {}
    }
    let service_name = alert
        .service
        .as_ref()
        .and_then(Service::name_beside_id)
        .map(|name| wire::optional("service.name", Some(name.into())))
        .transpose()
        .map_err(|e| invalid(e.to_string()))?
        .flatten();
    changes
        .into_iter()
        .map(|(status, changed_at, field)| {
            let wire = json!({
                "UserID": alert.responder.user_id,
                "AlarmID": alert.alert_id,
                "Status": status,
                "ChangedAt": changed_at,
                "Name": alert.name,
                "Service": alert.service.as_ref().and_then(Service::key),
                "UserName": alert.responder.name,
            });
            let raw = serde_json::to_vec(&wire).map_err(anyhow::Error::from)?;
            let mut event = parse_status_changed(&raw, usize::MAX).map_err(|e| invalid(format!("{field}: {e}")))?;
            event.metadata.service_name = service_name.clone();
            Ok(event)
        })
        .collect()
}

/// Takes one event of the Allma alert emitter: applies the alert's status changes (WARNING
/// at `triggeredOn`, CLEARED at `resolvedOn` once resolved), then records `acknowledgedOn`
/// if present.
#[utoipa::path(post, path = "/v1/intake/allma", tag = "intake",
    request_body(content = Envelope, content_type = "application/json"),
    responses((status = 202, description = "The status changes were applied", body = IntakeView)))]
async fn intake(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<IntakeView>), HttpError> {
    let body = json_bytes(&headers, body)?;
    let objects = ["", "/alert", "/alert/responder", "/alert/service"];
    let alert = parse::<Envelope>(&body, &objects)?.alert;
    let events = events(&alert)?;
    let acked_at = alert
        .acknowledged_on
        .as_deref()
        .map(|t| EventTime::parse_rfc3339(t).map_err(|e| invalid(format!("acknowledgedOn: {e}"))))
        .transpose()?;
    let first = &events[0];
    let applied = state.updates.apply(&events).await?;
    // An alert stamped too far ahead of this service's clock is refused whole.
    let outcomes = applied
        .outcomes
        .into_iter()
        .map(|o| match o {
            EventOutcome::Stored(outcome) => Ok(outcome),
            EventOutcome::Refused(reason) => Err(HttpError::Unprocessable(reason)),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let acknowledged = match acked_at {
        Some(at) => state.updates.acknowledge(&first.user_id, &first.alarm_id, at).await? == AckOutcome::Recorded,
        None => false,
    };
    Ok((
        StatusCode::ACCEPTED,
        Json(IntakeView {
            user_id: first.user_id.as_str().to_string(),
            alarm_id: first.alarm_id.as_str().to_string(),
            outcomes: outcomes.iter().map(|o| o.as_str()).collect(),
            acknowledged,
        }),
    ))
}
