//! Alarm status and its severity order, the tie-breaker for events with equal times.

use std::fmt;
use std::str::FromStr;

/// The status an agent reports for an alarm.
///
/// The declaration order is the severity order: `Cleared < Warning < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    /// The alarm condition is gone.
    Cleared,
    /// The alarm is active, not yet critical.
    Warning,
    /// The alarm is active and critical.
    Critical,
}

/// A status string that is none of `CLEARED`, `WARNING`, `CRITICAL`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown status {0:?}: expected CLEARED, WARNING or CRITICAL")]
pub struct UnknownStatus(pub String);

impl Status {
    /// Every status, least severe first.
    pub const ALL: [Status; 3] = [Status::Cleared, Status::Warning, Status::Critical];

    /// Active means somebody may have to act: WARNING or CRITICAL.
    pub fn is_active(self) -> bool {
        self != Status::Cleared
    }

    /// Severity rank, 0 for CLEARED up to 2 for CRITICAL; stable, stored by adapters.
    pub fn rank(self) -> u8 {
        match self {
            Status::Cleared => 0,
            Status::Warning => 1,
            Status::Critical => 2,
        }
    }

    /// The status of a stored rank, if the rank is one of ours.
    pub fn from_rank(rank: i64) -> Option<Status> {
        match rank {
            0 => Some(Status::Cleared),
            1 => Some(Status::Warning),
            2 => Some(Status::Critical),
            _ => None,
        }
    }

    /// The wire and storage spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Cleared => "CLEARED",
            Status::Warning => "WARNING",
            Status::Critical => "CRITICAL",
        }
    }
}

impl FromStr for Status {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "CLEARED" => Ok(Status::Cleared),
            "WARNING" => Ok(Status::Warning),
            "CRITICAL" => Ok(Status::Critical),
            other => Err(UnknownStatus(other.chars().take(64).collect())),
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_orders_cleared_below_warning_below_critical() {
        assert!(Status::Cleared < Status::Warning);
        assert!(Status::Warning < Status::Critical);
    }

    #[test]
    fn only_warning_and_critical_are_active() {
        assert!(!Status::Cleared.is_active());
        assert!(Status::Warning.is_active());
        assert!(Status::Critical.is_active());
    }

    #[test]
    fn status_round_trips_through_its_spelling_and_rank() {
        for s in Status::ALL {
            assert_eq!(s.as_str().parse::<Status>(), Ok(s));
            assert_eq!(Status::from_rank(i64::from(s.rank())), Some(s));
        }
    }

    #[test]
    fn lowercase_or_unknown_status_is_rejected() {
        assert!("warning".parse::<Status>().is_err());
        assert!("OK".parse::<Status>().is_err());
        assert!("".parse::<Status>().is_err());
    }
}
