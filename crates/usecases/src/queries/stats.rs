//! Statistics over a window: the alarms whose latest change falls in it, by status and
//! by lifecycle, and time to acknowledge and to resolve over the alarm episodes that
//! started in it. One window for every figure, so narrowing it narrows them all alike.

use domain::distribution::{histogram, opened_per_hour, Bucket, HourCount};
use domain::episodes::{episodes, summarize, Episode, Lifecycle, Summary};
use domain::ports::StoreError;
use domain::query::AlarmFilter;
use domain::{EventTime, Status};
use std::collections::BTreeMap;

/// The window of the statistics, `[since, until)`, open where `None`: the counts take the
/// alarms whose latest change falls in it, the response times the episodes that started
/// in it. Without bounds, every matching alarm and episode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    /// Earliest instant, inclusive.
    pub since: Option<EventTime>,
    /// Latest instant, exclusive.
    pub until: Option<EventTime>,
}

impl Window {
    /// Whether `t` falls in the window.
    pub fn contains(&self, t: EventTime) -> bool {
        self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t < u)
    }
}

/// What the statistics found.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmStats {
    /// Matching alarms whose latest change falls in the window, by that latest status;
    /// every status present, zero included.
    pub by_status: BTreeMap<&'static str, u64>,
    /// The same alarms by lifecycle ([`Lifecycle::of`]); every lifecycle present.
    pub by_lifecycle: BTreeMap<Lifecycle, u64>,
    /// Episodes that started in the window.
    pub episodes: usize,
    /// Time to acknowledge over those episodes that were acknowledged.
    pub time_to_acknowledge: Option<Summary>,
    /// Time to resolve over those episodes that were resolved.
    pub time_to_resolve: Option<Summary>,
    /// Times to acknowledge in the buckets of [`histogram`], every bucket present.
    pub acknowledge_buckets: Vec<Bucket>,
    /// Times to resolve in the buckets of [`histogram`], every bucket present.
    pub resolve_buckets: Vec<Bucket>,
    /// Episodes opened per clock hour over the window's latest hours (at most
    /// [`domain::distribution::MAX_HOURS`]); the window ends at `until`, or just
    /// after the latest episode when `until` is open. Empty when there is nothing to count.
    pub opened_per_hour: Vec<HourCount>,
}

impl super::AlarmQueries {
    /// Alarms matching `filter` whose latest change falls in `window`, by status and by
    /// lifecycle, and response times over the matching alarms' episodes that started in
    /// `window`. Episodes are rebuilt from each alarm's retained history, its latest status
    /// per severity and its acknowledgements, all read in one store query.
    pub async fn stats(&self, filter: &AlarmFilter, window: &Window) -> Result<AlarmStats, StoreError> {
        let mut by_status: BTreeMap<&'static str, u64> = Status::ALL.iter().map(|s| (s.as_str(), 0)).collect();
        let mut by_lifecycle: BTreeMap<Lifecycle, u64> = Lifecycle::ALL.iter().map(|&l| (l, 0)).collect();
        let mut in_window: Vec<Episode> = Vec::new();
        for alarm in self.store.activity(filter).await? {
            // An alarm counts where its latest change put it, if that change is in the
            // window. Its episodes are looked at whatever its latest change: one that
            // started in the window may have ended after it.
            if let Some(latest) = alarm.latest().filter(|l| window.contains(l.changed_at)) {
                *by_status.entry(latest.status.as_str()).or_default() += 1;
                if let Some(lifecycle) = alarm.lifecycle() {
                    *by_lifecycle.entry(lifecycle).or_default() += 1;
                }
            }
            in_window.extend(
                episodes(&alarm.versions(), &alarm.acknowledgements)
                    .into_iter()
                    .filter(|e| window.contains(e.started_at)),
            );
        }
        let acknowledge: Vec<_> = in_window.iter().filter_map(Episode::time_to_acknowledge).collect();
        let resolve: Vec<_> = in_window.iter().filter_map(Episode::time_to_resolve).collect();
        let starts: Vec<EventTime> = in_window.iter().map(|e| e.started_at).collect();
        let end = window.until.or_else(|| {
            starts
                .iter()
                .max()
                .map(|t| EventTime::from_nanos(t.as_nanos().saturating_add(1)))
        });
        Ok(AlarmStats {
            by_status,
            by_lifecycle,
            episodes: in_window.len(),
            acknowledge_buckets: histogram(&acknowledge),
            resolve_buckets: histogram(&resolve),
            opened_per_hour: end.map_or_else(Vec::new, |end| opened_per_hour(&starts, window.since, end)),
            time_to_acknowledge: summarize(acknowledge),
            time_to_resolve: summarize(resolve),
        })
    }
}
