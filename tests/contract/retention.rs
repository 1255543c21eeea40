//! The retention contract: what a sweep removes and what it leaves, the tombstones that
//! keep a removed alarm's late events stale, and the totals. Cut-offs are given
//! explicitly, so nothing waits for time to pass: `now_ms() + 1` catches everything
//! applied so far, a time read before an apply catches nothing of it.

use super::{alarm, deliver, due_ids, ev, state, user, v};
use alarm_digest::domain::pager::{PagerStore, PolicyRepository};
use alarm_digest::domain::ports::AlarmStore;
use alarm_digest::domain::query::AckOutcome;
use alarm_digest::domain::retention::{Sweep, Swept};
use alarm_digest::domain::{AlarmEvent, ApplyOutcome, DueAlarm, EventTime, Status};
use std::sync::Arc;
use Status::{Cleared, Critical, Warning};

/// The service's clock, as the stores read it when they apply.
fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Removes the alarms cleared before `cleared_before_ms`, no tombstone.
fn alarms_cleared_before(cleared_before_ms: i64, batch: usize) -> Sweep {
    Sweep {
        cleared_before_ms,
        tombstones_before_ms: i64::MIN,
        notifications_before_ms: i64::MIN,
        batch,
    }
}

/// Removes the tombstones written before `tombstones_before_ms`, no alarm.
fn tombstones_before(tombstones_before_ms: i64, batch: usize) -> Sweep {
    Sweep {
        cleared_before_ms: i64::MIN,
        tombstones_before_ms,
        notifications_before_ms: i64::MIN,
        batch,
    }
}

/// Every alarm cleared so far.
fn everything_cleared() -> Sweep {
    alarms_cleared_before(now_ms() + 1, 1000)
}

fn swept(alarms: u64, tombstones: u64) -> Swept {
    Swept { alarms, tombstones }
}

/// `u1`/`a1` warned at 0 and cleared at 10, then removed.
async fn removed_after_a_clear_at_10(store: &dyn AlarmStore) {
    store
        .apply(&[ev("u1", "a1", 0, Warning), ev("u1", "a1", 10, Cleared)])
        .await
        .unwrap();
    assert_eq!(store.sweep(&everything_cleared()).await.unwrap(), swept(1, 0));
}

pub async fn a_cleared_alarm_older_than_the_cut_off_is_removed_with_its_history_and_acknowledgements_and_leaves_a_tombstone(
    store: &dyn AlarmStore,
) {
    store
        .apply(&[ev("u1", "a1", 0, Warning), ev("u1", "a2", 0, Warning)])
        .await
        .unwrap();
    let acked = EventTime::from_nanos(5);
    assert_eq!(
        store.acknowledge(&user("u1"), &alarm("a1"), acked).await.unwrap(),
        AckOutcome::Recorded
    );
    store.apply(&[ev("u1", "a1", 10, Cleared)]).await.unwrap();
    assert_eq!(store.sweep(&everything_cleared()).await.unwrap(), swept(1, 0));

    assert_eq!(store.alarm(&user("u1"), &alarm("a1")).await.unwrap(), None);
    assert_eq!(store.history(&user("u1"), &alarm("a1")).await.unwrap(), []);
    assert_eq!(
        store.acknowledge(&user("u1"), &alarm("a1"), acked).await.unwrap(),
        AckOutcome::UnknownAlarm
    );
    assert!(store.alarm(&user("u1"), &alarm("a2")).await.unwrap().is_some());
    let counts = store.counts().await.unwrap();
    assert_eq!((counts.alarms, counts.tombstones, counts.removed), (1, 1, 1));
}

pub async fn an_alarm_cleared_after_the_cut_off_stays(store: &dyn AlarmStore) {
    store.apply(&[ev("u1", "a1", 0, Warning)]).await.unwrap();
    let before_the_clear = now_ms();
    store.apply(&[ev("u1", "a1", 10, Cleared)]).await.unwrap();
    let sweep = alarms_cleared_before(before_the_clear, 1000);
    assert_eq!(store.sweep(&sweep).await.unwrap(), swept(0, 0));
    assert_eq!(state(store, "u1", "a1").await.latest(), Some(v(10, Cleared)));
}

