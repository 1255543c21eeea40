//! Each user's digest schedule: `PUT`, `GET` and `DELETE /v1/users/{user_id}/digest-schedule`,
//! and `GET …/digest-schedule/next`, the occurrences to come in UTC and in local time.

use super::body::{json_bytes, parse};
use super::openapi::{Timestamp, UserPath};
use crate::error::HttpError;
use crate::params::{instant, pairs, user_id};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use domain::recurrence::{Occurrence, Recurrence, RecurrenceError};
use domain::schedule::{DigestSchedule, ScheduleRecord};
use domain::{EventTime, UserId};
use serde::{Deserialize, Serialize};
use usecases::schedules::ScheduleError;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// How many occurrences `next` lists when `count` is absent, and at most.
const DEFAULT_COUNT: usize = 5;
const MAX_COUNT: usize = 100;

/// The read routes of schedules.
pub fn read_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_schedule))
        .routes(routes!(next_occurrences))
}

/// The write routes of schedules.
pub fn write_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(put_schedule, delete_schedule))
}

impl From<ScheduleError> for HttpError {
    fn from(e: ScheduleError) -> Self {
        match e {
            ScheduleError::Store(e) => e.into(),
        }
    }
}

/// A digest schedule as written.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = DigestScheduleRequest)]
pub struct ScheduleRequest {
    /// An IANA time zone, like `Europe/Paris`; the cron expression is read in it.
    #[schema(example = "Europe/Paris")]
    time_zone: String,
    /// A cron expression of 5 fields (minute hour day-of-month month day-of-week) or 6
    /// (seconds first), in the zone's local time.
    #[schema(example = "0 9 * * 1-5")]
    cron: String,
    /// Whether an occurrence with nothing due still sends an empty digest.
    #[serde(default)]
    send_empty: bool,
}

/// A digest schedule as kept, with the occurrence its timer waits for.
#[derive(Serialize, ToSchema)]
#[schema(as = DigestSchedule)]
pub struct ScheduleView {
    /// Whose digest.
    user_id: String,
    /// The IANA time zone.
    time_zone: String,
    /// The cron expression, as written.
    cron: String,
    /// Whether an occurrence with nothing due still sends an empty digest.
    send_empty: bool,
    /// The next occurrence; absent when the expression has no more.
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<OccurrenceView>,
}

/// One occurrence, in UTC and in the schedule's local time.
#[derive(Serialize, ToSchema)]
#[schema(as = Occurrence)]
pub struct OccurrenceView {
    /// The instant, in UTC (RFC 3339).
    #[schema(example = "2026-03-30T07:00:00Z")]
    at: String,
    /// The same instant in local time, with the zone's offset then (RFC 3339).
    #[schema(example = "2026-03-30T09:00:00+02:00")]
    local: String,
    /// The zone's offset from UTC at that instant, like `+02:00`.
    offset: String,
    /// The local time the expression named, when it differs from `local`: the clock
    /// jumped over it (spring forward) and the occurrence is the first instant after.
    #[serde(skip_serializing_if = "Option::is_none")]
    scheduled: Option<String>,
}

impl From<&Occurrence> for OccurrenceView {
    fn from(o: &Occurrence) -> Self {
        let local = o.local;
        Self {
            at: o.at.to_rfc3339(),
            local: local.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false),
            offset: local.format("%:z").to_string(),
            scheduled: (local.naive_local() != o.scheduled)
                .then(|| o.scheduled.format("%Y-%m-%dT%H:%M:%S").to_string()),
        }
    }
}

impl ScheduleView {
    fn of(schedule: &DigestSchedule, next: Option<Occurrence>) -> Self {
        Self {
            user_id: schedule.user_id.as_str().to_string(),
            time_zone: schedule.recurrence.zone().to_string(),
            cron: schedule.recurrence.expression().to_string(),
            send_empty: schedule.send_empty,
            next: next.as_ref().map(OccurrenceView::from),
        }
    }

    fn of_record(record: &ScheduleRecord) -> Self {
        // The timer's instant, shown with its local time: the first occurrence at or
        // after it is the timer's own.
        let next = record.next_due.and_then(|due| {
            let recurrence = &record.schedule.recurrence;
            recurrence.next_after(EventTime::from_nanos(due.as_nanos() - 1))
        });
        Self::of(&record.schedule, next)
    }
}

/// The field a recurrence error is about, as the request names it.
fn refused(e: RecurrenceError) -> HttpError {
    let field = match e {
        RecurrenceError::Zone(_) => "time_zone",
        RecurrenceError::Expression { .. } => "cron",
    };
    HttpError::Unprocessable(format!("{field}: {e}"))
}

