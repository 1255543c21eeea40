//! Maintenance windows of the pager: `POST` and `GET /v1/maintenance-windows`, and `GET`,
//! `PATCH` (end early or extend) and `DELETE /v1/maintenance-windows/{id}`. During a window
//! an alert opens or keeps its incident without notifying anyone; paging starts at its end.

use super::body::{json_bytes, parse};
use crate::error::HttpError;
use crate::params::{instant, service_id};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use domain::pager::{MaintenanceWindow, WindowError, WindowScope, WindowTiming};
use domain::recurrence::{Recurrence, RecurrenceError};
use domain::EventTime;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use usecases::pager::maintenance::WindowRefused;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The longest `created_by` and `comment` kept.
const MAX_TEXT_CHARS: usize = 1000;

/// The read routes of windows.
pub fn read_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_windows))
        .routes(routes!(get_window))
}

/// The write routes of windows.
pub fn write_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(open_window))
        .routes(routes!(change_window, delete_window))
}

impl From<WindowRefused> for HttpError {
    fn from(e: WindowRefused) -> Self {
        match e {
            WindowRefused::Invalid(e) => HttpError::Unprocessable(format!("{}: {e}", window_field(&e))),
            WindowRefused::Unknown(id) => HttpError::NotFound(format!("no maintenance window {id}")),
            WindowRefused::Pager(e) => e.into(),
        }
    }
}

/// The request field a window error is about.
fn window_field(e: &WindowError) -> &'static str {
    match e {
        WindowError::EndsBeforeStart | WindowError::TooLong => "end",
        WindowError::NoDuration => "recurrence.duration_seconds",
        WindowError::NoServices => "services",
    }
}

/// A path naming a window.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct WindowPath {
    /// The window's id, as its creation answered.
    id: String,
}

/// When a recurring window holds: for `duration_seconds` from each occurrence.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = WindowRecurrence)]
pub struct RecurrenceView {
    /// A cron expression of 5 or 6 fields, read in `time_zone`: when each span begins.
    #[schema(example = "0 2 * * 0")]
    cron: String,
    /// An IANA time zone, like `Europe/Paris`.
    time_zone: String,
    /// How long each span lasts, 1 to 604800 seconds (7 days).
    #[schema(minimum = 1, maximum = 604800)]
    duration_seconds: u64,
    /// No span begins after this instant (RFC 3339); absent: it recurs until deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<super::openapi::Timestamp>)]
    until: Option<String>,
}

/// A maintenance window as written: `start` and `end`, or a `recurrence`. There is no
/// open-ended window: a forgotten one would hide real alerts.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = MaintenanceWindowRequest)]
pub struct WindowRequest {
    /// The services it covers: a list of ServiceIDs, or `"all"`.
    #[schema(value_type = Object, example = json!(["billing", "search"]))]
    services: serde_json::Value,
    /// When a one-off window begins (RFC 3339); with `end`.
    #[serde(default)]
    #[schema(value_type = Option<super::openapi::Timestamp>)]
    start: Option<String>,
    /// When a one-off window ends (RFC 3339), at most 7 days after `start`.
    #[serde(default)]
    #[schema(value_type = Option<super::openapi::Timestamp>)]
    end: Option<String>,
    /// When a recurring window holds; instead of `start` and `end`.
    #[serde(default)]
    recurrence: Option<RecurrenceView>,
    /// Who made it, for the audit.
    created_by: String,
    /// Why.
    #[serde(default)]
    comment: String,
}

/// A window as kept, with when it holds as of now.
#[derive(Serialize, ToSchema)]
#[schema(as = MaintenanceWindow)]
pub struct WindowView {
    /// Its id.
    id: String,
    /// The services it covers, or `"all"`.
    #[schema(value_type = Object)]
    services: serde_json::Value,
    /// A one-off window's start.
    #[serde(skip_serializing_if = "Option::is_none")]
    start: Option<String>,
    /// A one-off window's end.
    #[serde(skip_serializing_if = "Option::is_none")]
    end: Option<String>,
    /// A recurring window's recurrence.
    #[serde(skip_serializing_if = "Option::is_none")]
    recurrence: Option<RecurrenceView>,
    /// Who made it.
    created_by: String,
    /// Why.
    comment: String,
    /// When it was made.
    created_at: String,
    /// `active` (holding now), `upcoming` or `past` (kept for the audit until retention
    /// removes it).
    state: &'static str,
    /// While active: when the current span ends and paging of held incidents starts.
    #[serde(skip_serializing_if = "Option::is_none")]
    holds_until: Option<String>,
    /// The next span to begin, if any: its start and end.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_span: Option<[String; 2]>,
}

