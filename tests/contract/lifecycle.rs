//! The lifecycle filter: the store selects exactly the alarms whose lifecycle
//! (`Lifecycle::of` their registers and acknowledgements) is asked for, and pages them
//! like any other listing.

use super::{alarm, ev, user, T0};
use alarm_digest::domain::episodes::Lifecycle;
use alarm_digest::domain::ports::AlarmStore;
use alarm_digest::domain::query::{AlarmFilter, PageRequest, SortOrder};
use alarm_digest::domain::{EventTime, Status};
use Lifecycle::{Acknowledged, Resolved, Triggered};
use Status::{Cleared, Critical, Warning};

/// `user/alarm` of every alarm `filter` lists, walking pages of `limit` in `order`.
async fn listed(store: &dyn AlarmStore, filter: &AlarmFilter, limit: usize, order: SortOrder) -> Vec<String> {
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list_alarms(filter, &PageRequest { limit, after, order })
            .await
            .unwrap();
        seen.extend(page.items.iter().map(|r| format!("{}/{}", r.user_id, r.alarm_id)));
        match page.next {
            Some(key) => after = Some(key),
            None => return seen,
        }
    }
}

/// An alarm of the test: its name, its events as (offset, status), its acknowledgements as
/// offsets, and the lifecycle that makes it.
type Case = (&'static str, &'static [(i64, Status)], &'static [i64], Lifecycle);

pub async fn lifecycle_filter_selects_what_the_domain_rule_says_on_every_page(store: &dyn AlarmStore) {
    let alarms: &[Case] = &[
        ("never-acked", &[(1, Warning)], &[], Triggered),
        ("acked", &[(2, Critical)], &[3], Acknowledged),
        ("resolved", &[(3, Warning), (6, Cleared)], &[], Resolved),
        ("resolved-acked", &[(4, Critical), (8, Cleared)], &[5], Resolved),
        (
            "back-after-an-acked-episode",
            &[(1, Warning), (5, Cleared), (9, Critical)],
            &[2],
            Triggered,
        ),
        (
            "acked-at-the-clear",
            &[(1, Warning), (5, Cleared), (9, Warning)],
            &[5],
            Triggered,
        ),
        (
            "back-and-acked-again",
            &[(1, Warning), (5, Cleared), (9, Warning)],
            &[2, 12],
            Acknowledged,
        ),
        (
            "flapping-acked-between-flaps",
            &[(5, Cleared), (6, Warning), (8, Critical), (12, Warning)],
            &[7],
            Acknowledged,
        ),
    ];
    for (name, events, acks, _) in alarms {
        for u in ["u1", "u2"] {
            let batch: Vec<_> = events.iter().map(|&(t, s)| ev(u, name, t, s)).collect();
            store.apply(&batch).await.unwrap();
            for &a in *acks {
                let at = EventTime::from_nanos(T0 + a);
                store.acknowledge(&user(u), &alarm(name), at).await.unwrap();
            }
        }
    }
    let every = listed(store, &AlarmFilter::default(), 100, SortOrder::Asc).await;
    assert_eq!(every.len(), alarms.len() * 2);

    let asked: &[&[Lifecycle]] = &[
        &[Triggered],
        &[Acknowledged],
        &[Resolved],
        &[Triggered, Acknowledged],
        &[Acknowledged, Resolved],
        &[Triggered, Acknowledged, Resolved],
    ];
    for lifecycles in asked {
        let expected: Vec<String> = every
            .iter()
            .filter(|key| {
                let name = key.split_once('/').unwrap().1;
                let (_, _, _, lifecycle) = alarms.iter().find(|a| a.0 == name).unwrap();
                lifecycles.contains(lifecycle)
            })
            .cloned()
            .collect();
        let filter = AlarmFilter {
            lifecycles: lifecycles.to_vec(),
            ..Default::default()
        };
        assert_eq!(
            listed(store, &filter, 100, SortOrder::Asc).await,
            expected,
            "{lifecycles:?}"
        );
        for order in [SortOrder::Asc, SortOrder::Desc] {
            let mut paged = listed(store, &filter, 2, order).await;
            if order == SortOrder::Desc {
                paged.reverse();
            }
            assert_eq!(paged, expected, "{lifecycles:?} in pages of 2, {order:?}");
        }
        let read: Vec<String> = store
            .activity(&filter)
            .await
            .unwrap()
            .iter()
            .map(|a| format!("{}/{}", a.user_id, a.alarm_id))
            .collect();
        assert_eq!(read, expected, "{lifecycles:?}: the statistics' read filters alike");
    }
    for record in store
        .list_alarms(
            &AlarmFilter::default(),
            &PageRequest {
                limit: 100,
                after: None,
                order: SortOrder::Asc,
            },
        )
        .await
        .unwrap()
        .items
    {
        let (_, _, _, lifecycle) = alarms.iter().find(|a| a.0 == record.alarm_id.as_str()).unwrap();
        assert_eq!(
            Lifecycle::of(&record.state.seen, &record.acknowledgements),
            Some(*lifecycle),
            "{}: the domain rule",
            record.alarm_id
        );
    }

    let triggered_of_u2_critical = AlarmFilter {
        user_id: Some(user("u2")),
        statuses: vec![Critical],
        lifecycles: vec![Triggered],
        ..Default::default()
    };
    assert_eq!(
        listed(store, &triggered_of_u2_critical, 100, SortOrder::Asc).await,
        ["u2/back-after-an-acked-episode"],
        "the lifecycle combines with the other filters"
    );
}
