//! `GET /v1/stats`: alarms by status and lifecycle, and response times over alarm episodes,
//! all over one window.

use super::openapi::StatsParams;
use crate::error::HttpError;
use crate::params::stats::parse;
use crate::state::AppState;
use axum::extract::{RawQuery, State};
use axum::Json;
use domain::distribution::{Bucket, HourCount};
use domain::episodes::{seconds, Lifecycle, Summary};
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
    /// 90th percentile, nearest rank (like `p50` and `p95`: always one of the durations).
    p90: f64,
    p95: f64,
}

impl From<Summary> for SummaryView {
    /// Seconds, converted here once from the durations' whole nanoseconds.
    fn from(s: Summary) -> Self {
        Self {
            count: s.count,
            min: seconds(s.min),
            mean: seconds(s.mean),
            max: seconds(s.max),
            p50: seconds(s.p50),
            p90: seconds(s.p90),
            p95: seconds(s.p95),
        }
    }
}

/// How many durations fell in `[from_seconds, to_seconds)`.
#[derive(Serialize, ToSchema)]
#[schema(as = DurationBucket)]
struct BucketView {
    /// Lower edge in seconds, inclusive.
    from_seconds: u64,
    /// Upper edge in seconds, exclusive; null for the last bucket.
    to_seconds: Option<u64>,
    /// The bucket in words (`1m–5m`).
    label: String,
    /// Durations in it.
    count: u64,
}

impl From<&Bucket> for BucketView {
    fn from(b: &Bucket) -> Self {
        Self {
            from_seconds: b.from.as_secs(),
            to_seconds: b.to.map(|t| t.as_secs()),
            label: b.label(),
            count: b.count,
        }
    }
}

/// Episodes opened in one clock hour (UTC).
#[derive(Serialize, ToSchema)]
#[schema(as = HourCount)]
struct HourView {
    /// The start of the hour (RFC 3339, UTC).
    #[schema(format = DateTime)]
    hour: String,
    /// Episodes that started in it.
    count: u64,
}

impl From<&HourCount> for HourView {
    fn from(h: &HourCount) -> Self {
        Self {
            hour: h.hour.to_rfc3339(),
            count: h.count,
        }
    }
}

/// Matching alarms by lifecycle, every lifecycle present.
#[derive(Serialize, ToSchema)]
#[schema(as = LifecycleCounts)]
struct LifecycleView {
    /// Active, not acknowledged since its latest CLEARED.
    triggered: u64,
    /// Active, acknowledged since its latest CLEARED.
    acknowledged: u64,
    /// CLEARED.
    resolved: u64,
}

impl From<&BTreeMap<Lifecycle, u64>> for LifecycleView {
    fn from(counts: &BTreeMap<Lifecycle, u64>) -> Self {
        let count = |l: Lifecycle| counts.get(&l).copied().unwrap_or(0);
        Self {
            triggered: count(Lifecycle::Triggered),
            acknowledged: count(Lifecycle::Acknowledged),
            resolved: count(Lifecycle::Resolved),
        }
    }
}

/// The answer.
#[derive(Serialize, ToSchema)]
#[schema(as = Stats)]
struct StatsView {
    /// Matching alarms whose latest change falls in the window, by the status it set
    /// (CLEARED, WARNING, CRITICAL).
    #[schema(value_type = BTreeMap<String, u64>)]
    alarms: BTreeMap<&'static str, u64>,
    /// The same alarms by lifecycle.
    lifecycle: LifecycleView,
    /// Episodes that started in the window.
    episodes: usize,
    time_to_acknowledge: Option<SummaryView>,
    time_to_resolve: Option<SummaryView>,
    /// Times to acknowledge by bucket (under 1m, 1m–5m, 5m–15m, 15m–1h, 1h–4h, 4h–1d,
    /// 1d or more), every bucket present.
    time_to_acknowledge_buckets: Vec<BucketView>,
    /// Times to resolve by the same buckets.
    time_to_resolve_buckets: Vec<BucketView>,
    /// Episodes opened per clock hour over the window's latest 48 hours at most, oldest
    /// first; the window ends at `until`, or just after the latest episode without it.
    opened_per_hour: Vec<HourView>,
}

/// Alarm counts and response times over one window, `[since, until)`.
///
/// Every figure takes the same window, so narrowing it narrows them alike. `alarms` and
/// `lifecycle` count the matching alarms whose latest change (ChangedAt) falls in the
/// window, by the status that change set and by lifecycle; an alarm that has not changed
/// since before `since` (still CRITICAL from last week, say) is not counted, just as its
/// episode, which started before the window, is not in the response times.
/// `time_to_acknowledge` and `time_to_resolve` (seconds) are over the matching alarms'
/// episodes (activation to CLEARED) that started in the window, whenever they ended.
/// Without `since` and `until`, every matching alarm and episode: the counts are then of
/// current state. Episodes are rebuilt from each alarm's retained history, its latest
/// status per severity and its acknowledgements.
#[utoipa::path(get, path = "/v1/stats", tag = "stats", params(StatsParams),
    responses((status = 200, description = "Counts and response times", body = StatsView)))]
async fn stats(State(state): State<AppState>, RawQuery(query): RawQuery) -> Result<Json<StatsView>, HttpError> {
    let (filter, window) = parse(query.as_deref())?;
    let stats = state.queries.stats(&filter, &window).await?;
    Ok(Json(StatsView {
        lifecycle: LifecycleView::from(&stats.by_lifecycle),
        alarms: stats.by_status,
        episodes: stats.episodes,
        time_to_acknowledge_buckets: stats.acknowledge_buckets.iter().map(BucketView::from).collect(),
        time_to_resolve_buckets: stats.resolve_buckets.iter().map(BucketView::from).collect(),
        opened_per_hour: stats.opened_per_hour.iter().map(HourView::from).collect(),
        time_to_acknowledge: stats.time_to_acknowledge.map(SummaryView::from),
        time_to_resolve: stats.time_to_resolve.map(SummaryView::from),
    }))
}