impl WindowView {
    /// `window` as of `now`.
    pub fn of(window: &MaintenanceWindow, now: EventTime) -> Self {
        let services = match &window.scope {
            WindowScope::All => serde_json::Value::from("all"),
            WindowScope::Services(s) => s.iter().map(|s| s.as_str()).collect(),
        };
        let (start, end, recurrence) = match &window.timing {
            WindowTiming::Once { start, end } => (Some(start.to_rfc3339()), Some(end.to_rfc3339()), None),
            WindowTiming::Recurring {
                recurrence,
                duration,
                until,
            } => (
                None,
                None,
                Some(RecurrenceView {
                    cron: recurrence.expression().to_string(),
                    time_zone: recurrence.zone().to_string(),
                    duration_seconds: duration.as_secs(),
                    until: until.map(EventTime::to_rfc3339),
                }),
            ),
        };
        let holds_until = window.holds_until(now);
        let next_span = window.next_span_after(now);
        let state = match (holds_until, next_span) {
            (Some(_), _) => "active",
            (None, Some(_)) => "upcoming",
            (None, None) => "past",
        };
        Self {
            id: window.id.clone(),
            services,
            start,
            end,
            recurrence,
            created_by: window.created_by.clone(),
            comment: window.comment.clone(),
            created_at: window.created_at.to_rfc3339(),
            state,
            holds_until: holds_until.map(EventTime::to_rfc3339),
            next_span: next_span.map(|(s, e)| [s.to_rfc3339(), e.to_rfc3339()]),
        }
    }
}

/// The services of a request: `"all"` or a list of ServiceIDs.
fn scope(services: &serde_json::Value) -> Result<WindowScope, HttpError> {
    let invalid = || HttpError::Unprocessable("services: must be \"all\" or a list of ServiceIDs".into());
    match services {
        serde_json::Value::String(s) if s == "all" => Ok(WindowScope::All),
        serde_json::Value::Array(items) => {
            let mut ids = Vec::with_capacity(items.len());
            for item in items {
                let id = item.as_str().ok_or_else(invalid)?;
                let id = service_id(id)
                    .map_err(|_| HttpError::Unprocessable(format!("services: {id:?} is not a valid ServiceID")))?;
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            Ok(WindowScope::Services(ids))
        }
        _ => Err(invalid()),
    }
}

/// An instant of the body named `field`, a 422 when malformed.
fn body_instant(field: &str, value: &str) -> Result<EventTime, HttpError> {
    instant(field, value).map_err(|e| HttpError::Unprocessable(e.client_detail()))
}

/// The timing of a request.
fn timing(request: &WindowRequest) -> Result<WindowTiming, HttpError> {
    match (&request.start, &request.end, &request.recurrence) {
        (Some(start), Some(end), None) => Ok(WindowTiming::Once {
            start: body_instant("start", start)?,
            end: body_instant("end", end)?,
        }),
        (None, None, Some(r)) => {
            let recurrence = Recurrence::parse(&r.cron, &r.time_zone).map_err(|e| {
                let field = match e {
                    RecurrenceError::Zone(_) => "recurrence.time_zone",
                    RecurrenceError::Expression { .. } => "recurrence.cron",
                };
                HttpError::Unprocessable(format!("{field}: {e}"))
            })?;
            let until = r
                .until
                .as_deref()
                .map(|u| body_instant("recurrence.until", u))
                .transpose()?;
            Ok(WindowTiming::Recurring {
                recurrence,
                duration: Duration::from_secs(r.duration_seconds),
                until,
            })
        }
        (_, None, None) => Err(HttpError::Unprocessable(
            "end: a window needs start and end, or a recurrence; open-ended windows are refused".into(),
        )),
        (None, Some(_), None) => Err(HttpError::Unprocessable(
            "start: a one-off window needs its start".into(),
        )),
        _ => Err(HttpError::Unprocessable(
            "recurrence: give start and end, or a recurrence, not both".into(),
        )),
    }
}

/// A text of the body named `field`, at most [`MAX_TEXT_CHARS`].
fn text(field: &str, value: &str, required: bool) -> Result<String, HttpError> {
    let value = value.trim();
    if required && value.is_empty() {
        return Err(HttpError::Unprocessable(format!("{field}: must not be empty")));
    }
    if value.chars().count() > MAX_TEXT_CHARS {
        return Err(HttpError::Unprocessable(format!(
            "{field}: at most {MAX_TEXT_CHARS} characters"
        )));
    }
    Ok(value.to_string())
}

/// A new window's id: its creation instant and a counter of this process, so two made in
/// the same nanosecond by one replica differ.
fn new_id(now: EventTime) -> String {
    static MADE: AtomicU32 = AtomicU32::new(0);
    format!("mw-{:x}-{:x}", now.as_nanos(), MADE.fetch_add(1, Ordering::Relaxed))
}

/// Opens a window: 201 with its id; 422 naming the field when it has no end, ends before
/// it starts, lasts more than 7 days, covers no service or its recurrence is invalid.
/// Incidents of its services opened from its start are held.
#[utoipa::path(post, path = "/v1/maintenance-windows", tag = "pager",
    request_body(content = WindowRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Opened", body = WindowView),
        (status = 413, description = "The body exceeds the limit", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not application/json", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a valid window; the detail names the field", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
async fn open_window(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<WindowView>), HttpError> {
    let bytes = json_bytes(&headers, body)?;
    let request: WindowRequest = parse(&bytes, &[""])?;
    let now = state.pager.now();
    let window = MaintenanceWindow {
        id: new_id(now),
        scope: scope(&request.services)?,
        timing: timing(&request)?,
        created_by: text("created_by", &request.created_by, true)?,
        comment: text("comment", &request.comment, false)?,
        created_at: now,
    };
    state.pager.open_window(&window).await?;
    Ok((StatusCode::CREATED, Json(WindowView::of(&window, now))))
}

/// Every window kept: active and upcoming ones, and past ones until retention removes
/// them; by start.
#[utoipa::path(get, path = "/v1/maintenance-windows", tag = "pager",
    responses((status = 200, description = "The windows", body = Vec<WindowView>)))]
async fn list_windows(State(state): State<AppState>) -> Result<Json<Vec<WindowView>>, HttpError> {
    let now = state.pager.now();
    let windows = state.pager.windows().await?;
    Ok(Json(windows.iter().map(|w| WindowView::of(w, now)).collect()))
}

/// One window, or 404.
#[utoipa::path(get, path = "/v1/maintenance-windows/{id}", tag = "pager", params(WindowPath),
    responses((status = 200, description = "The window", body = WindowView)))]
