//! Fencing: a holder can outlive its digest claim (a publish slower than the claim's
//! lifetime), so every write made under a claim lands only while the claim is still its.

use super::{ev, sent, user, T0};
use alarm_digest::domain::ports::{AlarmStore, DigestClaim, PreparedDigest};
use alarm_digest::domain::schedule::DigestCause;
use alarm_digest::domain::{DueAlarm, EventTime, Status};
use std::time::Duration;

const TTL: Duration = Duration::from_millis(1000);

/// `ms` milliseconds after the base time.
fn t(ms: i64) -> EventTime {
    EventTime::from_nanos(T0 + ms * 1_000_000)
}

fn digest(id: &str, alarms: &[DueAlarm], request: &str) -> PreparedDigest {
    PreparedDigest {
        id: id.into(),
        alarms: alarms.to_vec(),
        request: Some(request.into()),
        cause: DigestCause::Requested,
    }
}

async fn claim(store: &dyn AlarmStore, holder: &str, at: EventTime) -> DigestClaim {
    store
        .claim_digest(&user("u1"), holder, at, TTL)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{holder} gets the claim"))
}

/// A has prepared a digest of one alarm, and its claim lapsed while it published; B took
/// the claim over (and found A's digest prepared).
async fn a_lapses_and_b_claims(store: &dyn AlarmStore) -> (DigestClaim, PreparedDigest, DigestClaim) {
    store.apply(&[ev("u1", "x", 3, Status::Critical)]).await.unwrap();
    let a = claim(store, "a", t(0)).await;
    let due = store.due_alarms(&user("u1")).await.unwrap();
    let from_a = digest("d-a", &due, "req-a");
    assert!(store.prepare_digest(&a, &from_a).await.unwrap());
    let b = claim(store, "b", t(1500)).await;
    assert_eq!(b.pending.as_ref(), Some(&from_a), "B finds A's digest prepared");
    assert_eq!(b.epoch, a.epoch);
    (a, from_a, b)
}

pub async fn a_lapsed_holder_cannot_record_over_the_next_holders_prepared_digest(store: &dyn AlarmStore) {
    let (a, from_a, b) = a_lapses_and_b_claims(store).await;
    let from_b = digest("d-b", &from_a.alarms, "req-b");
    assert!(store.prepare_digest(&b, &from_b).await.unwrap());

    let recorded = store.record_delivery(&a, &from_a).await.unwrap();
    assert!(!recorded, "A is told it lost the claim");

    assert!(store.release_digest(&b).await.unwrap(), "B still holds the claim");
    let c = claim(store, "c", t(1600)).await;
    assert_eq!(c.pending, Some(from_b), "B's prepared digest is untouched");
    assert_eq!(c.epoch, b.epoch, "A's record is not counted in the epoch");
    assert!(c.answered.is_empty(), "A's request is not remembered: {:?}", c.answered);
}

pub async fn a_lapsed_holder_cannot_prepare_once_the_next_holder_claimed(store: &dyn AlarmStore) {
    let (a, from_a, b) = a_lapses_and_b_claims(store).await;
    let again = digest("d-a2", &from_a.alarms, "req-a2");
    assert!(
        !store.prepare_digest(&a, &again).await.unwrap(),
        "A is told it lost the claim"
    );
    assert!(store.release_digest(&b).await.unwrap(), "B still holds the claim");
    let c = claim(store, "c", t(1600)).await;
    assert_eq!(c.pending, Some(from_a), "the prepared digest B found is untouched");
}

pub async fn a_lapsed_holders_release_leaves_the_next_holders_claim(store: &dyn AlarmStore) {
    let (a, _, b) = a_lapses_and_b_claims(store).await;
    assert!(!store.release_digest(&a).await.unwrap(), "A is told it lost the claim");
    assert!(
        store
            .claim_digest(&user("u1"), "c", t(1600), TTL)
            .await
            .unwrap()
            .is_none(),
        "B still holds the claim"
    );
    let prepared = digest("d-b", &[], "req-b");
    assert!(
        store.prepare_digest(&b, &prepared).await.unwrap(),
        "B can still prepare"
    );
}

pub async fn a_claim_whose_epoch_is_behind_the_users_cannot_prepare_or_record(store: &dyn AlarmStore) {
    let (_, from_a, b) = a_lapses_and_b_claims(store).await;
    assert!(store.record_delivery(&b, &from_a).await.unwrap());
    // The same holder with the epoch it claimed at: the digest it recorded is not counted.
    let stale = digest("d-stale", &[], "req-stale");
    assert!(
        !store.prepare_digest(&b, &stale).await.unwrap(),
        "a stale epoch cannot prepare"
    );
    assert!(
        !store.record_delivery(&b, &sent(&[], Some("req-stale"))).await.unwrap(),
        "a stale epoch cannot record"
    );
    assert!(
        store.release_digest(&b).await.unwrap(),
        "the holder can still give it back"
    );
    let c = claim(store, "c", t(1600)).await;
    assert_eq!(c.epoch, b.epoch + 1, "only the first record is counted");
    assert_eq!(c.answered, ["req-a"], "the stale record remembers nothing");
    assert_eq!(c.pending, None);
}

pub async fn a_lapsed_claim_nobody_took_over_still_records(store: &dyn AlarmStore) {
    store.apply(&[ev("u1", "x", 3, Status::Critical)]).await.unwrap();
    let a = claim(store, "a", t(0)).await;
    let due = store.due_alarms(&user("u1")).await.unwrap();
    let from_a = digest("d-a", &due, "req-a");
    assert!(store.prepare_digest(&a, &from_a).await.unwrap());
    // A's claim expired at t(1000), but nobody claimed since: nothing was built on it.
    assert!(store.record_delivery(&a, &sent(&due, Some("req-a"))).await.unwrap());
    assert!(store.due_alarms(&user("u1")).await.unwrap().is_empty());
    let b = claim(store, "b", t(1500)).await;
    assert_eq!(
        (b.epoch, b.pending, b.answered),
        (a.epoch + 1, None, vec!["req-a".to_string()])
    );
}

pub async fn an_abandoned_digest_is_dropped_and_its_alarms_stay_due(store: &dyn AlarmStore) {
    store.apply(&[ev("u1", "x", 3, Status::Critical)]).await.unwrap();
    let a = claim(store, "a", t(0)).await;
    let due = store.due_alarms(&user("u1")).await.unwrap();
    assert!(store.prepare_digest(&a, &digest("d-a", &due, "req-a")).await.unwrap());
    assert!(store.abandon_digest(&a).await.unwrap());
    assert!(store.release_digest(&a).await.unwrap());
    let b = claim(store, "b", t(100)).await;
    assert_eq!(
        (b.epoch, b.pending, b.answered),
        (a.epoch, None, Vec::<String>::new()),
        "nothing prepared, counted or answered"
    );
    assert_eq!(store.due_alarms(&user("u1")).await.unwrap(), due, "its alarms stay due");
}

pub async fn a_lapsed_holder_cannot_abandon_the_next_holders_prepared_digest(store: &dyn AlarmStore) {
    let (a, from_a, b) = a_lapses_and_b_claims(store).await;
    assert!(!store.abandon_digest(&a).await.unwrap(), "A is told it lost the claim");
    assert!(store.release_digest(&b).await.unwrap(), "B still holds the claim");
    let c = claim(store, "c", t(1600)).await;
    assert_eq!(c.pending, Some(from_a), "the prepared digest B found is untouched");
}
