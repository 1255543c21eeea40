//! The store contract: what every [`AlarmStore`] adapter must do, written once.

pub mod activity;
pub mod fencing;
pub mod lifecycle;
pub mod maintenance;
pub mod metadata;
pub mod mongo_commands;
pub mod mongo_durability;
pub mod mongo_retention;
pub mod pager;
pub mod retention;
pub mod schedules;
pub mod sqlite_schema;

pub use activity::*;
pub use fencing::*;
pub use lifecycle::*;
pub use metadata::*;
pub use retention::*;

use alarm_digest::domain::ports::{AlarmStore, PreparedDigest};
use alarm_digest::domain::query::{AckOutcome, AlarmFilter, HistoryLimits, PageRequest, SortOrder};
use alarm_digest::domain::schedule::DigestCause;
use alarm_digest::domain::{
    AlarmEvent, AlarmId, AlarmMetadata, AlarmState, ApplyOutcome, DueAlarm, EventTime, Status, UserId, Version,
};
use std::sync::Arc;
use std::time::Duration;
use Status::{Cleared, Critical, Warning};

/// Small history bounds, so the contract can reach them.
pub const LIMITS: HistoryLimits = HistoryLimits {
    events_per_alarm: 5,
    alarms: 3,
};

/// 2021-06-07T20:40:15Z in nanoseconds, a realistic base time.
const T0: i64 = 1_623_098_415_000_000_000;

pub fn user(id: &str) -> UserId {
    UserId::parse(id).unwrap()
}

pub fn alarm(id: &str) -> AlarmId {
    AlarmId::parse(id).unwrap()
}

pub fn v(offset_ns: i64, status: Status) -> Version {
    Version {
        changed_at: EventTime::from_nanos(T0 + offset_ns),
        status,
    }
}

pub fn ev(u: &str, a: &str, offset_ns: i64, status: Status) -> AlarmEvent {
    AlarmEvent {
        user_id: user(u),
        alarm_id: alarm(a),
        version: v(offset_ns, status),
        metadata: AlarmMetadata::default(),
    }
}

async fn due_ids(store: &dyn AlarmStore, u: &str) -> Vec<String> {
    store
        .due_alarms(&user(u))
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.alarm_id.as_str().to_string())
        .collect()
}

async fn state(store: &dyn AlarmStore, u: &str, a: &str) -> AlarmState {
    store
        .alarm(&user(u), &alarm(a))
        .await
        .unwrap()
        .expect("alarm stored")
        .state
}

/// A digest of `alarms` as sent in answer to `request`, for recording.
pub fn sent(alarms: &[DueAlarm], request: Option<&str>) -> PreparedDigest {
    PreparedDigest {
        id: format!("digest-{}", alarms.len()),
        alarms: alarms.to_vec(),
        request: request.map(str::to_string),
        cause: DigestCause::Requested,
    }
}