pub async fn an_active_alarm_is_never_removed_however_old(store: &dyn AlarmStore) {
    store
        .apply(&[ev("u1", "a1", 0, Cleared), ev("u1", "a1", 10, Critical)])
        .await
        .unwrap();
    let sweep = alarms_cleared_before(i64::MAX, 1000);
    assert_eq!(store.sweep(&sweep).await.unwrap(), swept(0, 0));
    assert_eq!(due_ids(store, "u1").await, ["a1"]);
}

pub async fn the_clear_is_measured_from_when_the_store_applied_it_not_from_its_changed_at(store: &dyn AlarmStore) {
    // ChangedAt is in 2021, years before either cut-off.
    let before_the_apply = now_ms();
    store.apply(&[ev("u1", "a1", 0, Cleared)]).await.unwrap();
    let sweep = alarms_cleared_before(before_the_apply, 1000);
    assert_eq!(store.sweep(&sweep).await.unwrap(), swept(0, 0));
    assert!(store.alarm(&user("u1"), &alarm("a1")).await.unwrap().is_some());
    assert_eq!(store.sweep(&everything_cleared()).await.unwrap(), swept(1, 0));
}

pub async fn a_stale_event_keeps_the_time_the_clear_was_applied(store: &dyn AlarmStore) {
    store.apply(&[ev("u1", "a1", 10, Cleared)]).await.unwrap();
    let after_the_clear = now_ms() + 1;
    store
        .apply(&[ev("u1", "a1", 5, Critical), ev("u1", "a1", 20, Cleared)])
        .await
        .unwrap();
    let sweep = alarms_cleared_before(after_the_clear, 1000);
    assert_eq!(store.sweep(&sweep).await.unwrap(), swept(1, 0));
}

pub async fn an_event_older_than_the_clear_of_a_removed_alarm_is_stale_and_stores_nothing(store: &dyn AlarmStore) {
    removed_after_a_clear_at_10(store).await;
    let late = [
        ev("u1", "a1", 5, Critical),
        ev("u1", "a1", 9, Warning),
        ev("u1", "a1", 10, Cleared),
    ];
    let outcomes = store.apply(&late).await.unwrap();
    assert!(outcomes.iter().all(|o| *o != ApplyOutcome::Applied), "{outcomes:?}");
    assert_eq!(outcomes[0], ApplyOutcome::Stale);
    assert_eq!(store.alarm(&user("u1"), &alarm("a1")).await.unwrap(), None);
    assert_eq!(due_ids(store, "u1").await, Vec::<String>::new());
    let counts = store.counts().await.unwrap();
    assert_eq!((counts.alarms, counts.tombstones, counts.events_received), (0, 1, 0));
}

pub async fn a_newer_event_brings_the_alarm_back_as_due_and_drops_the_tombstone(store: &dyn AlarmStore) {
    removed_after_a_clear_at_10(store).await;
    let outcomes = store
        .apply(&[ev("u1", "a1", 5, Critical), ev("u1", "a1", 20, Warning)])
        .await
        .unwrap();
    assert_eq!(outcomes, [ApplyOutcome::Stale, ApplyOutcome::Applied]);
    let back = state(store, "u1", "a1").await;
    assert_eq!(
        (back.seen.cleared, back.seen.warning, back.seen.critical),
        (Some(v(10, Cleared).changed_at), Some(v(20, Warning).changed_at), None)
    );
    assert_eq!(back.delivered, None);
    assert_eq!(due_ids(store, "u1").await, ["a1"]);
    let counts = store.counts().await.unwrap();
    assert_eq!((counts.alarms, counts.tombstones, counts.removed), (1, 0, 1));
}

/// Every order of `items`.
fn permutations<T: Clone>(items: &[T]) -> Vec<Vec<T>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut all = Vec::new();
    for i in 0..items.len() {
        let mut rest = items.to_vec();
        let first = rest.remove(i);
        for mut tail in permutations(&rest) {
            tail.insert(0, first.clone());
            all.push(tail);
        }
    }
    all
}

