//! The retention use case on an in-memory SQLite store and a clock the tests move.

use super::*;
use domain::ports::ManualClock;
use domain::query::HistoryLimits;
use domain::{AlarmEvent, AlarmId, AlarmMetadata, EventTime, Status, UserId, Version};
use std::time::Duration;
use store_sqlite::SqliteStore;

const DAY: Duration = Duration::from_secs(86_400);

fn event(alarm: &str, status: Status, nanos: i64) -> AlarmEvent {
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

/// A store holding `cleared` cleared alarms and one active one, a clock standing now, and
/// the use case over them with the default periods.
async fn service(cleared: usize, batch: usize) -> (RetentionService, Arc<ManualClock>) {
    let store = Arc::new(SqliteStore::open_in_memory(HistoryLimits::default()).unwrap());
    let mut events = vec![event("active", Status::Warning, 1)];
    for i in 0..cleared {
        events.push(event(&format!("gone-{i}"), Status::Warning, 1));
        events.push(event(&format!("gone-{i}"), Status::Cleared, 2));
    }
    store.apply(&events).await.unwrap();
    let clock = Arc::new(ManualClock::at(EventTime::from_datetime(chrono::Utc::now()).unwrap()));
    let retention = RetentionService::new(store.clone(), store, clock.clone(), Retention::DEFAULT, batch);
    (retention, clock)
}

#[tokio::test]
async fn nothing_is_removed_before_its_retention_has_passed() {
    let (retention, clock) = service(3, 500).await;
    clock.advance(Retention::DEFAULT.cleared - Duration::from_secs(60));
    let report = retention.sweep().await.unwrap();
    assert_eq!(report.swept, Swept::default());
    assert_eq!((report.counts.alarms, report.counts.tombstones), (4, 0));
}

#[tokio::test]
async fn cleared_alarms_go_after_their_retention_and_leave_tombstones_that_go_later() {
    let (retention, clock) = service(3, 500).await;
    clock.advance(Retention::DEFAULT.cleared + Duration::from_secs(60));
    let report = retention.sweep().await.unwrap();
    assert_eq!(report.swept.alarms, 3);
    assert_eq!(
        (
            report.counts.alarms,
            report.counts.active,
            report.counts.tombstones,
            report.counts.removed
        ),
        (1, 1, 3, 3),
        "the active alarm stays, each cleared one left a tombstone"
    );
    clock.advance(Retention::DEFAULT.tombstones);
    let report = retention.sweep().await.unwrap();
    assert_eq!(report.swept.tombstones, 3);
    assert_eq!(
        (report.counts.alarms, report.counts.tombstones, report.counts.removed),
        (1, 0, 3)
    );
}

#[tokio::test]
async fn one_sweep_works_through_a_backlog_larger_than_its_batch() {
    let (retention, clock) = service(7, 2).await;
    clock.advance(100 * DAY);
    let report = retention.sweep().await.unwrap();
    assert_eq!(report.swept.alarms, 7);
    assert_eq!(report.counts.alarms, 1);
}
