//! Write routes: status changes over HTTP (same rules as NATS intake) and acknowledgements.

use super::body::{json_bytes, one_or_many, parse};
use super::openapi::{AlarmPath, StatusChange, Timestamp};
use crate::error::HttpError;
use crate::params::instant;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use domain::query::AckOutcome;
use domain::{AlarmEvent, ApplyOutcome, EventTime};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use usecases::alarms::EventOutcome;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use wire::{parse_status_changed, WireError};

/// The write routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(submit))
        .routes(routes!(acknowledge))
}

/// What happened to one submitted item.
#[derive(Serialize, ToSchema)]
#[schema(as = SubmittedItem)]
pub(super) struct ItemResult {
    /// Position in the submitted array (0 for a single object).
    pub(super) index: usize,
    /// `applied`, `stale`, `duplicate` or `rejected`.
    #[schema(value_type = String)]
    outcome: &'static str,
    /// Why the item was rejected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) reason: Option<String>,
}

/// The answer to a submission: counts by outcome, and each item's.
#[derive(Serialize, Default, ToSchema)]
pub(super) struct Submitted {
    applied: usize,
    stale: usize,
    duplicate: usize,
    rejected: usize,
    pub(super) items: Vec<ItemResult>,
}

/// Applies one `AlarmStatusChanged` object or an array of them, with exactly the rules of
/// NATS intake. Each item is parsed from its own JSON as a NATS message would be; valid ones
/// are applied together. A single invalid object is a 422; invalid items of an array are
/// reported per item.
#[utoipa::path(post, path = "/v1/events", tag = "intake",
    request_body(content = StatusChanges, content_type = "application/json"),
    responses((status = 202, description = "Applied, stale, duplicate and rejected counts, per item", body = Submitted)))]
async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Submitted>), HttpError> {
    let body = json_bytes(&headers, body)?;
    let (items, single) = one_or_many(&body)?;
    let parsed: Vec<Result<AlarmEvent, WireError>> = items
        .iter()
        .map(|item| parse_status_changed(item.get().as_bytes(), usize::MAX))
        .collect();
    if single {
        match parsed.first() {
            Some(Err(e @ WireError::NotJson(_))) => return Err(HttpError::BadRequest(e.to_string())),
            Some(Err(e)) => return Err(HttpError::Unprocessable(e.to_string())),
            _ => {}
        }
    }
    let parsed = parsed.into_iter().map(|p| p.map_err(|e| e.to_string())).collect();
    let answer = apply_each(&state, parsed, single).await?;
    Ok((StatusCode::ACCEPTED, Json(answer)))
}

/// Applies the valid items of `parsed` together (one store call, so the rules of NATS
/// intake hold) and reports each item in order: its outcome, or why it was rejected. With
/// `single`, a refused item is the whole request's 422. A store that cannot commit fails
/// the whole request (503), so a sender that retries on 5xx loses nothing.
pub(super) async fn apply_each(
    state: &AppState,
    parsed: Vec<Result<AlarmEvent, String>>,
    single: bool,
) -> Result<Submitted, HttpError> {
    let valid: Vec<AlarmEvent> = parsed.iter().filter_map(|p| p.as_ref().ok().cloned()).collect();
    let mut outcomes = if valid.is_empty() {
        Vec::new()
    } else {
        state.updates.apply(&valid).await?.outcomes
    }
    .into_iter();
    let mut answer = Submitted::default();
    for (index, item) in parsed.into_iter().enumerate() {
        let (outcome, reason) = match item {
            Err(reason) => {
                answer.rejected += 1;
                ("rejected", Some(reason))
            }
            Ok(_) => {
                let outcome = outcomes
                    .next()
                    .ok_or_else(|| anyhow::anyhow!("store returned fewer outcomes than events"))?;
                match outcome {
                    EventOutcome::Stored(outcome) => {
                        match outcome {
                            ApplyOutcome::Applied => answer.applied += 1,
                            ApplyOutcome::Stale => answer.stale += 1,
                            ApplyOutcome::Duplicate => answer.duplicate += 1,
                        }
                        (outcome.as_str(), None)
                    }
                    EventOutcome::Refused(reason) if single => return Err(HttpError::Unprocessable(reason)),
                    EventOutcome::Refused(reason) => {
                        answer.rejected += 1;
                        ("rejected", Some(reason))
                    }
                }
            }
        };
        answer.items.push(ItemResult { index, outcome, reason });
    }
    Ok(answer)
}

/// One status change, or an array of them. An invalid single object is refused; invalid
/// items of an array are rejected one by one in the answer, so the array's items may be
/// anything.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
#[serde(untagged)]
enum StatusChanges {
    One(StatusChange),
    Many(Vec<Value>),
}

/// The optional body of an acknowledgement.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Acknowledgement)]
struct AckBody {
    /// When the alarm was acknowledged (RFC 3339); now when absent.
    #[serde(rename = "AckedAt")]
    #[schema(value_type = Option<Timestamp>)]
    acked_at: Option<String>,
}

/// An acknowledgement as answered.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[schema(as = AcknowledgementRecorded)]
struct AckView {
    #[serde(rename = "UserID")]
    user_id: String,
    #[serde(rename = "AlarmID")]
    alarm_id: String,
    acked_at: String,
    recorded: bool,
}

/// Records an acknowledgement of the alarm: 201 when recorded, 200 when the same time was
/// already recorded, 404 for an unknown alarm. Without a body, the time is now.
#[utoipa::path(post, path = "/v1/users/{user_id}/alarms/{alarm_id}/ack", tag = "intake", params(AlarmPath),
    request_body(content = Option<AckBody>, content_type = "application/json"),
    responses(
        (status = 201, description = "Recorded", body = AckView),
        (status = 200, description = "This time was already recorded", body = AckView),
    ))]
async fn acknowledge(
    State(state): State<AppState>,
    Path((user, alarm)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<AckView>), HttpError> {
    let at = match body? {
        empty if empty.iter().all(u8::is_ascii_whitespace) => now(),
        body => {
            let body = json_bytes(&headers, Ok(body))?;
            match parse::<Option<AckBody>>(&body, &[""])?.and_then(|b| b.acked_at) {
                Some(t) => instant("AckedAt", &t).map_err(|e| HttpError::Unprocessable(e.to_string()))?,
                None => now(),
            }
        }
    };
    let r = state.alarm_record(&user, &alarm).await?;
    let status = match state.updates.acknowledge(&r.user_id, &r.alarm_id, at).await? {
        AckOutcome::Recorded => StatusCode::CREATED,
        AckOutcome::AlreadyRecorded => StatusCode::OK,
        AckOutcome::UnknownAlarm => return Err(HttpError::NotFound(format!("no alarm {alarm} of user {user}"))),
    };
    Ok((
        status,
        Json(AckView {
            user_id: r.user_id.as_str().to_string(),
            alarm_id: r.alarm_id.as_str().to_string(),
            acked_at: at.to_rfc3339(),
            recorded: status == StatusCode::CREATED,
        }),
    ))
}

fn now() -> EventTime {
    use domain::ports::{Clock, SystemClock};
    SystemClock.now()
}
