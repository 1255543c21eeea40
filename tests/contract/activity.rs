//! The statistics' read: every alarm a filter matches, with its registers, retained
//! history and acknowledgements, in one query, saying what the per-alarm reads say.

use super::{alarm, ev, user, T0};
use alarm_digest::domain::ports::AlarmStore;
use alarm_digest::domain::query::{AlarmFilter, PageRequest, SortOrder};
use alarm_digest::domain::{AlarmMetadata, EventTime, Status, Version};
use Status::{Cleared, Critical, Warning};

/// (user, alarm) of each item, in the order given.
fn keys<'a>(items: impl Iterator<Item = (&'a str, &'a str)>) -> Vec<String> {
    items.map(|(u, a)| format!("{u}/{a}")).collect()
}

pub async fn activity_reads_every_matching_alarm_whole_in_listing_order(store: &dyn AlarmStore) {
    assert!(store.activity(&AlarmFilter::default()).await.unwrap().is_empty());
    let mut events = vec![
        // Flapping, a duplicate and a stale event; more events than the history keeps.
        ev("u1", "a1", 10, Warning),
        ev("u1", "a1", 20, Critical),
        ev("u1", "a1", 20, Critical),
        ev("u1", "a1", 15, Cleared),
        ev("u1", "a1", 30, Cleared),
        ev("u1", "a1", 40, Warning),
        ev("u1", "a1", 50, Critical),
        ev("u1", "a2", 5, Critical),
        ev("u2", "a1", 7, Warning),
        ev("u2", "a3", 60, Cleared),
    ];
    for e in &mut events {
        e.metadata = AlarmMetadata {
            service: Some(
                if e.alarm_id.as_str() == "a2" {
                    "compute"
                } else {
                    "storage"
                }
                .into(),
            ),
            ..Default::default()
        };
    }
    store.apply(&events).await.unwrap();
    for (u, a, offset) in [("u1", "a1", 25), ("u1", "a1", 45), ("u2", "a1", 8)] {
        let at = EventTime::from_nanos(T0 + offset);
        store.acknowledge(&user(u), &alarm(a), at).await.unwrap();
    }

    let everything = store.activity(&AlarmFilter::default()).await.unwrap();
    let page = PageRequest {
        limit: 100,
        after: None,
        order: SortOrder::Asc,
    };
    let listed = store.list_alarms(&AlarmFilter::default(), &page).await.unwrap().items;
    assert_eq!(
        keys(everything.iter().map(|x| (x.user_id.as_str(), x.alarm_id.as_str()))),
        keys(listed.iter().map(|r| (r.user_id.as_str(), r.alarm_id.as_str()))),
        "every alarm once, in (ChangedAt, AlarmID, UserID) order"
    );
    for (read, record) in everything.iter().zip(&listed) {
        let what = format!("{}/{}", record.user_id, record.alarm_id);
        assert_eq!(read.seen, record.state.seen, "{what}: registers");
        assert_eq!(read.latest(), record.state.latest(), "{what}: current status");
        assert_eq!(
            read.acknowledgements, record.acknowledgements,
            "{what}: acknowledgements"
        );
        let mut history = read.history.clone();
        history.sort();
        let mut retained: Vec<Version> = store
            .history(&record.user_id, &record.alarm_id)
            .await
            .unwrap()
            .iter()
            .map(|h| h.version)
            .collect();
        retained.sort();
        assert_eq!(
            history, retained,
            "{what}: the retained history, duplicates and stale ones included"
        );
    }

    let storage_of_u1 = AlarmFilter {
        user_id: Some(user("u1")),
        service: Some("storage".into()),
        ..Default::default()
    };
    let read = store.activity(&storage_of_u1).await.unwrap();
    assert_eq!(
        keys(read.iter().map(|x| (x.user_id.as_str(), x.alarm_id.as_str()))),
        ["u1/a1"],
        "the filter selects as the listing does"
    );
    let cleared = AlarmFilter {
        statuses: vec![Cleared],
        ..Default::default()
    };
    let read = store.activity(&cleared).await.unwrap();
    assert_eq!(
        keys(read.iter().map(|x| (x.user_id.as_str(), x.alarm_id.as_str()))),
        ["u2/a3"]
    );
}
