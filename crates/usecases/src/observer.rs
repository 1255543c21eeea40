//! What the use cases report of what they did, for whoever counts it: the metrics of the
//! composition root implement [`Observer`]; the adapters never count a use case's outcome.

use crate::pager::PagerReport;
use crate::retention::SweepReport;
use std::sync::Arc;
use std::time::Duration;

/// Told of each outcome as it happens; every method does nothing unless implemented.
pub trait Observer: Send + Sync {
    /// A batch of `events` was committed (applied, stale or duplicate) in `took`.
    fn events_applied(&self, events: usize, took: Duration) {
        let _ = (events, took);
    }

    /// A digest of `alarms` alarms was published and recorded in `took`, after waiting
    /// `claim_wait` for the user's claim.
    fn digest_sent(&self, alarms: usize, took: Duration, claim_wait: Duration) {
        let _ = (alarms, took, claim_wait);
    }

    /// The pager handled an alert, an acknowledgement, a recovery or a timeout.
    fn paged(&self, report: &PagerReport) {
        let _ = report;
    }

    /// A retention sweep finished.
    fn swept(&self, report: &SweepReport) {
        let _ = report;
    }

    /// A schedule's occurrence fired `late_by` after it was due, standing for
    /// `occurrences` occurrences (more than one when they were missed).
    fn schedule_fired(&self, late_by: Duration, occurrences: u64) {
        let _ = (late_by, occurrences);
    }

    /// The pager read the maintenance windows: `active` hold now.
    fn maintenance_windows(&self, active: usize) {
        let _ = active;
    }
}

/// Counts nothing: the observer of use cases built without one (tests, tools).
pub struct Unobserved;

impl Observer for Unobserved {}

/// The observer a use case starts with.
pub fn unobserved() -> Arc<dyn Observer> {
    Arc::new(Unobserved)
}
