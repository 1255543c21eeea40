//! Statistics: alarms by current status, and time to acknowledge and to resolve over the
//! alarm episodes that started in a window.

use super::Digests;
use crate::domain::episodes::{episodes, summarize, Episode, Lifecycle, Summary};
use crate::domain::ports::StoreError;
use crate::domain::query::AlarmFilter;
use crate::domain::{EventTime, Status};
use std::collections::BTreeMap;

/// The window episodes must start in: `[since, until)`, open where `None`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    /// Earliest start, inclusive.
    pub since: Option<EventTime>,
    /// Latest start, exclusive.
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
    /// Matching alarms by their current status; every status present, zero included.
    pub by_status: BTreeMap<&'static str, u64>,
    /// The same alarms by lifecycle ([`Lifecycle::of`]); every lifecycle present.
    pub by_lifecycle: BTreeMap<Lifecycle, u64>,
    /// Episodes that started in the window.
    pub episodes: usize,
    /// Time to acknowledge over those episodes that were acknowledged.
    pub time_to_acknowledge: Option<Summary>,
    /// Time to resolve over those episodes that were resolved.
    pub time_to_resolve: Option<Summary>,
}

impl Digests {
    /// Alarms matching `filter` by current status, and response times over their episodes
    /// that started in `window`. Episodes are rebuilt from each alarm's retained history,
    /// its latest status per severity and its acknowledgements, all read in one store query.
    pub async fn stats(&self, filter: &AlarmFilter, window: &Window) -> Result<AlarmStats, StoreError> {
        let mut by_status: BTreeMap<&'static str, u64> = Status::ALL.iter().map(|s| (s.as_str(), 0)).collect();
        let mut by_lifecycle: BTreeMap<Lifecycle, u64> = Lifecycle::ALL.iter().map(|&l| (l, 0)).collect();
        let mut in_window: Vec<Episode> = Vec::new();
        for alarm in self.store.activity(filter).await? {
            if let Some(latest) = alarm.latest() {
                *by_status.entry(latest.status.as_str()).or_default() += 1;
            }
            if let Some(lifecycle) = alarm.lifecycle() {
                *by_lifecycle.entry(lifecycle).or_default() += 1;
            }
            in_window.extend(
                episodes(&alarm.versions(), &alarm.acknowledgements)
                    .into_iter()
                    .filter(|e| window.contains(e.started_at)),
            );
        }
        let acknowledge = in_window.iter().filter_map(Episode::time_to_acknowledge).collect();
        let resolve = in_window.iter().filter_map(Episode::time_to_resolve).collect();
        Ok(AlarmStats {
            by_status,
            by_lifecycle,
            episodes: in_window.len(),
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
}
