//! One alarm's state as convergent registers, the apply rule and the due rule.
//!
//! Per alarm we keep, for each status, the greatest event time seen with that status, and
//! the greatest version delivered in a digest. Every rule is a pure function of those
//! registers, and each register only grows (a max), so applying any permutation of the same
//! events, with any duplicates, on any replica, gives the same state.

use super::{AlarmId, EventTime, Status, UserId};
use std::cmp::Ordering;

/// One status of one alarm at one event time: what a digest delivers.
///
/// Versions are ordered by event time, then by severity, so of two events with equal
/// times the more severe one is the later version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Version {
    /// When the agent saw this status.
    pub changed_at: EventTime,
    /// The status reported.
    pub status: Status,
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.changed_at
            .cmp(&other.changed_at)
            .then(self.status.cmp(&other.status))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Optional descriptive fields an agent may send; the latest ones seen are kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlarmMetadata {
    /// Human-readable alarm name.
    pub name: Option<String>,
    /// The monitored service the alarm is about.
    pub service: Option<String>,
    /// The display name of the user.
    pub user_name: Option<String>,
    /// The service's display name, when `service` is its id (an Allma alert names both).
    pub service_name: Option<String>,
    /// One line on what is wrong (an Alertmanager or Grafana alert's `summary` annotation).
    pub summary: Option<String>,
}

impl AlarmMetadata {
    /// Folds in the fields of another event: a newer event's fields win, an older one
    /// only fills fields never seen.
    pub fn merge(&mut self, other: &AlarmMetadata, other_is_newer: bool) {
        for (mine, theirs) in [
            (&mut self.name, &other.name),
            (&mut self.service, &other.service),
            (&mut self.user_name, &other.user_name),
            (&mut self.service_name, &other.service_name),
            (&mut self.summary, &other.summary),
        ] {
            if theirs.is_some() && (other_is_newer || mine.is_none()) {
                mine.clone_from(theirs);
            }
        }
    }
}

/// A validated `AlarmStatusChanged`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmEvent {
    /// Whose alarm.
    pub user_id: UserId,
    /// Which alarm.
    pub alarm_id: AlarmId,
    /// The new status and when it happened.
    pub version: Version,
    /// Optional descriptive fields.
    pub metadata: AlarmMetadata,
}

/// For each status, the greatest event time seen with that status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusRegisters {
    /// Latest CLEARED seen.
    pub cleared: Option<EventTime>,
    /// Latest WARNING seen.
    pub warning: Option<EventTime>,
    /// Latest CRITICAL seen.
    pub critical: Option<EventTime>,
}

impl StatusRegisters {
    /// The register of one status.
    pub fn get(&self, status: Status) -> Option<EventTime> {
        match status {
            Status::Cleared => self.cleared,
            Status::Warning => self.warning,
            Status::Critical => self.critical,
        }
    }

    fn slot(&mut self, status: Status) -> &mut Option<EventTime> {
        match status {
            Status::Cleared => &mut self.cleared,
            Status::Warning => &mut self.warning,
            Status::Critical => &mut self.critical,
        }
    }

    /// The greatest version seen with each status, least severe first.
    pub fn versions(&self) -> impl Iterator<Item = Version> + '_ {
        Status::ALL
            .into_iter()
            .filter_map(|status| self.get(status).map(|changed_at| Version { changed_at, status }))
    }
}

/// What applying one event did to the stored state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApplyOutcome {
    /// The event is the alarm's new latest version.
    Applied,
    /// The event is older than the latest version; it is kept only for the due rule.
    Stale,
    /// The same version was already known; nothing changed.
    Duplicate,
}

impl ApplyOutcome {
    /// Every outcome, for the metrics that expose each from the start.
    pub const ALL: [ApplyOutcome; 3] = [ApplyOutcome::Applied, ApplyOutcome::Stale, ApplyOutcome::Duplicate];

    /// A lower-case label for metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            ApplyOutcome::Applied => "applied",
            ApplyOutcome::Stale => "stale",
            ApplyOutcome::Duplicate => "duplicate",
        }
    }
}

/// Everything the rules need to know about one alarm.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AlarmState {
    /// Latest event time seen per status.
    pub seen: StatusRegisters,
    /// The greatest version ever published in a digest for this alarm.
    pub delivered: Option<Version>,
}

impl AlarmState {
    /// The state of an alarm whose first event is `version`.
    pub fn first(version: Version) -> Self {
        let mut state = Self::default();
        state.apply(version);
        state
    }

    /// Rule 1: latest wins by event time, the more severe on equal times; duplicates and
    /// older events never replace the latest version.
    pub fn apply(&mut self, version: Version) -> ApplyOutcome {
        let before = self.latest();
        let slot = self.seen.slot(version.status);
        if slot.is_some_and(|t| t >= version.changed_at) {
            return if *slot == Some(version.changed_at) {
                ApplyOutcome::Duplicate
            } else {
                ApplyOutcome::Stale
            };
        }
        *slot = Some(version.changed_at);
        match before {
            Some(latest) if latest > version => ApplyOutcome::Stale,
            _ => ApplyOutcome::Applied,
        }
    }

    /// The alarm's current status and when it changed; `None` before any event.
    pub fn latest(&self) -> Option<Version> {
        self.seen.versions().max()
    }

    /// Rule 2: the alarm is active now.
    pub fn is_active(&self) -> bool {
        self.latest().is_some_and(|v| v.status.is_active())
    }