fn due_versions(due: Vec<DueAlarm>) -> Vec<(String, alarm_digest::domain::Version)> {
    due.into_iter()
        .map(|d| (d.alarm_id.as_str().to_string(), d.version))
        .collect()
}

/// For users `{prefix}0` to `{prefix}{count - 1}`: alarm a1 WARNING at 0, delivered, then
/// CLEARED at 10.
async fn delivered_then_cleared(store: &dyn AlarmStore, prefix: &str, count: usize) {
    for n in 0..count {
        let u = format!("{prefix}{n}");
        store.apply(&[ev(&u, "a1", 0, Warning)]).await.unwrap();
        let warning = DueAlarm {
            alarm_id: alarm("a1"),
            version: v(0, Warning),
        };
        deliver(store, &u, &[warning]).await;
        store.apply(&[ev(&u, "a1", 10, Cleared)]).await.unwrap();
    }
}

pub async fn the_due_rule_gives_the_same_answer_with_and_without_a_removal_for_every_order_of_four_events(
    store: &dyn AlarmStore,
) {
    let later = [(5, Critical), (15, Warning), (20, Cleared), (25, Critical)];
    let orders = permutations(&later);
    assert_eq!(orders.len(), 24);
    // A delivered warning, then its clear: the removed user's alarms are swept before the
    // kept user's exist, so one sweep removes exactly them.
    delivered_then_cleared(store, "removed", orders.len()).await;
    assert_eq!(store.sweep(&everything_cleared()).await.unwrap(), swept(24, 0));
    delivered_then_cleared(store, "kept", orders.len()).await;
    for (n, order) in orders.iter().enumerate() {
        let (kept, removed) = (format!("kept{n}"), format!("removed{n}"));
        for (step, &(t, status)) in order.iter().enumerate() {
            let a = store.apply(&[ev(&kept, "a1", t, status)]).await.unwrap();
            let b = store.apply(&[ev(&removed, "a1", t, status)]).await.unwrap();
            assert_eq!(
                a[0] == ApplyOutcome::Applied,
                b[0] == ApplyOutcome::Applied,
                "{order:?} step {step}"
            );
            let due_kept = due_versions(store.due_alarms(&user(&kept)).await.unwrap());
            let due_removed = due_versions(store.due_alarms(&user(&removed)).await.unwrap());
            assert_eq!(due_kept, due_removed, "{order:?} step {step}");
            // Deliver after the second event, so the rule is also compared after a delivery.
            if step == 1 && !due_kept.is_empty() {
                let due = store.due_alarms(&user(&kept)).await.unwrap();
                deliver(store, &kept, &due).await;
                deliver(store, &removed, &due).await;
            }
        }
    }
}

pub async fn tombstones_past_their_cut_off_go(store: &dyn AlarmStore) {
    let before_the_removal = now_ms();
    removed_after_a_clear_at_10(store).await;
    assert_eq!(
        store.sweep(&tombstones_before(before_the_removal, 1000)).await.unwrap(),
        swept(0, 0)
    );
    assert_eq!(store.counts().await.unwrap().tombstones, 1);
    assert_eq!(
        store.sweep(&tombstones_before(now_ms() + 1, 1000)).await.unwrap(),
        swept(0, 1)
    );
    let counts = store.counts().await.unwrap();
    assert_eq!((counts.tombstones, counts.removed), (0, 1));
    // The documented limit: past its tombstone, a late event brings the alarm back.
    let back = store.apply(&[ev("u1", "a1", 5, Critical)]).await.unwrap();
    assert_eq!(back, [ApplyOutcome::Applied]);
}

pub async fn a_sweep_removes_at_most_batch_of_each_kind_and_a_second_sweep_continues(store: &dyn AlarmStore) {
    let cleared: Vec<AlarmEvent> = (0..5).map(|i| ev("u1", &format!("a{i}"), 0, Cleared)).collect();
    store.apply(&cleared).await.unwrap();
    let cut = now_ms() + 1;
    let mut removed = Vec::new();
    for _ in 0..4 {
        removed.push(store.sweep(&alarms_cleared_before(cut, 2)).await.unwrap());
    }
    assert_eq!(removed, [swept(2, 0), swept(2, 0), swept(1, 0), swept(0, 0)]);
    assert!(removed[0].filled(2) && !removed[2].filled(2));
    assert_eq!(store.counts().await.unwrap().alarms, 0);
    let cut = now_ms() + 1;
    let mut expired = Vec::new();
    for _ in 0..4 {
        expired.push(store.sweep(&tombstones_before(cut, 2)).await.unwrap());
    }
    assert_eq!(expired, [swept(0, 2), swept(0, 2), swept(0, 1), swept(0, 0)]);
}

