//! The schedule store contract: schedules kept and replaced, their timers claimed earliest
//! first by exactly one of racing claimers, a lapsed claim fired again once, and a claim
//! that lost its schedule (changed, deleted, taken over) unable to move the timer.

use alarm_digest::domain::recurrence::Recurrence;
use alarm_digest::domain::schedule::{DigestSchedule, DueSchedule, ScheduleStore};
use alarm_digest::domain::{EventTime, UserId};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

const T0: EventTime = EventTime::from_nanos(1_700_000_000_000_000_000);
const MINUTE: Duration = Duration::from_secs(60);
const DAY: Duration = Duration::from_secs(24 * 3600);

fn user(id: &str) -> UserId {
    UserId::parse(id).unwrap()
}

fn schedule(id: &str, expression: &str) -> DigestSchedule {
    DigestSchedule {
        user_id: user(id),
        recurrence: Recurrence::parse(expression, "Europe/Paris").unwrap(),
        send_empty: false,
    }
}

fn daily(id: &str) -> DigestSchedule {
    schedule(id, "0 9 * * *")
}

fn who(due: &[DueSchedule]) -> Vec<&str> {
    due.iter().map(|d| d.schedule.user_id.as_str()).collect()
}

/// Claims the one schedule due at `now`, until a minute later.
async fn claim_one<S: ScheduleStore>(store: &S, now: EventTime) -> DueSchedule {
    let mut due = store.claim_due_schedules(now, now.after(MINUTE), 10).await.unwrap();
    assert_eq!(due.len(), 1, "one schedule due at {now}: {due:?}");
    due.remove(0)
}

pub async fn schedules_are_created_read_replaced_and_deleted<S: ScheduleStore>(store: Arc<S>) {
    let u = user("u1");
    assert_eq!(store.schedule(&u).await.unwrap(), None);
    assert!(store.put_schedule(&daily("u1"), Some(T0)).await.unwrap(), "created");
    let first = store.schedule(&u).await.unwrap().expect("stored");
    assert_eq!((first.schedule.clone(), first.next_due), (daily("u1"), Some(T0)));

    let changed = DigestSchedule {
        send_empty: true,
        ..schedule("u1", "30 7 * * 1-5")
    };
    assert!(!store.put_schedule(&changed, None).await.unwrap(), "replaced");
    let second = store.schedule(&u).await.unwrap().expect("stored");
    assert_eq!((second.schedule, second.next_due), (changed, None));
    assert_ne!(second.revision, first.revision, "every put is a new revision");
    assert_eq!(store.schedule(&user("u2")).await.unwrap(), None, "users have their own");

    assert!(store.delete_schedule(&u).await.unwrap());
    assert!(!store.delete_schedule(&u).await.unwrap(), "nothing left to delete");
    assert_eq!(store.schedule(&u).await.unwrap(), None);
}

pub async fn due_schedules_are_claimed_earliest_first_and_not_yet_due_ones_never<S: ScheduleStore>(store: Arc<S>) {
    for (id, next) in [
        ("c", Some(T0.after(2 * MINUTE))),
        ("a", Some(T0)),
        ("b", Some(T0.after(MINUTE))),
        ("later", Some(T0.after(10 * MINUTE))),
        ("never", None),
    ] {
        store.put_schedule(&daily(id), next).await.unwrap();
    }
    let now = T0.after(2 * MINUTE);
    let until = now.after(MINUTE);
    let first = store.claim_due_schedules(now, until, 2).await.unwrap();
    assert_eq!(who(&first), ["a", "b"], "the earliest, up to the limit");
    let rest = store.claim_due_schedules(now, until, 10).await.unwrap();
    assert_eq!(who(&rest), ["c"]);
    let a = &first[0];
    assert_eq!((a.occurrence, a.lapsed), (T0, false));
    assert_eq!(a.schedule, daily("a"));
    assert_eq!(a.revision, store.schedule(&user("a")).await.unwrap().unwrap().revision);
    assert_eq!(
        store.schedule(&user("a")).await.unwrap().unwrap().next_due,
        Some(T0),
        "a claim leaves the occurrence it fires"
    );
    assert!(store.claim_due_schedules(now, until, 10).await.unwrap().is_empty());
    assert!(
        store.claim_due_schedules(now, until, 0).await.unwrap().is_empty(),
        "a limit of zero claims nothing"
    );
}

