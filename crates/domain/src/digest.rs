//! Digest contents: which alarms, in which order, and the deterministic digest id.

use super::{AlarmId, EventTime, Status, UserId, Version};
use sha2::{Digest as _, Sha256};
use std::fmt;

/// An alarm due for a user's next digest, with its latest version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DueAlarm {
    /// Which alarm.
    pub alarm_id: AlarmId,
    /// Its latest status and when it changed.
    pub version: Version,
}

impl DueAlarm {
    /// The status to report.
    pub fn status(&self) -> Status {
        self.version.status
    }

    /// When the reported status was seen.
    pub fn changed_at(&self) -> EventTime {
        self.version.changed_at
    }
}

/// Rule 4: oldest `LatestChangedAt` first, ties broken by alarm id.
pub fn sort_for_digest(alarms: &mut [DueAlarm]) {
    alarms.sort_by(|a, b| {
        a.version
            .changed_at
            .cmp(&b.version.changed_at)
            .then_with(|| a.alarm_id.cmp(&b.alarm_id))
    });
}

/// The answer to one digest request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    /// The recipient.
    pub user_id: UserId,
    /// Due alarms in digest order; empty when nothing is due.
    pub alarms: Vec<DueAlarm>,
    /// What caused it: a request, or the user's schedule.
    pub cause: crate::schedule::DigestCause,
}

impl Digest {
    /// A digest of `alarms`, put in digest order.
    pub fn new(user_id: UserId, mut alarms: Vec<DueAlarm>) -> Self {
        sort_for_digest(&mut alarms);
        Self {
            user_id,
            alarms,
            cause: crate::schedule::DigestCause::Requested,
        }
    }

    /// The same digest, caused by `cause`.
    pub fn caused_by(mut self, cause: crate::schedule::DigestCause) -> Self {
        self.cause = cause;
        self
    }

    /// A deterministic id for this content as the `epoch`-th digest of the user.
    ///
    /// Re-building the same digest after a crash between publishing and recording yields
    /// the same id, so the broker's duplicate window drops the second copy; the epoch
    /// counts recorded digests, so two empty digests in a row still differ.
    pub fn id(&self, epoch: u64) -> DigestId {
        let mut h = Sha256::new();
        h.update(self.user_id.as_str().as_bytes());
        h.update([0]);
        h.update(epoch.to_be_bytes());
        for a in &self.alarms {
            h.update(a.alarm_id.as_str().as_bytes());
            h.update([0, a.version.status.rank()]);
            h.update(a.version.changed_at.as_nanos().to_be_bytes());
        }
        let bytes = h.finalize();
        let hex: String = bytes[..16].iter().map(|b| format!("{b:02x}")).collect();
        DigestId(hex)
    }
}

/// A digest's identity, used as the broker's message id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DigestId(String);

impl DigestId {
    /// An id read back from storage.
    pub fn from_stored(id: String) -> Self {
        Self(id)
    }

    /// The id as text (32 hex digits).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DigestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn due(id: &str, nanos: i64, status: Status) -> DueAlarm {
        DueAlarm {
            alarm_id: AlarmId::parse(id).unwrap(),
            version: Version {
                changed_at: EventTime::from_nanos(nanos),
                status,
            },
        }
    }

    fn user() -> UserId {
        UserId::parse("u1").unwrap()
    }

    #[test]
    fn digest_lists_oldest_change_first_with_one_nanosecond_resolution() {
        let d = Digest::new(
            user(),
            vec![
                due("a", 3, Status::Warning),
                due("b", 1, Status::Critical),
                due("c", 2, Status::Warning),
            ],
        );
        let order: Vec<_> = d.alarms.iter().map(|a| a.alarm_id.as_str()).collect();
        assert_eq!(order, ["b", "c", "a"]);
    }

    #[test]
    fn equal_times_are_ordered_by_alarm_id() {
        let d = Digest::new(
            user(),
            vec![due("z", 5, Status::Warning), due("m", 5, Status::Critical)],
        );
        assert_eq!(d.alarms[0].alarm_id.as_str(), "m");
    }

    #[test]
    fn same_content_and_epoch_give_the_same_id() {
        let a = Digest::new(user(), vec![due("a", 1, Status::Warning), due("b", 2, Status::Warning)]);
        let b = Digest::new(user(), vec![due("b", 2, Status::Warning), due("a", 1, Status::Warning)]);
        assert_eq!(a.id(4), b.id(4));
        assert_eq!(a.id(4).as_str().len(), 32);
    }

    #[test]
    fn different_epoch_status_or_user_give_different_ids() {
        let a = Digest::new(user(), vec![due("a", 1, Status::Warning)]);
        let crit = Digest::new(user(), vec![due("a", 1, Status::Critical)]);
        let other = Digest::new(UserId::parse("u2").unwrap(), vec![due("a", 1, Status::Warning)]);
        assert_ne!(a.id(1), a.id(2));
        assert_ne!(a.id(1), crit.id(1));
        assert_ne!(a.id(1), other.id(1));
        let empty = Digest::new(user(), vec![]);
        assert_ne!(empty.id(0), empty.id(1));
    }
}
