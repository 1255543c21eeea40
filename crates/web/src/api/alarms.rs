//! Read routes over stored alarms: listings, one alarm, its history, and totals.

use super::openapi::{AlarmPath, LifecycleName, ListingParams, StatusName, UserFilter, UserPath};
use crate::error::HttpError;
use crate::params::listing::{encode_cursor, listing};
use crate::params::user_id;
use crate::state::AppState;
use axum::extract::{Path, RawQuery, State};
use axum::Json;
use domain::episodes::Lifecycle;
use domain::ports::AlarmRecord;
use domain::query::{Counts, HistoryEntry, Page};
use domain::{ApplyOutcome, EventTime};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The read routes of alarms, each documented by its handler's annotation.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(list_for_user))
        .routes(routes!(one))
        .routes(routes!(events))
        .routes(routes!(counts))
}

/// One alarm as the API shows it, in the PascalCase of the NATS wire.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[schema(as = Alarm)]
pub struct AlarmView {
    #[serde(rename = "UserID")]
    user_id: String,
    #[serde(rename = "AlarmID")]
    alarm_id: String,
    /// The latest status.
    #[schema(value_type = Option<StatusName>)]
    status: Option<&'static str>,
    /// When the latest status changed (RFC 3339, nanoseconds).
    changed_at: Option<String>,
    /// The latest status is WARNING or CRITICAL.
    active: bool,
    /// The next digest for the user would include this alarm.
    due: bool,
    /// Where the alarm stands in its current episode: `triggered` (active, not acknowledged
    /// since its latest CLEARED), `acknowledged` (active, acknowledged since) or `resolved`
    /// (CLEARED).
    #[schema(value_type = Option<LifecycleName>)]
    lifecycle: Option<&'static str>,
    name: Option<String>,
    /// The monitored service: the events' `Service`; for Allma alerts the `serviceId` (the
    /// service name only when the alert has no id); for Alertmanager and Grafana alerts
    /// the service label.
    service: Option<String>,
    /// The service's display name, when `Service` is its id (an Allma alert's
    /// `service.name`); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    service_name: Option<String>,
    user_name: Option<String>,
    /// One line on what is wrong: an Alertmanager or Grafana alert's `summary` annotation.
    summary: Option<String>,
    /// What a digest last delivered, if any.
    last_delivered: Option<DeliveryView>,
    /// Acknowledgement times, oldest first.
    acknowledgements: Vec<String>,
}

/// The version a digest last delivered, and when.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[schema(as = Delivery)]
struct DeliveryView {
    #[schema(value_type = StatusName)]
    status: &'static str,
    changed_at: String,
    /// When the digest was recorded as sent.
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
            lifecycle: Lifecycle::of(&r.state.seen, &r.acknowledgements).map(Lifecycle::as_str),
            name: r.metadata.name,
            service: r.metadata.service,
            service_name: r.metadata.service_name,
            user_name: r.metadata.user_name,
            summary: r.metadata.summary,
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
#[derive(Serialize, ToSchema)]
#[schema(as = AlarmPage)]
pub struct PageView {
    items: Vec<AlarmView>,
    /// Pass as `cursor` for the next page; null on the last page.
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

/// All alarms, filtered, sorted by ChangedAt then AlarmID, one page at a time.
#[utoipa::path(get, path = "/v1/alarms", tag = "alarms", params(UserFilter, ListingParams),
    responses((status = 200, description = "A page of alarms", body = PageView)))]
async fn list(State(state): State<AppState>, RawQuery(query): RawQuery) -> Result<Json<PageView>, HttpError> {
    let (filter, page) = listing(query.as_deref())?;
    Ok(Json(state.queries.alarms(&filter, &page).await?.into()))
}

/// One user's alarms: the listing with the user fixed by the path.
#[utoipa::path(get, path = "/v1/users/{user_id}/alarms", tag = "alarms", params(UserPath, ListingParams),
    responses((status = 200, description = "A page of the user's alarms", body = PageView)))]
async fn list_for_user(
    State(state): State<AppState>,
    Path(user): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<PageView>, HttpError> {
    let (mut filter, page) = listing(query.as_deref())?;
    if filter.user_id.is_some() {
        return Err(HttpError::BadRequest(
            "user_id: the path names the user; it is not a query parameter here".into(),
        ));
    }
    filter.user_id = Some(user_id(&user)?);
    Ok(Json(state.queries.alarms(&filter, &page).await?.into()))
}

/// One alarm: its latest status, its last delivery and whether it is due now.
#[utoipa::path(get, path = "/v1/users/{user_id}/alarms/{alarm_id}", tag = "alarms", params(AlarmPath),
    responses((status = 200, description = "The alarm", body = AlarmView)))]
async fn one(
    State(state): State<AppState>,
    Path((user, alarm)): Path<(String, String)>,
) -> Result<Json<AlarmView>, HttpError> {
    Ok(Json(state.alarm_record(&user, &alarm).await?.into()))
}

/// One retained status change.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[schema(as = AlarmEvent)]
struct EventView {
    #[schema(value_type = StatusName)]
    status: &'static str,
    changed_at: String,
    received_at: String,
    /// True when the event was stale or a duplicate and changed nothing.
    ignored: bool,
    /// `applied`, `stale` or `duplicate`.
    #[schema(value_type = String)]
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

/// The retained status changes of one alarm, in ChangedAt order.
#[utoipa::path(get, path = "/v1/users/{user_id}/alarms/{alarm_id}/events", tag = "alarms", params(AlarmPath),
    responses((status = 200, description = "The alarm's retained history", body = Vec<EventView>)))]
async fn events(
    State(state): State<AppState>,
    Path((user, alarm)): Path<(String, String)>,
) -> Result<Json<Vec<EventView>>, HttpError> {
    let r = state.alarm_record(&user, &alarm).await?;
    let history = state.queries.history(&r.user_id, &r.alarm_id).await?;
    Ok(Json(history.iter().map(EventView::from).collect()))
}

/// Totals over the store.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[schema(as = Counts)]
struct CountsView {
    active_alarms: u64,
    /// Alarms stored now: active and cleared, removed ones not.
    alarms: u64,
    events_received: u64,
    /// Tombstones of removed alarms kept now (`RETAIN_TOMBSTONES`).
    tombstones: u64,
    /// Cleared alarms removed by retention (`RETAIN_CLEARED`) since the store was created.
    removed_alarms: u64,
}

/// Active alarms now, alarms ever seen and events received.
#[utoipa::path(get, path = "/v1/counts", tag = "alarms",
    responses((status = 200, description = "Totals", body = CountsView)))]
async fn counts(State(state): State<AppState>) -> Result<Json<CountsView>, HttpError> {
    let Counts {
        active,
        alarms,
        events_received,
        tombstones,
        removed,
    } = state.queries.counts().await?;
    Ok(Json(CountsView {
        active_alarms: active,
        alarms,
        events_received,
        tombstones,
        removed_alarms: removed,
    }))
}