pub async fn counts_report_stored_tombstones_and_removed(store: &dyn AlarmStore) {
    store
        .apply(&[
            ev("u1", "a1", 0, Critical),
            ev("u1", "a2", 0, Cleared),
            ev("u2", "a1", 0, Cleared),
        ])
        .await
        .unwrap();
    store.sweep(&everything_cleared()).await.unwrap();
    let c = store.counts().await.unwrap();
    assert_eq!((c.alarms, c.active, c.tombstones, c.removed), (1, 1, 2, 2));
    store.apply(&[ev("u1", "a2", 10, Warning)]).await.unwrap();
    let c = store.counts().await.unwrap();
    assert_eq!((c.alarms, c.active, c.tombstones, c.removed), (2, 2, 1, 2));
    store.sweep(&tombstones_before(now_ms() + 1, 1000)).await.unwrap();
    let c = store.counts().await.unwrap();
    assert_eq!((c.alarms, c.active, c.tombstones, c.removed), (2, 2, 0, 2));
}

pub async fn two_racing_sweeps_remove_each_alarm_once(store: Arc<dyn AlarmStore>) {
    let cleared: Vec<AlarmEvent> = (0..40)
        .flat_map(|i| {
            let a = format!("a{i}");
            [ev("u1", &a, 0, Warning), ev("u1", &a, 10, Cleared)]
        })
        .collect();
    store.apply(&cleared).await.unwrap();
    let sweep = everything_cleared();
    let (one, two) = tokio::join!(store.sweep(&sweep), store.sweep(&sweep));
    let (one, two) = (one.unwrap(), two.unwrap());
    assert_eq!(one.alarms + two.alarms, 40, "{one:?} {two:?}");
    let c = store.counts().await.unwrap();
    assert_eq!((c.alarms, c.tombstones, c.removed), (0, 40, 40));
    let late = store.apply(&[ev("u1", "a7", 5, Critical)]).await.unwrap();
    assert_eq!(late, [ApplyOutcome::Stale]);
}

/// On the pager suite: the notification records are the pager store's.
pub async fn pager_sent_notifications_older_than_the_cut_off_go_and_newer_stay<S: PagerStore + PolicyRepository>(
    store: Arc<S>,
) {
    use super::pager::{opened, T0};
    use std::time::Duration;
    let outbox = opened("db", Some(T0)).outbox;
    assert!(outbox.len() >= 2, "a level of two targets");
    let (older, newer) = (&outbox[0], &outbox[1]);
    let minute = Duration::from_secs(60);
    assert!(store.record_notification(older, T0).await.unwrap());
    assert!(store.record_notification(newer, T0.after(minute)).await.unwrap());
    let ms = |t: EventTime| t.as_nanos() / 1_000_000;
    assert_eq!(store.sweep_notifications(ms(T0), 10).await.unwrap(), 0);
    let between = ms(T0.after(minute / 2));
    assert_eq!(store.sweep_notifications(between, 10).await.unwrap(), 1);
    assert!(!store.notification_sent(&older.key()).await.unwrap());
    assert!(store.notification_sent(&newer.key()).await.unwrap());
    let after_both = ms(T0.after(2 * minute));
    assert!(store.record_notification(older, T0).await.unwrap());
    assert_eq!(store.sweep_notifications(after_both, 1).await.unwrap(), 1);
    assert!(
        store.notification_sent(&newer.key()).await.unwrap(),
        "the oldest goes first"
    );
    assert_eq!(store.sweep_notifications(after_both, 1).await.unwrap(), 1);
    assert!(!store.notification_sent(&newer.key()).await.unwrap());
}
