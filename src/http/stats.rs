//! `GET /v1/stats`: alarms by status, and response times over alarm episodes.

use super::error::ApiError;
use super::listing::{instant, pairs, user_id, MAX_LIMIT};
use super::openapi::StatsParams;
use super::AppState;
use crate::domain::episodes::{episodes, summarize, Episode, Summary};
use crate::domain::query::{AlarmFilter, PageRequest, SortOrder};
use crate::domain::{EventTime, Status, Version};
use axum::extract::{RawQuery, State};
use axum::Json;
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The stats route.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(stats))
}

/// Durations in seconds over the episodes that have one.
#[derive(Serialize, ToSchema)]
#[schema(as = DurationSummary)]
struct SummaryView {
    count: usize,
    min: f64,
    mean: f64,
    max: f64,
    p50: f64,
    p95: f64,
}

impl From<Summary> for SummaryView {
    fn from(s: Summary) -> Self {
        Self {
            count: s.count,
            min: s.min,
            mean: s.mean,
            max: s.max,
            p50: s.p50,
            p95: s.p95,
        }
    }
}

/// The answer.
#[derive(Serialize, ToSchema)]
#[schema(as = Stats)]
struct StatsView {
    /// Matching alarms by current status (CLEARED, WARNING, CRITICAL).
    #[schema(value_type = BTreeMap<String, u64>)]
    alarms: BTreeMap<&'static str, u64>,
    /// Episodes that started in the window.
    episodes: usize,
    time_to_acknowledge: Option<SummaryView>,
    time_to_resolve: Option<SummaryView>,
}

/// The window episodes must start in: `[since, until)`.
struct Window {
    since: Option<EventTime>,
    until: Option<EventTime>,
}

impl Window {
    fn contains(&self, t: EventTime) -> bool {
        self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t < u)
    }
}

fn parse(raw: Option<&str>) -> Result<(AlarmFilter, Window), ApiError> {
    let mut filter = AlarmFilter::default();
    let mut window = Window {
        since: None,
        until: None,
    };
    for (name, value) in pairs(raw)? {
        match name.as_str() {
            "user_id" => filter.user_id = Some(user_id(&value)?),
            "service" => filter.service = Some(value),
            "since" => window.since = Some(instant("since", &value)?),
            "until" => window.until = Some(instant("until", &value)?),
            other => return Err(ApiError::BadRequest(format!("unknown query parameter {other}"))),
        }
    }
    Ok((filter, window))
}

/// Alarms by current status, and time to acknowledge and to resolve (seconds) over the alarm
/// episodes that started in the window. Episodes are rebuilt from each matching alarm's
/// retained history, its latest status per severity and its acknowledgements.
#[utoipa::path(get, path = "/v1/stats", tag = "stats", params(StatsParams),
    responses((status = 200, description = "Counts and response times", body = StatsView)))]
async fn stats(State(state): State<AppState>, RawQuery(query): RawQuery) -> Result<Json<StatsView>, ApiError> {
    let (filter, window) = parse(query.as_deref())?;
    let mut alarms: BTreeMap<&'static str, u64> = Status::ALL.iter().map(|s| (s.as_str(), 0)).collect();
    let mut in_window: Vec<Episode> = Vec::new();
    let mut page = PageRequest {
        limit: MAX_LIMIT,
        after: None,
        order: SortOrder::Asc,
    };
    loop {
        let listed = state.store.list_alarms(&filter, &page).await?;
        for alarm in &listed.items {
            if let Some(latest) = alarm.state.latest() {
                *alarms.entry(latest.status.as_str()).or_default() += 1;
            }
            let history = state.store.history(&alarm.user_id, &alarm.alarm_id).await?;
            let versions: Vec<Version> = history
                .iter()
                .map(|e| e.version)
                .chain(alarm.state.seen.versions())
                .collect();
            in_window.extend(
                episodes(&versions, &alarm.acknowledgements)
                    .into_iter()
                    .filter(|e| window.contains(e.started_at)),
            );
        }
        match listed.next {
            Some(next) => page.after = Some(next),
            None => break,
        }
    }
    let acknowledge = in_window.iter().filter_map(Episode::time_to_acknowledge).collect();
    let resolve = in_window.iter().filter_map(Episode::time_to_resolve).collect();
    Ok(Json(StatsView {
        alarms,
        episodes: in_window.len(),
        time_to_acknowledge: summarize(acknowledge).map(SummaryView::from),
        time_to_resolve: summarize(resolve).map(SummaryView::from),
    }))
}
