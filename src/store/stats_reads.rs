//! The statistics use case over a store whose operations are counted by its
//! instrumentation, as the metrics see them: one read, however many alarms match.

use domain::episodes::Lifecycle;
use domain::query::AlarmFilter;
use domain::{EventTime, Status};
use usecases::queries::{AlarmQueries, AlarmStats, Window};

use crate::metrics::Metrics;
use crate::store::instrumented::Instrumented;
use domain::ports::AlarmStore;
use domain::{AlarmEvent, AlarmId, AlarmMetadata, UserId, Version};
use std::sync::Arc;
use store_sqlite::SqliteStore;

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

/// The queries over an in-memory store whose operations are counted in `metrics`.
fn queries(metrics: &Arc<Metrics>) -> (AlarmQueries, Arc<dyn AlarmStore>) {
    let store: Arc<dyn AlarmStore> = Arc::new(SqliteStore::open_in_memory(Default::default()).unwrap());
    let counted: Arc<dyn AlarmStore> = Instrumented::wrap(Arc::clone(&store), Arc::clone(metrics));
    (AlarmQueries::new(counted), store)
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
    let (queries, store) = queries(&metrics);
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
    let stats = queries
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
    let (queries, store) = queries(&Arc::new(Metrics::new()));
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
    let narrowed = queries.stats(&AlarmFilter::default(), &window).await.unwrap();
    let statuses = |s: &AlarmStats| Status::ALL.map(|status| s.by_status[status.as_str()]);
    let lifecycles = |s: &AlarmStats| Lifecycle::ALL.map(|l| s.by_lifecycle[&l]);
    assert_eq!(statuses(&narrowed), [1, 1, 0], "CLEARED, WARNING, CRITICAL");
    assert_eq!(lifecycles(&narrowed), [0, 1, 1], "triggered, acknowledged, resolved");
    assert_eq!(narrowed.episodes, 1, "only raised-in-it started in the window");
    let everything = queries
        .stats(&AlarmFilter::default(), &Window::default())
        .await
        .unwrap();
    assert_eq!(statuses(&everything), [1, 2, 1]);
    assert_eq!(lifecycles(&everything), [2, 1, 1]);
    assert_eq!(everything.episodes, 4);
}