pub async fn a_claimed_schedule_is_not_claimed_again_before_its_claim_lapses<S: ScheduleStore>(store: Arc<S>) {
    store.put_schedule(&daily("u1"), Some(T0)).await.unwrap();
    let first = claim_one(store.as_ref(), T0).await;
    assert!(!first.lapsed);
    let halfway = T0.after(MINUTE / 2);
    assert!(store
        .claim_due_schedules(halfway, halfway.after(MINUTE), 10)
        .await
        .unwrap()
        .is_empty());
    let again = claim_one(store.as_ref(), T0.after(MINUTE)).await;
    assert_eq!(
        (again.occurrence, again.lapsed),
        (T0, true),
        "the same occurrence, taken over"
    );
    assert_ne!(again.claim, first.claim, "a new claim");
}

pub async fn racing_claimers_fire_each_occurrence_once<S: ScheduleStore + 'static>(store: Arc<S>) {
    let users = 200;
    for n in 0..users {
        let due = T0.after(Duration::from_millis(n));
        store
            .put_schedule(&daily(&format!("u{n:03}")), Some(due))
            .await
            .unwrap();
    }
    let now = T0.after(MINUTE);
    let claimers = (0..8).map(|_| {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            let mut fired = Vec::new();
            loop {
                let batch = store.claim_due_schedules(now, now.after(MINUTE), 7).await.unwrap();
                if batch.is_empty() {
                    return fired;
                }
                for due in batch {
                    assert!(!due.lapsed, "no claim lapsed: {due:?}");
                    let next = due.occurrence.after(DAY);
                    assert!(store.advance_schedule(&due, Some(next)).await.unwrap(), "{due:?}");
                    fired.push((due.schedule.user_id.as_str().to_string(), due.occurrence));
                }
            }
        })
    });
    let mut times: BTreeMap<(String, EventTime), usize> = BTreeMap::new();
    for fired in futures::future::join_all(claimers).await {
        for key in fired.unwrap() {
            *times.entry(key).or_default() += 1;
        }
    }
    assert_eq!(times.len(), users as usize, "every occurrence fired");
    let twice: Vec<_> = times.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "fired more than once: {twice:?}");
}

pub async fn a_lapsed_claim_fires_again_once_and_the_first_claimers_advance_is_refused<S: ScheduleStore + 'static>(
    store: Arc<S>,
) {
    store.put_schedule(&daily("u1"), Some(T0)).await.unwrap();
    let first = claim_one(store.as_ref(), T0).await;
    // The first claimer dies; once its claim lapsed, two replicas race for the occurrence.
    let lapsed = first.occurrence.after(MINUTE);
    let racers = (0..2).map(|_| {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            store
                .claim_due_schedules(lapsed, lapsed.after(MINUTE), 10)
                .await
                .unwrap()
        })
    });
    let taken: Vec<DueSchedule> = futures::future::join_all(racers)
        .await
        .into_iter()
        .flat_map(|r| r.unwrap())
        .collect();
    assert_eq!(taken.len(), 1, "taken over exactly once: {taken:?}");
    let second = &taken[0];
    assert_eq!((second.occurrence, second.lapsed), (T0, true));
    assert!(
        !store.advance_schedule(&first, Some(T0.after(DAY))).await.unwrap(),
        "the first claimer lost its claim"
    );
    assert!(store.advance_schedule(second, Some(T0.after(DAY))).await.unwrap());
    assert_eq!(
        store.schedule(&user("u1")).await.unwrap().unwrap().next_due,
        Some(T0.after(DAY))
    );
    assert!(store
        .claim_due_schedules(lapsed.after(MINUTE), lapsed.after(2 * MINUTE), 10)
        .await
        .unwrap()
        .is_empty());
}