/// Claims, records `alarms` as delivered and releases, like a digest would.
async fn deliver(store: &dyn AlarmStore, u: &str, alarms: &[DueAlarm]) {
    let claim = store
        .claim_digest(&user(u), "test", EventTime::from_nanos(T0), Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    assert!(store.record_delivery(&claim, &sent(alarms, None)).await.unwrap());
    assert!(store.release_digest(&claim).await.unwrap());
}

pub async fn first_event_creates_an_active_due_alarm(store: &dyn AlarmStore) {
    let out = store.apply(&[ev("u1", "a1", 0, Warning)]).await.unwrap();
    assert_eq!(out, [ApplyOutcome::Applied]);
    let due = store.due_alarms(&user("u1")).await.unwrap();
    assert_eq!(
        due,
        [DueAlarm {
            alarm_id: alarm("a1"),
            version: v(0, Warning)
        }]
    );
}

pub async fn out_of_order_update_never_overwrites_newer_status(store: &dyn AlarmStore) {
    assert_eq!(
        store.apply(&[ev("u1", "a1", 20, Critical)]).await.unwrap(),
        [ApplyOutcome::Applied]
    );
    assert_eq!(
        store.apply(&[ev("u1", "a1", 10, Cleared)]).await.unwrap(),
        [ApplyOutcome::Stale]
    );
    assert_eq!(state(store, "u1", "a1").await.latest(), Some(v(20, Critical)));
    assert_eq!(store.due_alarms(&user("u1")).await.unwrap()[0].version, v(20, Critical));
}

pub async fn duplicate_event_is_reported_and_changes_nothing(store: &dyn AlarmStore) {
    store.apply(&[ev("u1", "a1", 5, Warning)]).await.unwrap();
    let before = state(store, "u1", "a1").await;
    assert_eq!(
        store.apply(&[ev("u1", "a1", 5, Warning)]).await.unwrap(),
        [ApplyOutcome::Duplicate]
    );
    assert_eq!(state(store, "u1", "a1").await, before);
}

pub async fn equal_time_tie_keeps_the_more_severe_status(store: &dyn AlarmStore) {
    store
        .apply(&[
            ev("u1", "a1", 7, Critical),
            ev("u1", "a1", 7, Warning),
            ev("u1", "a1", 7, Cleared),
        ])
        .await
        .unwrap();
    store
        .apply(&[
            ev("u1", "a2", 7, Cleared),
            ev("u1", "a2", 7, Warning),
            ev("u1", "a2", 7, Critical),
        ])
        .await
        .unwrap();
    assert_eq!(state(store, "u1", "a1").await.latest(), Some(v(7, Critical)));
    assert_eq!(state(store, "u1", "a1").await, state(store, "u1", "a2").await);
}

pub async fn batch_reports_one_outcome_per_event_in_order(store: &dyn AlarmStore) {
    let out = store
        .apply(&[
            ev("u1", "a1", 2, Warning),
            ev("u1", "a1", 1, Critical),
            ev("u1", "a1", 2, Warning),
            ev("u1", "a2", 1, Warning),
        ])
        .await
        .unwrap();
    assert_eq!(
        out,
        [
            ApplyOutcome::Applied,
            ApplyOutcome::Stale,
            ApplyOutcome::Duplicate,
            ApplyOutcome::Applied
        ]
    );
}

pub async fn due_alarms_come_oldest_first_with_ties_by_alarm_id(store: &dyn AlarmStore) {
    store
        .apply(&[
            ev("u1", "c", 2, Warning),
            ev("u1", "b", 1, Critical),
            ev("u1", "z", 0, Warning),
            ev("u1", "a", 2, Critical),
        ])
        .await
        .unwrap();
    assert_eq!(due_ids(store, "u1").await, ["z", "b", "a", "c"]);
}

pub async fn nanosecond_times_survive_a_round_trip(store: &dyn AlarmStore) {
    let precise = EventTime::parse_rfc3339("2021-06-07T20:40:15.598765212Z").unwrap();
    let mut e = ev("u1", "a1", 0, Warning);
    e.version.changed_at = precise;
    store.apply(&[e]).await.unwrap();
    let due = store.due_alarms(&user("u1")).await.unwrap();
    assert_eq!(due[0].changed_at().to_rfc3339(), "2021-06-07T20:40:15.598765212Z");
}

pub async fn cleared_alarm_is_never_due(store: &dyn AlarmStore) {
    store
        .apply(&[
            ev("u1", "a1", 1, Warning),
            ev("u1", "a1", 2, Cleared),
            ev("u1", "a2", 1, Cleared),
        ])
        .await
        .unwrap();
    assert!(due_ids(store, "u1").await.is_empty());
    assert!(!state(store, "u1", "a1").await.is_active());
}

pub async fn delivered_alarm_is_not_due_until_its_status_changes(store: &dyn AlarmStore) {
    store.apply(&[ev("u1", "a1", 1, Warning)]).await.unwrap();
    let due = store.due_alarms(&user("u1")).await.unwrap();
    deliver(store, "u1", &due).await;
    assert!(due_ids(store, "u1").await.is_empty());
    store.apply(&[ev("u1", "a1", 5, Warning)]).await.unwrap();
    assert!(
        due_ids(store, "u1").await.is_empty(),
        "a newer event with the same status is not a change"
    );
    store.apply(&[ev("u1", "a1", 6, Critical)]).await.unwrap();
    assert_eq!(store.due_alarms(&user("u1")).await.unwrap()[0].version, v(6, Critical));
}

pub async fn late_cleared_rearms_a_delivered_alarm(store: &dyn AlarmStore) {
    store.apply(&[ev("u1", "a1", 1, Warning)]).await.unwrap();
    deliver(store, "u1", &store.due_alarms(&user("u1")).await.unwrap()).await;
    store.apply(&[ev("u1", "a1", 9, Warning)]).await.unwrap();
    assert!(due_ids(store, "u1").await.is_empty());
    assert_eq!(
        store.apply(&[ev("u1", "a1", 8, Cleared)]).await.unwrap(),
        [ApplyOutcome::Stale]
    );
    let due = store.due_alarms(&user("u1")).await.unwrap();
    assert_eq!(
        due,
        [DueAlarm {
            alarm_id: alarm("a1"),
            version: v(9, Warning)
        }]
    );
}

pub async fn event_applied_during_a_digest_keeps_the_alarm_due(store: &dyn AlarmStore) {
    store.apply(&[ev("u1", "a1", 1, Warning)]).await.unwrap();
    let read = store.due_alarms(&user("u1")).await.unwrap();
    store
        .apply(&[ev("u1", "a1", 2, Cleared), ev("u1", "a1", 3, Warning)])
        .await
        .unwrap();
    deliver(store, "u1", &read).await;
    assert_eq!(store.due_alarms(&user("u1")).await.unwrap()[0].version, v(3, Warning));
}

pub async fn delivery_records_only_move_forward(store: &dyn AlarmStore) {
    store.apply(&[ev("u1", "a1", 9, Critical)]).await.unwrap();
    deliver(
        store,
        "u1",
        &[DueAlarm {
            alarm_id: alarm("a1"),
            version: v(9, Critical),
        }],
    )
    .await;
    deliver(
        store,
        "u1",
        &[DueAlarm {
            alarm_id: alarm("a1"),
            version: v(1, Warning),
        }],
    )
    .await;
    assert_eq!(state(store, "u1", "a1").await.delivered, Some(v(9, Critical)));
    assert!(due_ids(store, "u1").await.is_empty());
}

pub async fn users_never_see_each_others_alarms(store: &dyn AlarmStore) {
    store
        .apply(&[ev("u1", "shared", 1, Warning), ev("u2", "shared", 2, Critical)])
        .await
        .unwrap();
    deliver(store, "u1", &store.due_alarms(&user("u1")).await.unwrap()).await;
    assert!(due_ids(store, "u1").await.is_empty());
    assert_eq!(store.due_alarms(&user("u2")).await.unwrap()[0].version, v(2, Critical));
}

pub async fn metadata_of_the_newest_event_is_kept(store: &dyn AlarmStore) {
    let mut newer = ev("u1", "a1", 5, Warning);
    newer.metadata = AlarmMetadata {
        name: Some("Disk full".into()),
        service: Some("db".into()),
        user_name: None,
        ..Default::default()
    };
    let mut older = ev("u1", "a1", 1, Critical);
    older.metadata = AlarmMetadata {
        name: Some("old name".into()),
        service: None,
        user_name: Some("Ann".into()),
        ..Default::default()
    };
    store.apply(&[newer, older]).await.unwrap();
    let rec = store.alarm(&user("u1"), &alarm("a1")).await.unwrap().unwrap();
    assert_eq!(rec.metadata.name.as_deref(), Some("Disk full"));
    assert_eq!(rec.metadata.service.as_deref(), Some("db"));
    assert_eq!(
        rec.metadata.user_name.as_deref(),
        Some("Ann"),
        "older events fill fields never seen"
    );
}

pub async fn only_one_of_two_racing_claims_wins(store: Arc<dyn AlarmStore>) {
    for round in 0..20 {
        let u = user(&format!("racer{round}"));
        let now = EventTime::from_nanos(T0);
        let (a, b) = tokio::join!(
            store.claim_digest(&u, "replica-a", now, Duration::from_secs(30)),
            store.claim_digest(&u, "replica-b", now, Duration::from_secs(30)),
        );
        let winners = [a.unwrap(), b.unwrap()].into_iter().flatten().count();
        assert_eq!(winners, 1, "round {round}");
    }
}

pub async fn claim_is_exclusive_until_released_or_expired(store: &dyn AlarmStore) {
    let u = user("u1");
    let t = |ms: i64| EventTime::from_nanos(T0 + ms * 1_000_000);
    let ttl = Duration::from_millis(1000);
    let first = store
        .claim_digest(&u, "a", t(0), ttl)
        .await
        .unwrap()
        .expect("free claim is granted");
    assert!(
        store.claim_digest(&u, "b", t(500), ttl).await.unwrap().is_none(),
        "held claim is refused"
    );
    let stale = DigestClaim {
        holder: "b".into(),
        ..first.clone()
    };
    assert!(!store.release_digest(&stale).await.unwrap(), "a non-holder is told");
    assert!(
        store.claim_digest(&u, "c", t(600), ttl).await.unwrap().is_none(),
        "only the holder can release"
    );
    assert!(store.release_digest(&first).await.unwrap());
    let second = store
        .claim_digest(&u, "b", t(700), ttl)
        .await
        .unwrap()
        .expect("released claim is granted");
    let third = store
        .claim_digest(&u, "c", t(1701), ttl)
        .await
        .unwrap()
        .expect("expired claim is taken over");
    assert_eq!(third.holder, "c");
    assert!(
        !store.release_digest(&second).await.unwrap(),
        "the lost claim's holder is told"
    );
    assert!(
        store.claim_digest(&u, "d", t(1800), ttl).await.unwrap().is_none(),
        "late release of a lost claim frees nothing"
    );
}

use alarm_digest::domain::ports::DigestClaim;

pub async fn epoch_counts_recorded_digests(store: &dyn AlarmStore) {
    let u = user("u1");
    let now = EventTime::from_nanos(T0);
    for expected in 0..3u64 {
        let claim = store
            .claim_digest(&u, "a", now, Duration::from_secs(5))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(claim.epoch, expected);
        assert!(store.record_delivery(&claim, &sent(&[], None)).await.unwrap());
        assert!(store.release_digest(&claim).await.unwrap());
    }
}

pub async fn the_latest_sent_digests_are_kept_newest_first_per_user(store: &dyn AlarmStore) {
    use alarm_digest::domain::ports::SENT_DIGESTS_KEPT;
    assert_eq!(store.sent_digests(&user("u1")).await.unwrap(), []);
    store
        .apply(&[ev("u1", "a1", 0, Warning), ev("u1", "a2", 1, Critical)])
        .await
        .unwrap();
    let due = store.due_alarms(&user("u1")).await.unwrap();
    let total = SENT_DIGESTS_KEPT + 3;
    let before =
        alarm_digest::domain::ports::Clock::now(&alarm_digest::domain::ports::SystemClock).as_nanos() / 1_000_000;
    for n in 0..total {
        let claim = store
            .claim_digest(&user("u1"), "a", EventTime::from_nanos(T0), Duration::from_secs(5))
            .await
            .unwrap()
            .unwrap();
        let digest = PreparedDigest {
            id: format!("d{n}"),
            alarms: due[..n % 3].to_vec(),
            request: None,
            cause: DigestCause::Requested,
        };
        assert!(store.record_delivery(&claim, &digest).await.unwrap());
        assert!(store.release_digest(&claim).await.unwrap());
    }
    // A claim lost before recording logs nothing.
    let lost = store
        .claim_digest(&user("u1"), "b", EventTime::from_nanos(T0), Duration::from_secs(5))
        .await
        .unwrap()
        .unwrap();
    let stale = DigestClaim {
        epoch: 0,
        ..lost.clone()
    };
    assert!(!store.record_delivery(&stale, &sent(&due, None)).await.unwrap());
    assert!(store.release_digest(&lost).await.unwrap());

    let kept = store.sent_digests(&user("u1")).await.unwrap();
    let ids: Vec<&str> = kept.iter().map(|d| d.id.as_str()).collect();
    let expected: Vec<String> = (total - SENT_DIGESTS_KEPT..total)
        .rev()
        .map(|n| format!("d{n}"))
        .collect();
    assert_eq!(ids, expected);
    let sizes: Vec<usize> = kept.iter().map(|d| d.alarms).collect();
    let expected_sizes: Vec<usize> = (total - SENT_DIGESTS_KEPT..total).rev().map(|n| n % 3).collect();
    assert_eq!(sizes, expected_sizes);
    assert!(
        kept.windows(2).all(|w| w[0].recorded_ms >= w[1].recorded_ms),
        "{kept:?}"
    );
    assert!(kept.iter().all(|d| d.recorded_ms >= before), "{kept:?}");
    assert_eq!(
        store.sent_digests(&user("u2")).await.unwrap(),
        [],
        "another user's log is their own"
    );
}

/// A deterministic shuffle so failures reproduce.
fn permuted<T: Clone>(items: &[T], seed: u64) -> Vec<T> {
    let mut out = items.to_vec();
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    for i in (1..out.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.swap(i, (x % (i as u64 + 1)) as usize);
    }
    out
}

pub async fn concurrent_permuted_duplicated_applies_converge_to_the_sequential_state(store: Arc<dyn AlarmStore>) {
    let statuses = [Cleared, Warning, Critical];
    let mut events = Vec::new();
    for a in 0..6 {
        for k in 0..12i64 {
            events.push(ev(
                "conv",
                &format!("a{a}"),
                (k * 7 + a) % 10,
                statuses[((k + a) % 3) as usize],
            ));
        }
    }
    let mut expected = std::collections::BTreeMap::new();
    for e in &events {
        expected
            .entry(e.alarm_id.as_str().to_string())
            .or_insert_with(AlarmState::default)
            .apply(e.version);
    }
    let tasks: Vec<_> = (0..8u64)
        .map(|seed| {
            let store = Arc::clone(&store);
            let mut mine = permuted(&events, seed);
            mine.extend(permuted(&events, seed + 100).into_iter().take(20));
            tokio::spawn(async move {
                for chunk in mine.chunks(1 + seed as usize * 3) {
                    store.apply(chunk).await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    for (a, want) in expected {
        assert_eq!(state(store.as_ref(), "conv", &a).await, want, "alarm {a}");
    }
}

pub async fn prepared_digest_is_handed_to_the_next_holder_until_recorded(store: &dyn AlarmStore) {
    use alarm_digest::domain::ports::PreparedDigest;
    let u = user("u1");
    let t = |ms: i64| EventTime::from_nanos(T0 + ms * 1_000_000);
    let ttl = Duration::from_millis(1000);
    let first = store.claim_digest(&u, "a", t(0), ttl).await.unwrap().unwrap();
    assert_eq!(first.pending, None);
    let prepared = PreparedDigest {
        id: "d1".into(),
        alarms: vec![DueAlarm {
            alarm_id: alarm("x"),
            version: v(3, Critical),
        }],
        request: Some("req-1".into()),
        cause: DigestCause::Requested,
    };
    assert!(store.prepare_digest(&first, &prepared).await.unwrap());
    // The holder dies; after expiry the next holder finds the prepared digest.
    let second = store.claim_digest(&u, "b", t(2000), ttl).await.unwrap().unwrap();
    assert_eq!(second.pending, Some(prepared.clone()));
    assert_eq!(second.epoch, first.epoch);
    assert!(
        !store.prepare_digest(&first, &prepared).await.unwrap(),
        "a lost claim cannot prepare"
    );
    assert!(store.record_delivery(&second, &prepared).await.unwrap());
    assert!(store.release_digest(&second).await.unwrap());
    let third = store.claim_digest(&u, "c", t(2100), ttl).await.unwrap().unwrap();
    assert_eq!(third.pending, None, "recording clears the prepared digest");
    assert_eq!(third.epoch, first.epoch + 1);
    assert_eq!(third.answered, ["req-1"], "the answered request is remembered");
}

pub async fn answered_requests_are_remembered_newest_last_and_bounded(store: &dyn AlarmStore) {
    use alarm_digest::domain::ports::ANSWERED_REQUESTS_KEPT;
    let u = user("u1");
    let now = EventTime::from_nanos(T0);
    let total = ANSWERED_REQUESTS_KEPT * 2;
    for i in 0..total {
        let claim = store
            .claim_digest(&u, "a", now, Duration::from_secs(5))
            .await
            .unwrap()
            .unwrap();
        let request = (i % 4 != 0).then(|| format!("r{i}"));
        assert!(store
            .record_delivery(&claim, &sent(&[], request.as_deref()))
            .await
            .unwrap());
        assert!(store.release_digest(&claim).await.unwrap());
    }
    let claim = store
        .claim_digest(&u, "a", now, Duration::from_secs(5))
        .await
        .unwrap()
        .unwrap();
    let expected: Vec<String> = (0..total).filter(|i| i % 4 != 0).map(|i| format!("r{i}")).collect();
    assert!(expected.len() > ANSWERED_REQUESTS_KEPT, "the test must pass the bound");
    let expected = &expected[expected.len() - ANSWERED_REQUESTS_KEPT..];
    assert_eq!(claim.answered, expected);
    assert_eq!(claim.epoch, total as u64, "digests without a request id count too");
}

pub async fn history_keeps_the_newest_events_in_changed_at_order_with_ignored_ones_flagged(store: &dyn AlarmStore) {
    store
        .apply(&[
            ev("u1", "a1", 50, Warning),
            ev("u1", "a1", 10, Critical),
            ev("u1", "a1", 50, Warning),
        ])
        .await
        .unwrap();
    let h = store.history(&user("u1"), &alarm("a1")).await.unwrap();
    let seen: Vec<_> = h.iter().map(|e| (e.version, e.outcome)).collect();
    assert_eq!(
        seen,
        [
            (v(10, Critical), ApplyOutcome::Stale),
            (v(50, Warning), ApplyOutcome::Applied),
            (v(50, Warning), ApplyOutcome::Duplicate)
        ]
    );
    for k in 0..10 {
        store.apply(&[ev("u1", "a1", 100 + k, Critical)]).await.unwrap();
    }
    let h = store.history(&user("u1"), &alarm("a1")).await.unwrap();
    assert_eq!(h.len(), LIMITS.events_per_alarm, "only the newest events are kept");
    assert_eq!(h.first().unwrap().version, v(105, Critical));
    assert_eq!(h.last().unwrap().version, v(109, Critical));
    assert!(store.history(&user("u1"), &alarm("nope")).await.unwrap().is_empty());
}

pub async fn trimming_keeps_histories_of_the_alarms_that_changed_last_only(store: &dyn AlarmStore) {
    for a in 0..6 {
        store.apply(&[ev("u1", &format!("a{a}"), a, Warning)]).await.unwrap();
        // Distinct update times: the store stamps milliseconds.
        let before = std::time::Instant::now();
        while before.elapsed() < Duration::from_millis(3) {
            tokio::task::yield_now().await;
        }
    }
    store.trim_history().await.unwrap();
    let mut kept = Vec::new();
    for a in 0..6 {
        if !store
            .history(&user("u1"), &alarm(&format!("a{a}")))
            .await
            .unwrap()
            .is_empty()
        {
            kept.push(a);
        }
    }
    assert_eq!(
        kept,
        [3, 4, 5],
        "histories of the {} most recent alarms remain",
        LIMITS.alarms
    );
    assert!(
        store.alarm(&user("u1"), &alarm("a0")).await.unwrap().is_some(),
        "the alarm state itself is kept"
    );
}

pub async fn listing_filters_and_pages_to_the_end_without_gaps_or_duplicates(store: &dyn AlarmStore) {
    let mut events = Vec::new();
    for u in 0..3 {
        for a in 0..7 {
            let mut e = ev(
                &format!("u{u}"),
                &format!("a{a}"),
                (a % 4) as i64,
                [Warning, Critical, Cleared][a % 3],
            );
            e.metadata = AlarmMetadata {
                name: Some(format!("Disk {a}")),
                service: Some(format!("svc-{}", a % 2)),
                user_name: Some(format!("User {u}")),
                ..Default::default()
            };
            events.push(e);
        }
    }
    store.apply(&events).await.unwrap();
    for order in [SortOrder::Asc, SortOrder::Desc] {
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = store
                .list_alarms(&AlarmFilter::default(), &PageRequest { limit: 4, after, order })
                .await
                .unwrap();
            seen.extend(page.items.iter().map(|r| {
                (
                    r.state.latest().unwrap().changed_at,
                    r.alarm_id.clone(),
                    r.user_id.clone(),
                )
            }));
            match page.next {
                Some(key) => after = Some(key),
                None => break,
            }
        }
        assert_eq!(seen.len(), 21, "{order:?}: every alarm once");
        let mut sorted = seen.clone();
        sorted.sort();
        if order == SortOrder::Desc {
            sorted.reverse();
        }
        assert_eq!(seen, sorted, "{order:?}: in (ChangedAt, AlarmID, UserID) order");
    }
    let all = |filter: AlarmFilter| async move {
        store
            .list_alarms(
                &filter,
                &PageRequest {
                    limit: 100,
                    after: None,
                    order: SortOrder::Asc,
                },
            )
            .await
            .unwrap()
            .items
    };
    assert_eq!(
        all(AlarmFilter {
            user_id: Some(user("u1")),
            ..Default::default()
        })
        .await
        .len(),
        7
    );
    assert_eq!(
        all(AlarmFilter {
            statuses: vec![Critical],
            ..Default::default()
        })
        .await
        .len(),
        6
    );
    assert_eq!(
        all(AlarmFilter {
            statuses: vec![Critical, Cleared],
            ..Default::default()
        })
        .await
        .len(),
        12
    );
    assert_eq!(
        all(AlarmFilter {
            active: Some(false),
            ..Default::default()
        })
        .await
        .len(),
        6
    );
    assert_eq!(
        all(AlarmFilter {
            name: Some("Disk 3".into()),
            ..Default::default()
        })
        .await
        .len(),
        3
    );
    assert_eq!(
        all(AlarmFilter {
            service: Some("svc-1".into()),
            user_name: Some("User 2".into()),
            ..Default::default()
        })
        .await
        .len(),
        3
    );
    assert_eq!(
        all(AlarmFilter {
            text: Some("user 0".into()),
            ..Default::default()
        })
        .await
        .len(),
        7,
        "q is case-insensitive"
    );
    assert_eq!(
        all(AlarmFilter {
            text: Some("disk (".into()),
            ..Default::default()
        })
        .await
        .len(),
        0,
        "q is literal text"
    );
    let t = |ns: i64| Some(EventTime::from_nanos(T0 + ns));
    assert_eq!(
        all(AlarmFilter {
            changed_after: t(1),
            changed_before: t(3),
            ..Default::default()
        })
        .await
        .len(),
        3 * 2
    );
}

pub async fn acknowledgements_are_recorded_once_and_unknown_alarms_refused(store: &dyn AlarmStore) {
    store.apply(&[ev("u1", "a1", 1, Warning)]).await.unwrap();
    let at = EventTime::from_nanos(T0 + 5);
    assert_eq!(
        store.acknowledge(&user("u1"), &alarm("a1"), at).await.unwrap(),
        AckOutcome::Recorded
    );
    assert_eq!(
        store.acknowledge(&user("u1"), &alarm("a1"), at).await.unwrap(),
        AckOutcome::AlreadyRecorded
    );
    assert_eq!(
        store.acknowledge(&user("u1"), &alarm("zz"), at).await.unwrap(),
        AckOutcome::UnknownAlarm
    );
    let rec = store.alarm(&user("u1"), &alarm("a1")).await.unwrap().unwrap();
    assert_eq!(rec.acknowledgements, [at]);
}

pub async fn counts_report_active_seen_and_received(store: &dyn AlarmStore) {
    store
        .apply(&[
            ev("u1", "a1", 1, Warning),
            ev("u1", "a1", 1, Warning),
            ev("u1", "a2", 1, Cleared),
            ev("u2", "a1", 1, Critical),
        ])
        .await
        .unwrap();
    let c = store.counts().await.unwrap();
    assert_eq!((c.active, c.alarms, c.events_received), (2, 3, 4));
}
