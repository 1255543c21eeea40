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

#[tokio::test]
async fn past_maintenance_windows_go_once_notifications_of_their_time_would_and_open_ended_ones_stay() {
    use domain::pager::{MaintenanceWindow, WindowScope, WindowTiming};
    use domain::recurrence::Recurrence;
    let store = Arc::new(SqliteStore::open_in_memory(HistoryLimits::default()).unwrap());
    let now = EventTime::from_datetime(chrono::Utc::now()).unwrap();
    let clock = Arc::new(ManualClock::at(now));
    let retention = RetentionService::new(store.clone(), store.clone(), clock.clone(), Retention::DEFAULT, 500)
        .with_maintenance(store.clone());
    let window = |id: &str, timing: WindowTiming| MaintenanceWindow {
        id: id.into(),
        scope: WindowScope::All,
        timing,
        created_by: "ops".into(),
        comment: "upgrade".into(),
        created_at: now,
    };
    let ended_at = now.after(DAY);
    let windows = [
        window(
            "once",
            WindowTiming::Once {
                start: now,
                end: ended_at,
            },
        ),
        window(
            "weekly-forever",
            WindowTiming::Recurring {
                recurrence: Recurrence::parse("0 2 * * 0", "Europe/Paris").unwrap(),
                duration: Duration::from_secs(3600),
                until: None,
            },
        ),
    ];
    for w in &windows {
        store.put_window(w).await.unwrap();
    }
    clock.advance(DAY + Retention::DEFAULT.notifications - Duration::from_secs(60));
    assert_eq!(retention.sweep().await.unwrap().windows, 0, "kept for audit");
    clock.advance(Duration::from_secs(120));
    assert_eq!(retention.sweep().await.unwrap().windows, 1);
    let kept: Vec<String> = store.windows().await.unwrap().into_iter().map(|w| w.id).collect();
    assert_eq!(kept, ["weekly-forever"], "a window without an end is never removed");
}
