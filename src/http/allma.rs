//! `POST /v1/intake/allma`: alerts of the external alert emitter, translated into status
//! changes (and acknowledgements) at the edge.

use super::error::ApiError;
use super::AppState;
use crate::bus::wire::parse_status_changed;
use crate::domain::query::AckOutcome;
use crate::domain::{AlarmEvent, EventTime};
use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The intake route.
pub fn router() -> Router<AppState> {
    Router::new().route("/v1/intake/allma", post(intake))
}

/// The fields of an alert this service uses; anything else in the payload is ignored.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Alert {
    alert_id: Option<String>,
    name: Option<String>,
    status: Option<String>,
    triggered_on: Option<String>,
    acknowledged_on: Option<String>,
    resolved_on: Option<String>,
    responder: Option<Named>,
    service: Option<Named>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Named {
    user_id: Option<String>,
    name: Option<String>,
}

/// The payload: the alert itself, or an envelope `{"eventType": ..., "alert": {...}}`.
/// The event type is not needed: an alert not seen before is inserted whatever the type
/// (an `ALERT_CHANGED` for an unknown alert included), so a missed creation loses nothing.
#[derive(Deserialize)]
#[serde(untagged)]
enum Payload {
    Envelope { alert: Alert },
    Bare(Alert),
}

/// What the intake did.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct IntakeView {
    #[serde(rename = "UserID")]
    user_id: String,
    #[serde(rename = "AlarmID")]
    alarm_id: String,
    /// One outcome per status change derived from the alert.
    outcomes: Vec<&'static str>,
    /// Whether an acknowledgement was newly recorded.
    acknowledged: bool,
}

fn invalid(reason: impl Into<String>) -> ApiError {
    ApiError::Unprocessable(reason.into())
}

/// The status changes an alert stands for: WARNING at `triggeredOn` while triggered or
/// acknowledged, and CLEARED at `resolvedOn` once resolved.
fn events(alert: &Alert) -> Result<Vec<AlarmEvent>, ApiError> {
    let alarm_id = alert
        .alert_id
        .as_deref()
        .ok_or_else(|| invalid("alertId is required"))?;
    let responder = alert.responder.as_ref();
    let user_id = responder
        .and_then(|r| r.user_id.as_deref())
        .ok_or_else(|| invalid("responder.userId is required"))?;
    let status = alert.status.as_deref().unwrap_or("");
    let resolved = status == "RESOLVED" || alert.resolved_on.is_some();
    let mut changes: Vec<(&str, &str, &str)> = Vec::new();
    match status {
        "TRIGGERED" | "ACKNOWLEDGED" | "RESOLVED" | "" => {}
        other => return Err(invalid(format!("status: unknown alert status {other}"))),
    }
    if let Some(t) = alert.triggered_on.as_deref() {
        changes.push(("WARNING", t, "triggeredOn"));
    } else if !resolved {
        return Err(invalid("triggeredOn is required while the alert is not resolved"));
    }
    if resolved {
        let t = alert
            .resolved_on
            .as_deref()
            .ok_or_else(|| invalid("resolvedOn is required for a RESOLVED alert"))?;
        changes.push(("CLEARED", t, "resolvedOn"));
    }
    changes
        .into_iter()
        .map(|(status, changed_at, field)| {
            let wire = json!({
                "UserID": user_id,
                "AlarmID": alarm_id,
                "Status": status,
                "ChangedAt": changed_at,
                "Name": alert.name,
                "Service": alert.service.as_ref().and_then(|s| s.name.as_deref()),
                "UserName": responder.and_then(|r| r.name.as_deref()),
            });
            let raw = serde_json::to_vec(&wire).map_err(anyhow::Error::from)?;
            parse_status_changed(&raw, usize::MAX).map_err(|e| invalid(format!("{field}: {e}")))
        })
        .collect()
}

/// Applies the alert's status changes, then records `acknowledgedOn` if present.
async fn intake(
    State(state): State<AppState>,
    body: Result<Json<Payload>, JsonRejection>,
) -> Result<(StatusCode, Json<IntakeView>), ApiError> {
    let alert = match body? {
        Json(Payload::Envelope { alert } | Payload::Bare(alert)) => alert,
    };
    let events = events(&alert)?;
    let acked_at = alert
        .acknowledged_on
        .as_deref()
        .map(|t| EventTime::parse_rfc3339(t).map_err(|e| invalid(format!("acknowledgedOn: {e}"))))
        .transpose()?;
    let first = events
        .first()
        .ok_or_else(|| invalid("the alert carries no status change"))?;
    let outcomes = state.service.apply(&events).await?;
    let acknowledged = match acked_at {
        Some(at) => state.store.acknowledge(&first.user_id, &first.alarm_id, at).await? == AckOutcome::Recorded,
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