    /// Rule 3: due for the next digest when active now and either never delivered, or some
    /// event after the delivered version has a status other than the delivered one (a
    /// change, or a clear that came back, even when the clear arrived late).
    pub fn is_due(&self) -> bool {
        if !self.is_active() {
            return false;
        }
        match self.delivered {
            None => true,
            Some(delivered) => self
                .seen
                .versions()
                .any(|seen| seen.status != delivered.status && seen > delivered),
        }
    }

    /// Rule 5: records that `version` was published; a delivery record never moves back.
    pub fn record_delivery(&mut self, version: Version) {
        if self.delivered.is_none_or(|d| version > d) {
            self.delivered = Some(version);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(nanos: i64, status: Status) -> Version {
        Version {
            changed_at: EventTime::from_nanos(nanos),
            status,
        }
    }

    use Status::{Cleared, Critical, Warning};

    #[test]
    fn out_of_order_update_never_overwrites_newer_status() {
        let mut s = AlarmState::default();
        assert_eq!(s.apply(v(20, Critical)), ApplyOutcome::Applied);
        assert_eq!(s.apply(v(10, Warning)), ApplyOutcome::Stale);
        assert_eq!(s.latest(), Some(v(20, Critical)));
    }

    #[test]
    fn duplicate_event_changes_nothing() {
        let mut s = AlarmState::first(v(10, Warning));
        let before = s;
        assert_eq!(s.apply(v(10, Warning)), ApplyOutcome::Duplicate);
        assert_eq!(s, before);
    }

    #[test]
    fn equal_times_resolve_to_the_more_severe_status_in_any_order() {
        let mut a = AlarmState::first(v(10, Warning));
        assert_eq!(a.apply(v(10, Critical)), ApplyOutcome::Applied);
        let mut b = AlarmState::first(v(10, Critical));
        assert_eq!(b.apply(v(10, Warning)), ApplyOutcome::Stale);
        assert_eq!(a.latest(), Some(v(10, Critical)));
        assert_eq!(a, b);
    }

    #[test]
    fn one_nanosecond_later_wins() {
        let mut s = AlarmState::first(v(11, Cleared));
        s.apply(v(10, Critical));
        assert_eq!(s.latest(), Some(v(11, Cleared)));
    }

    #[test]
    fn never_delivered_active_alarm_is_due() {
        assert!(AlarmState::first(v(1, Warning)).is_due());
    }

    #[test]
    fn cleared_alarm_is_not_due() {
        let mut s = AlarmState::first(v(1, Warning));
        s.apply(v(2, Cleared));
        assert!(!s.is_active());
        assert!(!s.is_due());
    }

    #[test]
    fn delivered_alarm_is_not_due_again_without_change() {
        let mut s = AlarmState::first(v(1, Warning));
        s.record_delivery(v(1, Warning));
        assert!(!s.is_due());
    }

    #[test]
    fn newer_event_with_same_status_as_delivered_is_not_resent() {
        let mut s = AlarmState::first(v(1, Warning));
        s.record_delivery(v(1, Warning));
        s.apply(v(5, Warning));
        assert!(!s.is_due());
    }

    #[test]
    fn status_change_after_delivery_is_due() {
        let mut s = AlarmState::first(v(1, Warning));
        s.record_delivery(v(1, Warning));
        s.apply(v(5, Critical));
        assert!(s.is_due());
    }

    #[test]
    fn late_cleared_between_delivery_and_newer_warning_rearms_the_alarm() {
        let mut s = AlarmState::first(v(1, Warning));
        s.record_delivery(v(1, Warning));
        s.apply(v(9, Warning));
        assert!(!s.is_due());
        assert_eq!(s.apply(v(8, Cleared)), ApplyOutcome::Stale);
        assert!(s.is_due());
        assert_eq!(s.latest(), Some(v(9, Warning)));
    }

    #[test]
    fn cleared_older_than_delivery_does_not_rearm() {
        let mut s = AlarmState::first(v(5, Warning));
        s.record_delivery(v(5, Warning));
        s.apply(v(3, Cleared));
        assert!(!s.is_due());
    }

    #[test]
    fn event_landing_while_digest_is_built_keeps_the_alarm_due() {
        let mut s = AlarmState::first(v(1, Warning));
        let read = s.latest().unwrap();
        s.apply(v(2, Cleared));
        s.apply(v(3, Warning));
        s.record_delivery(read);
        assert!(s.is_due());
    }

    #[test]
    fn delivery_record_never_moves_back() {
        let mut s = AlarmState::first(v(9, Critical));
        s.record_delivery(v(9, Critical));
        s.record_delivery(v(1, Warning));
        assert_eq!(s.delivered, Some(v(9, Critical)));
    }

    #[test]
    fn newest_metadata_wins_and_older_only_fills_gaps() {
        let mut m = AlarmMetadata {
            name: Some("old".into()),
            service: None,
            user_name: None,
            ..Default::default()
        };
        m.merge(
            &AlarmMetadata {
                name: Some("new".into()),
                service: None,
                user_name: None,
                ..Default::default()
            },
            true,
        );
        m.merge(
            &AlarmMetadata {
                name: Some("older".into()),
                service: Some("db".into()),
                user_name: None,
                ..Default::default()
            },
            false,
        );
        assert_eq!(
            m,
            AlarmMetadata {
                name: Some("new".into()),
                service: Some("db".into()),
                user_name: None,
                ..Default::default()
            }
        );
    }

    #[test]
    fn severity_rise_at_equal_time_after_delivery_is_due() {
        let mut s = AlarmState::first(v(4, Warning));
        s.record_delivery(v(4, Warning));
        s.apply(v(4, Critical));
        assert!(s.is_due());
    }
}

#[cfg(test)]
mod properties;
