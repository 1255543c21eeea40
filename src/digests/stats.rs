//! Statistics over a window: the alarms whose latest change falls in it, by status and
//! by lifecycle, and time to acknowledge and to resolve over the alarm episodes that
//! started in it. One window for every figure, so narrowing it narrows them all alike.

use super::Digests;
use crate::domain::distribution::{histogram, opened_per_hour, Bucket, HourCount};
use crate::domain::episodes::{episodes, summarize, Episode, Lifecycle, Summary};
use crate::domain::ports::StoreError;
use crate::domain::query::AlarmFilter;
use crate::domain::{EventTime, Status};
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
    /// [`crate::domain::distribution::MAX_HOURS`]); the window ends at `until`, or just
    /// after the latest episode when `until` is open. Empty when there is nothing to count.
    pub opened_per_hour: Vec<HourCount>,
}

impl Digests {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digests::ClaimSettings;
    use crate::domain::ports::{AlarmStore, DigestPublisher, PublishError, SystemClock};
    use crate::domain::{AlarmEvent, AlarmId, AlarmMetadata, Digest, DigestId, UserId, Version};
    use crate::metrics::Metrics;
    use crate::store::instrumented::Instrumented;
    use crate::store::sqlite::SqliteStore;
    use async_trait::async_trait;
    use std::sync::Arc;

    /// Statistics never publish.
    struct NoPublisher;

    #[async_trait]
    impl DigestPublisher for NoPublisher {
        async fn publish(&self, _: &Digest, _: &DigestId) -> Result<(), PublishError> {
            Err(PublishError::Refused("statistics publish nothing".into()))
        }
    }

    fn event(alarm: &str, nanos: i64, status: Status) -> AlarmEvent {
        AlarmEvent {
            user_id: UserId::parse("u1").unwrap(),
            alarm_id: AlarmId::parse(alarm).unwrap(),
            version: Version {
                changed_at: EventTime::from_nanos(nanos),
                status,
            },
            metadata: AlarmMetadata::default(),
        }
    }

    /// The use case over an in-memory store whose operations are counted in `metrics`.
    fn digests(metrics: &Arc<Metrics>) -> (Digests, Arc<dyn AlarmStore>) {
        let store: Arc<dyn AlarmStore> = Arc::new(SqliteStore::open_in_memory(Default::default()).unwrap());
        let counted: Arc<dyn AlarmStore> = Instrumented::wrap(Arc::clone(&store), Arc::clone(metrics));
        let digests = Digests::new(
            counted,
            Arc::new(NoPublisher),
            Arc::new(SystemClock),
            "test",
            ClaimSettings::default(),
        );
        (digests, store)
    }

    /// How many times the store ran `operation`.
    fn calls(metrics: &Metrics, operation: &str) -> usize {
        let text = metrics.encode();
        let line = format!("alarm_digest_store_operation_seconds_count{{operation=\"{operation}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&line))
            .map_or(0, |n| n.trim().parse().unwrap())
    }

    #[tokio::test]
    async fn stats_read_the_store_once_however_many_alarms_match() {
        let metrics = Arc::new(Metrics::new());
        let (digests, store) = digests(&metrics);
        let events: Vec<AlarmEvent> = (0..25)
            .flat_map(|i| {
                let alarm = format!("a{i}");
                [
                    event(&alarm, 1_000 + i, Status::Warning),
                    event(&alarm, 5_000 + i, Status::Cleared),
                ]
            })
            .collect();
        store.apply(&events).await.unwrap();
        let stats = digests
            .stats(&AlarmFilter::default(), &Window::default())
            .await
            .unwrap();
        assert_eq!(stats.episodes, 25);
        assert_eq!(stats.by_status["CLEARED"], 25);
        let per_operation = ["activity", "list_alarms", "history"].map(|op| calls(&metrics, op));
        assert_eq!(per_operation, [1, 0, 0], "activity, list_alarms, history");
    }

    #[tokio::test]
    async fn a_window_narrows_the_counts_to_the_alarms_whose_latest_change_falls_in_it() {
        let (digests, store) = digests(&Arc::new(Metrics::new()));
        store
            .apply(&[
                event("untouched-since-before", 10, Status::Critical),
                event("cleared-in-it", 10, Status::Warning),
                event("cleared-in-it", 60, Status::Cleared),
                event("raised-in-it", 70, Status::Warning),
                event("raised-at-its-end", 100, Status::Warning),
            ])
            .await
            .unwrap();
        let user = UserId::parse("u1").unwrap();
        let raised = AlarmId::parse("raised-in-it").unwrap();
        store
            .acknowledge(&user, &raised, EventTime::from_nanos(80))
            .await
            .unwrap();
        let window = Window {
            since: Some(EventTime::from_nanos(50)),
            until: Some(EventTime::from_nanos(100)),
        };
        let narrowed = digests.stats(&AlarmFilter::default(), &window).await.unwrap();
        let statuses = |s: &AlarmStats| Status::ALL.map(|status| s.by_status[status.as_str()]);
        let lifecycles = |s: &AlarmStats| Lifecycle::ALL.map(|l| s.by_lifecycle[&l]);
        assert_eq!(statuses(&narrowed), [1, 1, 0], "CLEARED, WARNING, CRITICAL");
        assert_eq!(lifecycles(&narrowed), [0, 1, 1], "triggered, acknowledged, resolved");
        assert_eq!(narrowed.episodes, 1, "only raised-in-it started in the window");
        let everything = digests
            .stats(&AlarmFilter::default(), &Window::default())
            .await
            .unwrap();
        assert_eq!(statuses(&everything), [1, 2, 1]);
        assert_eq!(lifecycles(&everything), [2, 1, 1]);
        assert_eq!(everything.episodes, 4);
    }
}
