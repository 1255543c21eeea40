//! The maintenance window store contract: windows kept whole, replaced by id, listed by
//! where they start, deleted, and removed by retention once they ended for good.

use alarm_digest::domain::pager::{MaintenanceStore, MaintenanceWindow, WindowScope, WindowTiming};
use alarm_digest::domain::recurrence::Recurrence;
use alarm_digest::domain::{EventTime, ServiceId};
use std::sync::Arc;
use std::time::Duration;

const T0: EventTime = EventTime::from_nanos(1_700_000_000_000_000_000);
const HOUR: Duration = Duration::from_secs(3600);

/// A one-off window from `start` for an hour, over `db`.
fn once(id: &str, start: EventTime) -> MaintenanceWindow {
    MaintenanceWindow {
        id: id.into(),
        scope: WindowScope::Services(vec![ServiceId::parse("db").unwrap()]),
        timing: WindowTiming::Once {
            start,
            end: start.after(HOUR),
        },
        created_by: "ops".into(),
        comment: "db upgrade".into(),
        created_at: T0,
    }
}

/// A recurring window over every service, every Sunday at 02:00 in Paris for two hours.
fn recurring(id: &str, created_at: EventTime, until: Option<EventTime>) -> MaintenanceWindow {
    MaintenanceWindow {
        id: id.into(),
        scope: WindowScope::All,
        timing: WindowTiming::Recurring {
            recurrence: Recurrence::parse("0 2 * * 0", "Europe/Paris").unwrap(),
            duration: 2 * HOUR,
            until,
        },
        created_by: "ops".into(),
        comment: "weekly patching".into(),
        created_at,
    }
}

async fn ids<S: MaintenanceStore>(store: &S) -> Vec<String> {
    store.windows().await.unwrap().into_iter().map(|w| w.id).collect()
}

pub async fn windows_are_created_replaced_listed_by_start_and_deleted<S: MaintenanceStore>(store: Arc<S>) {
    assert_eq!(store.windows().await.unwrap(), []);
    assert_eq!(store.window("w-a").await.unwrap(), None);
    let a = once("w-a", T0.after(HOUR));
    let b = once("w-b", T0.after(2 * HOUR));
    let r = recurring("w-r", T0.after(HOUR + HOUR / 2), Some(T0.after(100 * HOUR)));
    for w in [&b, &a, &r] {
        assert!(store.put_window(w).await.unwrap(), "{} is new", w.id);
    }
    assert_eq!(store.window("w-r").await.unwrap().as_ref(), Some(&r), "kept whole");
    assert_eq!(ids(store.as_ref()).await, ["w-a", "w-r", "w-b"]);

    // Ended early and moved before the others: replaced, and listed where it now starts.
    let earlier = MaintenanceWindow {
        comment: "moved".into(),
        ..once("w-b", T0)
    };
    assert!(!store.put_window(&earlier).await.unwrap(), "replaced");
    assert_eq!(store.window("w-b").await.unwrap(), Some(earlier));
    assert_eq!(ids(store.as_ref()).await, ["w-b", "w-a", "w-r"]);

    assert!(store.delete_window("w-a").await.unwrap());
    assert!(!store.delete_window("w-a").await.unwrap(), "nothing left to delete");
    assert_eq!(store.window("w-a").await.unwrap(), None);
    assert_eq!(ids(store.as_ref()).await, ["w-b", "w-r"]);
}

pub async fn windows_starting_together_are_listed_by_id<S: MaintenanceStore>(store: Arc<S>) {
    for id in ["w-3", "w-1", "w-2"] {
        store.put_window(&once(id, T0)).await.unwrap();
    }
    assert_eq!(ids(store.as_ref()).await, ["w-1", "w-2", "w-3"]);
}

pub async fn retention_removes_only_windows_that_ended_before_the_cut_off<S: MaintenanceStore>(store: Arc<S>) {
    let cut_off = T0.after(100 * HOUR);
    let windows = [
        // Ended an hour before the cut-off.
        once("ended", cut_off.before(2 * HOUR)),
        // Ends at the cut-off itself: not strictly before it.
        once("ends-at-cut-off", cut_off.before(HOUR)),
        once("ends-later", cut_off),
        // Its last occurrence begins before the cut-off, and it ended two hours later.
        recurring("recurring-ended", T0, Some(cut_off.before(3 * HOUR))),
        // Its last occurrence may begin before the cut-off but lasts past it.
        recurring("recurring-ending", T0, Some(cut_off.before(HOUR))),
        recurring("recurring-forever", T0, None),
    ];
    for w in &windows {
        store.put_window(w).await.unwrap();
    }
    assert_eq!(store.delete_windows_ended_before(cut_off).await.unwrap(), 2);
    let mut kept = ids(store.as_ref()).await;
    kept.sort();
    assert_eq!(
        kept,
        ["ends-at-cut-off", "ends-later", "recurring-ending", "recurring-forever"]
    );
    assert_eq!(
        store.delete_windows_ended_before(cut_off).await.unwrap(),
        0,
        "nothing more"
    );
    let far = cut_off.after(1_000_000 * HOUR);
    assert_eq!(store.delete_windows_ended_before(far).await.unwrap(), 3);
    assert_eq!(
        ids(store.as_ref()).await,
        ["recurring-forever"],
        "a window without an end stays"
    );
}
