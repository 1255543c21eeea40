//! Why an alarm is in a user's next digest: the explanation the digest preview shows.

use super::{AlarmState, Status, Version};

/// Why a due alarm is in the next digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// No digest has delivered this alarm yet.
    NeverDelivered,
    /// A status other than the delivered one was seen after the delivered version, and the
    /// alarm did not clear in between.
    ChangedSinceDelivered {
        /// The version a digest last delivered.
        delivered: Version,
    },
    /// The alarm cleared after the delivered version and is active again (even when the
    /// clear arrived late, behind a newer event).
    ClearedAndCameBack {
        /// The version a digest last delivered.
        delivered: Version,
    },
}

impl Reason {
    /// Why `state` is due for the next digest; `None` when it is not due. Agrees with
    /// [`AlarmState::is_due`] by construction: it is only asked once that holds.
    pub fn of(state: &AlarmState) -> Option<Reason> {
        if !state.is_due() {
            return None;
        }
        let Some(delivered) = state.delivered else {
            return Some(Reason::NeverDelivered);
        };
        let cleared_since = state.seen.cleared.is_some_and(|changed_at| {
            Version {
                changed_at,
                status: Status::Cleared,
            } > delivered
        });
        Some(if cleared_since {
            Reason::ClearedAndCameBack { delivered }
        } else {
            Reason::ChangedSinceDelivered { delivered }
        })
    }

    /// The reason's name, as the API and the console show it.
    pub fn as_str(&self) -> &'static str {
        match self {
            Reason::NeverDelivered => "NeverDelivered",
            Reason::ChangedSinceDelivered { .. } => "ChangedSinceDelivered",
            Reason::ClearedAndCameBack { .. } => "ClearedAndCameBack",
        }
    }

    /// The version last delivered, when there is one.
    pub fn delivered(&self) -> Option<Version> {
        match self {
            Reason::NeverDelivered => None,
            Reason::ChangedSinceDelivered { delivered } | Reason::ClearedAndCameBack { delivered } => Some(*delivered),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EventTime;
    use Status::{Cleared, Critical, Warning};

    fn v(nanos: i64, status: Status) -> Version {
        Version {
            changed_at: EventTime::from_nanos(nanos),
            status,
        }
    }

    fn delivered(first: Version) -> AlarmState {
        let mut s = AlarmState::first(first);
        s.record_delivery(first);
        s
    }

    #[test]
    fn an_active_alarm_never_delivered_is_in_for_that_reason() {
        assert_eq!(
            Reason::of(&AlarmState::first(v(1, Warning))),
            Some(Reason::NeverDelivered)
        );
    }

    #[test]
    fn an_alarm_that_is_not_due_has_no_reason() {
        assert_eq!(Reason::of(&delivered(v(1, Warning))), None);
        let mut cleared = AlarmState::first(v(1, Warning));
        cleared.apply(v(2, Cleared));
        assert_eq!(Reason::of(&cleared), None);
    }

    #[test]
    fn a_rise_to_critical_after_delivery_is_a_change_naming_the_delivered_version() {
        let mut s = delivered(v(1, Warning));
        s.apply(v(5, Critical));
        assert_eq!(
            Reason::of(&s),
            Some(Reason::ChangedSinceDelivered {
                delivered: v(1, Warning)
            })
        );
    }

    #[test]
    fn a_clear_after_delivery_then_the_same_status_again_is_cleared_and_came_back() {
        let mut s = delivered(v(1, Warning));
        s.apply(v(2, Cleared));
        s.apply(v(3, Warning));
        assert_eq!(
            Reason::of(&s),
            Some(Reason::ClearedAndCameBack {
                delivered: v(1, Warning)
            })
        );
    }

    #[test]
    fn a_late_clear_behind_a_newer_warning_still_counts_as_cleared_and_came_back() {
        let mut s = delivered(v(1, Warning));
        s.apply(v(9, Warning));
        s.apply(v(8, Cleared));
        assert_eq!(
            Reason::of(&s),
            Some(Reason::ClearedAndCameBack {
                delivered: v(1, Warning)
            })
        );
    }

    #[test]
    fn a_clear_older_than_the_delivered_version_does_not_count() {
        let mut s = delivered(v(5, Warning));
        s.apply(v(3, Cleared));
        s.apply(v(7, Critical));
        assert_eq!(
            Reason::of(&s),
            Some(Reason::ChangedSinceDelivered {
                delivered: v(5, Warning)
            })
        );
    }

    #[test]
    fn every_due_state_has_a_reason_and_no_other_state_has_one() {
        let statuses = [Cleared, Warning, Critical];
        for a in statuses {
            for b in statuses {
                for c in statuses {
                    let mut s = delivered(v(2, a));
                    s.apply(v(1, b));
                    s.apply(v(3, c));
                    assert_eq!(Reason::of(&s).is_some(), s.is_due(), "{a:?} {b:?} {c:?}");
                }
            }
        }
    }
}