async fn get_window(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<WindowView>, HttpError> {
    let window = state
        .pager
        .window(&id)
        .await?
        .ok_or_else(|| HttpError::NotFound(format!("no maintenance window {id}")))?;
    Ok(Json(WindowView::of(&window, state.pager.now())))
}

/// A change of a window's end.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = MaintenanceWindowChange)]
pub struct WindowChange {
    /// The new end (RFC 3339): earlier ends the window early, later extends it. For a
    /// recurring window, the last instant a span may begin (its `until`).
    #[schema(value_type = super::openapi::Timestamp)]
    end: String,
}

/// Ends a window early or extends it: 200 with the window; 404 when unknown; 422 when the
/// new end is before its start or more than 7 days after. Held incidents of its services
/// follow at once: released (paged at level 1) when nothing holds them any more.
#[utoipa::path(patch, path = "/v1/maintenance-windows/{id}", tag = "pager", params(WindowPath),
    request_body(content = WindowChange, content_type = "application/json"),
    responses(
        (status = 200, description = "Changed", body = WindowView),
        (status = 422, description = "Not a valid end", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
async fn change_window(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<WindowView>, HttpError> {
    let bytes = json_bytes(&headers, body)?;
    let change: WindowChange = parse(&bytes, &[""])?;
    let end = body_instant("end", &change.end)?;
    let window = state.pager.change_window_end(&id, end).await?;
    Ok(Json(WindowView::of(&window, state.pager.now())))
}

/// Deletes a window: 204, or 404. Incidents it held are released unless another window
/// holds them.
#[utoipa::path(delete, path = "/v1/maintenance-windows/{id}", tag = "pager", params(WindowPath),
    responses((status = 204, description = "Deleted")))]
async fn delete_window(State(state): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, HttpError> {
    if state.pager.delete_window(&id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(HttpError::NotFound(format!("no maintenance window {id}")))
    }
}
