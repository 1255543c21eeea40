//! What the store may forget: cleared alarms after a while, and the tombstone a removed
//! alarm leaves so that a late event older than its clear stays stale.
//!
//! An alarm is removed only while its latest version is a CLEARED at time `t`. Its other
//! registers are then older than `t` (an equal time resolves to the more severe status,
//! which would be the latest), and its delivered version is an active one older than `t`.
//! So for every sequence of later events, the state rebuilt from the tombstone alone,
//! `{cleared: t}` with nothing delivered, gives the same latest version, the same active
//! flag and the same due answer as the state that was removed:
//! - the latest version is the maximum of the registers, and the forgotten ones are all
//!   below the CLEARED at `t` that both states keep;
//! - the removed state had a CLEARED after its delivered version, so "some later event has
//!   another status" already held: it was due exactly when active, as an alarm never
//!   delivered is.
//!
//! Only the outcome label of a replayed old event may differ (a duplicate of a forgotten
//! register reads as stale). Past `RETAIN_TOMBSTONES` the tombstone goes too, and a late
//! event older than the clear can bring the alarm back as new: the documented limit.

use super::{AlarmState, EventTime, StatusRegisters};
use std::time::Duration;

/// How long what is no longer needed is kept, on the service's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// An alarm whose latest status is CLEARED is removed this long after the service
    /// applied the clear.
    pub cleared: Duration,
    /// A sent pager notification's record is removed this long after it was sent.
    pub notifications: Duration,
    /// A removed alarm's tombstone is removed this long after the alarm was.
    pub tombstones: Duration,
}

impl Retention {
    /// 30 days for cleared alarms and sent notifications, 90 days for tombstones.
    pub const DEFAULT: Retention = Retention {
        cleared: Duration::from_secs(30 * 86_400),
        notifications: Duration::from_secs(30 * 86_400),
        tombstones: Duration::from_secs(90 * 86_400),
    };

    /// The cut-offs of a sweep run at `now`, removing at most `batch` of each kind.
    pub fn sweep_at(&self, now: EventTime, batch: usize) -> Sweep {
        let before = |kept: Duration| now.before(kept).as_nanos() / 1_000_000;
        Sweep {
            cleared_before_ms: before(self.cleared),
            tombstones_before_ms: before(self.tombstones),
            notifications_before_ms: before(self.notifications),
            batch,
        }
    }
}

impl Default for Retention {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// One pass of removal: what is older than each cut-off (Unix milliseconds on the
/// service's clock) goes, at most `batch` of each kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sweep {
    /// Alarms cleared (as the service applied it) strictly before this are removed.
    pub cleared_before_ms: i64,
    /// Tombstones written strictly before this are removed.
    pub tombstones_before_ms: i64,
    /// Notification records sent strictly before this are removed.
    pub notifications_before_ms: i64,
    /// The most of each kind one pass removes, so a pass stays short.
    pub batch: usize,
}

/// What one sweep of the alarm store removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Alarms removed (each leaving a tombstone).
    pub alarms: u64,
    /// Tombstones removed.
    pub tombstones: u64,
}

impl Swept {
    /// Whether the pass was cut short by its batch, so another pass may find more.
    pub fn filled(&self, batch: usize) -> bool {
        self.alarms >= batch as u64 || self.tombstones >= batch as u64
    }
}

/// The state an alarm starts from when its tombstone says it was cleared at `cleared_at`.
pub fn state_after_tombstone(cleared_at: EventTime) -> AlarmState {
    AlarmState {
        seen: StatusRegisters {
            cleared: Some(cleared_at),
            ..StatusRegisters::default()
        },
        delivered: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ApplyOutcome, Status, Version};
    use proptest::prelude::*;

    fn v(nanos: i64, status: Status) -> Version {
        Version {
            changed_at: EventTime::from_nanos(nanos),
            status,
        }
    }

    fn status() -> impl Strategy<Value = Status> {
        prop_oneof![Just(Status::Cleared), Just(Status::Warning), Just(Status::Critical)]
    }

    /// A history that ends cleared, with some of it delivered along the way.
    fn removable_history() -> impl Strategy<Value = (Vec<(i64, Status, bool)>, i64)> {
        (
            proptest::collection::vec((0i64..50, status(), any::<bool>()), 0..8),
            50i64..60,
        )
    }

    proptest! {
        #[test]
        fn the_due_rule_gives_the_same_answer_with_and_without_a_removal(
            (before, clear_at) in removable_history(),
            after in proptest::collection::vec((0i64..100, status(), any::<bool>()), 0..8),
        ) {
            let mut kept = AlarmState::default();
            for &(t, s, deliver) in &before {
                kept.apply(v(t, s));
                if deliver && kept.is_due() {
                    kept.record_delivery(kept.latest().unwrap());
                }
            }
            kept.apply(v(clear_at, Status::Cleared));
            prop_assume!(kept.latest() == Some(v(clear_at, Status::Cleared)));
            let mut rebuilt = state_after_tombstone(EventTime::from_nanos(clear_at));
            prop_assert_eq!(kept.latest(), rebuilt.latest());
            for &(t, s, deliver) in &after {
                let (a, b) = (kept.apply(v(t, s)), rebuilt.apply(v(t, s)));
                prop_assert_eq!(a == ApplyOutcome::Applied, b == ApplyOutcome::Applied);
                prop_assert_eq!(kept.latest(), rebuilt.latest());
                prop_assert_eq!(kept.is_active(), rebuilt.is_active());
                prop_assert_eq!(kept.is_due(), rebuilt.is_due());
                if deliver && kept.is_due() {
                    let latest = kept.latest().unwrap();
                    kept.record_delivery(latest);
                    rebuilt.record_delivery(latest);
                }
            }
        }
    }

    #[test]
    fn an_event_older_than_the_clear_is_stale_after_a_removal() {
        let mut state = state_after_tombstone(EventTime::from_nanos(100));
        assert_eq!(state.apply(v(99, Status::Critical)), ApplyOutcome::Stale);
        assert!(!state.is_active());
    }

    #[test]
    fn an_event_newer_than_the_clear_starts_the_alarm_anew() {
        let mut state = state_after_tombstone(EventTime::from_nanos(100));
        assert_eq!(state.apply(v(101, Status::Warning)), ApplyOutcome::Applied);
        assert!(state.is_due());
    }

    #[test]
    fn a_sweep_cuts_off_each_kind_at_its_own_age() {
        let retention = Retention {
            cleared: Duration::from_secs(4),
            notifications: Duration::from_secs(2),
            tombstones: Duration::from_secs(10),
        };
        let sweep = retention.sweep_at(EventTime::from_nanos(20_000_000_000), 7);
        assert_eq!(sweep.cleared_before_ms, 16_000);
        assert_eq!(sweep.notifications_before_ms, 18_000);
        assert_eq!(sweep.tombstones_before_ms, 10_000);
        assert_eq!(sweep.batch, 7);
    }
}
