//! Read routes over stored alarms: listings, one alarm, its history, and totals.

use super::error::ApiError;
use super::listing::{alarm_id, encode_cursor, listing, user_id};
use super::AppState;
use crate::domain::ports::AlarmRecord;
use crate::domain::query::{Counts, HistoryEntry, Page};
use crate::domain::{ApplyOutcome, EventTime};
use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

/// The read routes of alarms.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/alarms", get(list))
        .route("/v1/users/{user_id}/alarms", get(list_for_user))
        .route("/v1/users/{user_id}/alarms/{alarm_id}", get(one))
        .route("/v1/users/{user_id}/alarms/{alarm_id}/events", get(events))
        .route("/v1/counts", get(counts))
}

/// One alarm as the API shows it, in the PascalCase of the NATS wire.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AlarmView {
    #[serde(rename = "UserID")]
    user_id: String,
    #[serde(rename = "AlarmID")]
    alarm_id: String,
    status: Option<&'static str>,
    changed_at: Option<String>,
    active: bool,
    due: bool,
    name: Option<String>,
    service: Option<String>,
    user_name: Option<String>,
    last_delivered: Option<DeliveryView>,
    acknowledgements: Vec<String>,
}

/// The version a digest last delivered, and when.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DeliveryView {
    status: &'static str,
    changed_at: String,
    at: Option<String>,
}

fn millis(ms: i64) -> String {
    EventTime::from_nanos(ms.saturating_mul(1_000_000)).to_rfc3339()
}

impl From<AlarmRecord> for AlarmView {
    fn from(r: AlarmRecord) -> Self {
        let latest = r.state.latest();
        Self {
            user_id: r.user_id.as_str().to_string(),
            alarm_id: r.alarm_id.as_str().to_string(),
            status: latest.map(|v| v.status.as_str()),
            changed_at: latest.map(|v| v.changed_at.to_rfc3339()),
            active: r.state.is_active(),
            due: r.state.is_due(),
            name: r.metadata.name,
            service: r.metadata.service,
            user_name: r.metadata.user_name,
            last_delivered: r.state.delivered.map(|v| DeliveryView {
                status: v.status.as_str(),
                changed_at: v.changed_at.to_rfc3339(),
                at: r.delivered_ms.map(millis),
            }),
            acknowledgements: r.acknowledgements.iter().map(|t| t.to_rfc3339()).collect(),
        }
    }
}

/// A page of alarms and the cursor of the next page.
#[derive(Serialize)]
pub struct PageView {
    items: Vec<AlarmView>,
    next_cursor: Option<String>,
}

impl From<Page<AlarmRecord>> for PageView {
    fn from(page: Page<AlarmRecord>) -> Self {
        Self {
            next_cursor: page.next.as_ref().map(encode_cursor),
            items: page.items.into_iter().map(AlarmView::from).collect(),
        }
    }
}

/// `GET /v1/alarms`.
async fn list(State(state): State<AppState>, RawQuery(query): RawQuery) -> Result<Json<PageView>, ApiError> {
    let (filter, page) = listing(query.as_deref())?;
    Ok(Json(state.store.list_alarms(&filter, &page).await?.into()))
}

/// `GET /v1/users/{user_id}/alarms`: the listing with the user fixed by the path.
async fn list_for_user(
    State(state): State<AppState>,
    Path(user): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<PageView>, ApiError> {
    let (mut filter, page) = listing(query.as_deref())?;
    let user = user_id(&user)?;
    if filter.user_id.as_ref().is_some_and(|u| *u != user) {
        return Err(ApiError::BadRequest("user_id: differs from the path".into()));
    }
    filter.user_id = Some(user);
    Ok(Json(state.store.list_alarms(&filter, &page).await?.into()))
}

/// The record of the alarm a path names, or 404.
pub async fn record(state: &AppState, user: &str, alarm: &str) -> Result<AlarmRecord, ApiError> {
    let (user, alarm) = (user_id(user)?, alarm_id(alarm)?);
    state
        .store
        .alarm(&user, &alarm)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no alarm {alarm} of user {user}")))
}

/// `GET /v1/users/{user_id}/alarms/{alarm_id}`.
async fn one(
    State(state): State<AppState>,
    Path((user, alarm)): Path<(String, String)>,
) -> Result<Json<AlarmView>, ApiError> {
    Ok(Json(record(&state, &user, &alarm).await?.into()))
}

/// One retained status change.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct EventView {
    status: &'static str,
    changed_at: String,
    received_at: String,
    ignored: bool,
    outcome: &'static str,
}

impl From<&HistoryEntry> for EventView {
    fn from(e: &HistoryEntry) -> Self {
        Self {
            status: e.version.status.as_str(),
            changed_at: e.version.changed_at.to_rfc3339(),
            received_at: millis(e.received_ms),
            ignored: e.outcome != ApplyOutcome::Applied,
            outcome: e.outcome.as_str(),
        }
    }
}

/// `GET /v1/users/{user_id}/alarms/{alarm_id}/events`: the retained history.
async fn events(
    State(state): State<AppState>,
    Path((user, alarm)): Path<(String, String)>,
) -> Result<Json<Vec<EventView>>, ApiError> {
    let r = record(&state, &user, &alarm).await?;
    let history = state.store.history(&r.user_id, &r.alarm_id).await?;
    Ok(Json(history.iter().map(EventView::from).collect()))
}

/// Totals over the store.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct CountsView {
    active_alarms: u64,
    alarms: u64,
    events_received: u64,
}

/// `GET /v1/counts`.
async fn counts(State(state): State<AppState>) -> Result<Json<CountsView>, ApiError> {
    let Counts {
        active,
        alarms,
        events_received,
    } = state.store.counts().await?;
    Ok(Json(CountsView {
        active_alarms: active,
        alarms,
        events_received,
    }))
}