pub async fn a_lapsed_claim_nobody_took_over_still_advances<S: ScheduleStore>(store: Arc<S>) {
    store.put_schedule(&daily("u1"), Some(T0)).await.unwrap();
    let due = claim_one(store.as_ref(), T0).await;
    // Its claim lapsed at T0 + 1 min, but no replica claimed since: nothing fired it twice.
    assert!(store.advance_schedule(&due, Some(T0.after(DAY))).await.unwrap());
    assert!(
        !store.advance_schedule(&due, Some(T0.after(2 * DAY))).await.unwrap(),
        "a claim advances once"
    );
    assert_eq!(
        store.schedule(&user("u1")).await.unwrap().unwrap().next_due,
        Some(T0.after(DAY))
    );
}

pub async fn advancing_moves_the_timer_and_frees_the_claim<S: ScheduleStore>(store: Arc<S>) {
    store.put_schedule(&daily("u1"), Some(T0)).await.unwrap();
    let first = claim_one(store.as_ref(), T0).await;
    let next = T0.after(DAY);
    assert!(store.advance_schedule(&first, Some(next)).await.unwrap());
    assert!(store
        .claim_due_schedules(next.before(MINUTE), next, 10)
        .await
        .unwrap()
        .is_empty());
    let second = claim_one(store.as_ref(), next).await;
    assert_eq!((second.occurrence, second.lapsed), (next, false), "a fresh claim");
    assert!(
        store.advance_schedule(&second, None).await.unwrap(),
        "no more occurrences"
    );
    let record = store.schedule(&user("u1")).await.unwrap().unwrap();
    assert_eq!(record.next_due, None);
    assert_eq!(
        record.revision, first.revision,
        "the timer moving is no change of the schedule"
    );
    let far = next.after(1000 * DAY);
    assert!(store
        .claim_due_schedules(far, far.after(MINUTE), 10)
        .await
        .unwrap()
        .is_empty());
}

pub async fn a_put_or_delete_during_a_claim_leaves_the_old_claim_without_effect<S: ScheduleStore>(store: Arc<S>) {
    store.put_schedule(&daily("u1"), Some(T0)).await.unwrap();
    let claimed = claim_one(store.as_ref(), T0).await;
    let changed = schedule("u1", "0 18 * * *");
    store.put_schedule(&changed, Some(T0.after(MINUTE))).await.unwrap();
    assert!(
        !store.advance_schedule(&claimed, Some(T0.after(DAY))).await.unwrap(),
        "a claim on the old schedule cannot move the new one's timer"
    );
    let record = store.schedule(&user("u1")).await.unwrap().unwrap();
    assert_eq!(
        (record.schedule, record.next_due),
        (changed.clone(), Some(T0.after(MINUTE)))
    );
    let fresh = claim_one(store.as_ref(), T0.after(MINUTE)).await;
    assert_eq!(
        (fresh.schedule, fresh.lapsed),
        (changed, false),
        "the new schedule's own claim"
    );

    // Deleted, then made again as it was: the old claim still cannot move the new timer.
    store.put_schedule(&daily("u2"), Some(T0)).await.unwrap();
    let claimed = claim_one(store.as_ref(), T0).await;
    assert!(store.delete_schedule(&user("u2")).await.unwrap());
    assert!(!store.advance_schedule(&claimed, Some(T0.after(DAY))).await.unwrap());
    store.put_schedule(&daily("u2"), Some(T0)).await.unwrap();
    assert!(!store.advance_schedule(&claimed, Some(T0.after(DAY))).await.unwrap());
    assert_eq!(store.schedule(&user("u2")).await.unwrap().unwrap().next_due, Some(T0));
}