/// The user's schedule, or 404.
async fn record_of(state: &AppState, user: &UserId) -> Result<ScheduleRecord, HttpError> {
    state
        .schedules
        .get(user)
        .await?
        .ok_or_else(|| HttpError::NotFound(format!("no digest schedule for user {user}")))
}

/// Creates or replaces the user's digest schedule: 201 created, 200 replaced, 422 naming
/// the field (`time_zone` or `cron`) when the zone is unknown or the expression invalid.
/// It takes effect from its next occurrence.
#[utoipa::path(put, path = "/v1/users/{user_id}/digest-schedule", tag = "schedules", params(UserPath),
    request_body(content = ScheduleRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = ScheduleView),
        (status = 200, description = "Replaced", body = ScheduleView),
        (status = 413, description = "The body exceeds the limit", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not application/json", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a valid schedule; the detail names the field", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
async fn put_schedule(
    State(state): State<AppState>,
    Path(user): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<ScheduleView>), HttpError> {
    let user = user_id(&user)?;
    let bytes = json_bytes(&headers, body)?;
    let request: ScheduleRequest = parse(&bytes, &[""])?;
    let recurrence = Recurrence::parse(&request.cron, &request.time_zone).map_err(refused)?;
    let schedule = DigestSchedule {
        user_id: user,
        recurrence,
        send_empty: request.send_empty,
    };
    let created = state.schedules.put(&schedule).await?;
    let record = record_of(&state, &schedule.user_id).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(ScheduleView::of_record(&record))))
}

/// The user's digest schedule and its next occurrence, or 404.
#[utoipa::path(get, path = "/v1/users/{user_id}/digest-schedule", tag = "schedules", params(UserPath),
    responses((status = 200, description = "The schedule", body = ScheduleView)))]
async fn get_schedule(
    State(state): State<AppState>,
    Path(user): Path<String>,
) -> Result<Json<ScheduleView>, HttpError> {
    let user = user_id(&user)?;
    Ok(Json(ScheduleView::of_record(&record_of(&state, &user).await?)))
}

/// Deletes the user's digest schedule: 204, or 404 when there was none. A
/// `SendAlarmDigest` still sends their digest.
#[utoipa::path(delete, path = "/v1/users/{user_id}/digest-schedule", tag = "schedules", params(UserPath),
    responses((status = 204, description = "Deleted")))]
async fn delete_schedule(State(state): State<AppState>, Path(user): Path<String>) -> Result<StatusCode, HttpError> {
    let user = user_id(&user)?;
    if state.schedules.delete(&user).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(HttpError::NotFound(format!("no digest schedule for user {user}")))
    }
}

/// The query of `next`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct NextQuery {
    /// How many occurrences, 1 to 100 (default 5).
    #[param(minimum = 1, maximum = 100)]
    count: Option<u32>,
    /// Occurrences strictly after this instant (RFC 3339; default now).
    #[param(value_type = Option<Timestamp>)]
    after: Option<String>,
}

/// The occurrences to come.
#[derive(Serialize, ToSchema)]
#[schema(as = Occurrences)]
pub struct OccurrencesView {
    /// The IANA time zone they are shown in.
    time_zone: String,
    /// Earliest first.
    occurrences: Vec<OccurrenceView>,
}

/// The next occurrences of the user's schedule, each in UTC and in local time with its
/// offset, so a person can check a schedule (and its daylight-saving days) before
/// trusting it; 404 when the user has no schedule.
#[utoipa::path(get, path = "/v1/users/{user_id}/digest-schedule/next", tag = "schedules", params(UserPath, NextQuery),
    responses(
        (status = 200, description = "The next occurrences", body = OccurrencesView),
        (status = 400, description = "A malformed count or instant", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
async fn next_occurrences(
    State(state): State<AppState>,
    Path(user): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<OccurrencesView>, HttpError> {
    let user = user_id(&user)?;
    let (mut count, mut after) = (DEFAULT_COUNT, None);
    for (name, value) in pairs(query.as_deref())? {
        match name.as_str() {
            "count" => {
                count = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_COUNT).contains(n))
                    .ok_or_else(|| {
                        HttpError::BadRequest(format!("count: {value:?} is not a number from 1 to {MAX_COUNT}"))
                    })?;
            }
            "after" => after = Some(instant("after", &value)?),
            other => return Err(HttpError::BadRequest(format!("unknown query parameter {other:?}"))),
        }
    }
    let record = record_of(&state, &user).await?;
    let recurrence = &record.schedule.recurrence;
    let occurrences = state.schedules.next_occurrences(recurrence, after, count);
    Ok(Json(OccurrencesView {
        time_zone: recurrence.zone().to_string(),
        occurrences: occurrences.iter().map(OccurrenceView::from).collect(),
    }))
}
