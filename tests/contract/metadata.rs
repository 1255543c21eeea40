//! The descriptive fields an alarm carries beside its state: a service's display name and
//! an alert's one-line summary are stored and merged like the name, and a service is found
//! by its id or by its name.

use super::{alarm, deliver, ev, user};
use alarm_digest::domain::ports::{AlarmRecord, AlarmStore};
use alarm_digest::domain::query::{AlarmFilter, PageRequest, SortOrder};
use alarm_digest::domain::{AlarmEvent, AlarmMetadata, Status};
use Status::{Cleared, Critical, Warning};

/// An event whose only metadata are a service name and a summary.
fn described(a: &str, offset_ns: i64, status: Status, service_name: Option<&str>, summary: Option<&str>) -> AlarmEvent {
    let mut e = ev("u1", a, offset_ns, status);
    e.metadata = AlarmMetadata {
        service_name: service_name.map(str::to_string),
        summary: summary.map(str::to_string),
        ..Default::default()
    };
    e
}

/// An event of a service named by `service` (an id, or a name when nothing else names it)
/// and, if given, by its display name.
fn of_service(u: &str, a: &str, offset_ns: i64, service: &str, service_name: Option<&str>) -> AlarmEvent {
    let mut e = ev(u, a, offset_ns, Warning);
    e.metadata = AlarmMetadata {
        service: Some(service.into()),
        service_name: service_name.map(str::to_string),
        ..Default::default()
    };
    e
}

/// (service name, summary) as read back by `alarm()` and by the listing.
async fn read_back(store: &dyn AlarmStore, a: &str) -> [(Option<String>, Option<String>); 2] {
    let fields = |r: &AlarmRecord| (r.metadata.service_name.clone(), r.metadata.summary.clone());
    let one = store
        .alarm(&user("u1"), &alarm(a))
        .await
        .unwrap()
        .expect("alarm stored");
    let listed = all(store, AlarmFilter::default()).await;
    let listed = listed.iter().find(|r| r.alarm_id.as_str() == a).expect("alarm listed");
    [fields(&one), fields(listed)]
}

fn both(service_name: &str, summary: &str) -> [(Option<String>, Option<String>); 2] {
    let pair = (Some(service_name.to_string()), Some(summary.to_string()));
    [pair.clone(), pair]
}

/// Every alarm `filter` matches, as `user/alarm` keys in listing order, read one page of
/// one alarm at a time so the filter is also checked against the keyset.
async fn keys(store: &dyn AlarmStore, filter: AlarmFilter) -> Vec<String> {
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let request = PageRequest {
            limit: 1,
            after,
            order: SortOrder::Asc,
        };
        let page = store.list_alarms(&filter, &request).await.unwrap();
        seen.extend(page.items.iter().map(|r| format!("{}/{}", r.user_id, r.alarm_id)));
        match page.next {
            Some(key) => after = Some(key),
            None => return seen,
        }
    }
}

async fn all(store: &dyn AlarmStore, filter: AlarmFilter) -> Vec<AlarmRecord> {
    let request = PageRequest {
        limit: 100,
        after: None,
        order: SortOrder::Asc,
    };
    store.list_alarms(&filter, &request).await.unwrap().items
}

pub async fn summary_and_service_name_are_kept_and_merged_like_the_other_metadata(store: &dyn AlarmStore) {
    // In one batch: the newer event's fields win, the older one fills the field never seen.
    store
        .apply(&[
            described("a1", 5, Critical, Some("billing"), None),
            described("a1", 1, Warning, Some("old billing"), Some("disk is 95% full")),
        ])
        .await
        .unwrap();
    assert_eq!(read_back(store, "a1").await, both("billing", "disk is 95% full"));

    // Across batches, from what was stored: the same rules.
    store
        .apply(&[described("a1", 9, Critical, None, Some("disk is 99% full"))])
        .await
        .unwrap();
    assert_eq!(
        read_back(store, "a1").await,
        both("billing", "disk is 99% full"),
        "a newer event without a service name keeps the one seen"
    );
    store
        .apply(&[described(
            "a1",
            3,
            Cleared,
            Some("stale billing"),
            Some("stale summary"),
        )])
        .await
        .unwrap();
    assert_eq!(
        read_back(store, "a1").await,
        both("billing", "disk is 99% full"),
        "an older event overwrites nothing"
    );

    // A delivery rewrites the alarm's state, not its description.
    deliver(store, "u1", &store.due_alarms(&user("u1")).await.unwrap()).await;
    assert_eq!(read_back(store, "a1").await, both("billing", "disk is 99% full"));
    store
        .apply(&[described("a1", 20, Cleared, None, Some("disk is fine again"))])
        .await
        .unwrap();
    assert_eq!(read_back(store, "a1").await, both("billing", "disk is fine again"));
}

pub async fn the_service_filter_finds_an_alarm_by_its_service_id_and_by_its_service_name(store: &dyn AlarmStore) {
    store
        .apply(&[
            // An Allma alert names its service by id and by name.
            of_service("u1", "allma", 1, "svc-42", Some("billing")),
            // An Alertmanager alert only by the name in its `service` label.
            of_service("u1", "alertmanager", 2, "billing", None),
            of_service("u2", "allma", 3, "svc-42", Some("billing")),
            of_service("u1", "other", 4, "svc-7", Some("search")),
            ev("u1", "bare", 5, Warning),
        ])
        .await
        .unwrap();
    let service = |s: &str| AlarmFilter {
        service: Some(s.into()),
        ..Default::default()
    };
    assert_eq!(
        keys(store, service("billing")).await,
        ["u1/allma", "u1/alertmanager", "u2/allma"],
        "by name, whichever field holds it"
    );
    assert_eq!(keys(store, service("svc-42")).await, ["u1/allma", "u2/allma"], "by id");
    assert_eq!(keys(store, service("search")).await, ["u1/other"]);
    assert!(keys(store, service("Billing")).await.is_empty(), "an exact match");
    assert_eq!(
        keys(
            store,
            AlarmFilter {
                user_id: Some(user("u2")),
                ..service("billing")
            }
        )
        .await,
        ["u2/allma"],
        "with the other conditions"
    );
    let active = store.activity(&service("billing")).await.unwrap();
    let active: Vec<String> = active.iter().map(|a| format!("{}/{}", a.user_id, a.alarm_id)).collect();
    assert_eq!(
        active,
        ["u1/allma", "u1/alertmanager", "u2/allma"],
        "the statistics select alike"
    );
}

pub async fn the_text_search_also_reads_service_names_and_summaries(store: &dyn AlarmStore) {
    store
        .apply(&[
            of_service("u1", "allma", 1, "svc-42", Some("Billing")),
            described("summarized", 2, Warning, None, Some("Disk is 95% full")),
            ev("u1", "bare", 3, Warning),
        ])
        .await
        .unwrap();
    let text = |q: &str| AlarmFilter {
        text: Some(q.into()),
        ..Default::default()
    };
    assert_eq!(keys(store, text("billing")).await, ["u1/allma"]);
    assert_eq!(keys(store, text("95% FULL")).await, ["u1/summarized"]);
    assert_eq!(keys(store, text("svc-4")).await, ["u1/allma"]);
}
