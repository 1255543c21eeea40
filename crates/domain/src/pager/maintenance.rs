//! Maintenance windows: spans of time, once or recurring in a time zone, during which the
//! pager holds the incidents of the services a window covers instead of paging, and pages
//! them when it ends; and the port that keeps them.

use crate::ports::StoreError;
use crate::recurrence::Recurrence;
use crate::{EventTime, ServiceId};
use async_trait::async_trait;
use std::time::Duration;

/// The longest a window (or one occurrence of a recurring one) may last: a forgotten
/// window that hides real alerts is what users of other pagers complain of most.
pub const MAX_WINDOW: Duration = Duration::from_secs(7 * 24 * 3600);

/// Which services a window covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WindowScope {
    /// Every service.
    All,
    /// These services.
    Services(Vec<ServiceId>),
}

/// When a window holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WindowTiming {
    /// From `start` until `end`.
    Once {
        /// When it begins.
        start: EventTime,
        /// When it ends (exclusive).
        end: EventTime,
    },
    /// For `duration` from each occurrence of `recurrence`, optionally until `until`.
    Recurring {
        /// When each occurrence begins, in its zone.
        recurrence: Recurrence,
        /// How long each lasts.
        duration: Duration,
        /// No occurrence begins after this.
        until: Option<EventTime>,
    },
}

/// A maintenance window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaintenanceWindow {
    /// Its id.
    pub id: String,
    /// The services it covers.
    pub scope: WindowScope,
    /// When it holds.
    pub timing: WindowTiming,
    /// Who made it.
    pub created_by: String,
    /// Why.
    pub comment: String,
    /// When it was made.
    pub created_at: EventTime,
}

/// Why a window is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    /// It ends before it starts, or at once.
    #[error("end must be after start")]
    EndsBeforeStart,
    /// It (or each occurrence) lasts longer than [`MAX_WINDOW`].
    #[error("a window lasts at most 7 days; open-ended windows are refused")]
    TooLong,
    /// A recurring window needs a positive duration.
    #[error("duration must be positive")]
    NoDuration,
    /// An explicit list of services is empty.
    #[error("services must name at least one service, or be \"all\"")]
    NoServices,
}

impl MaintenanceWindow {
    /// Checks what a window must be: bounded, ending after it starts, covering something.
    pub fn validate(&self) -> Result<(), WindowError> {
        if matches!(&self.scope, WindowScope::Services(s) if s.is_empty()) {
            return Err(WindowError::NoServices);
        }
        match &self.timing {
            WindowTiming::Once { start, end } => {
                if end <= start {
                    return Err(WindowError::EndsBeforeStart);
                }
                if end.as_nanos() - start.as_nanos() > MAX_WINDOW.as_nanos() as i64 {
                    return Err(WindowError::TooLong);
                }
            }
            WindowTiming::Recurring { duration, .. } => {
                if duration.is_zero() {
                    return Err(WindowError::NoDuration);
                }
                if *duration > MAX_WINDOW {
                    return Err(WindowError::TooLong);
                }
            }
        }
        Ok(())
    }

    /// Whether it covers `service`.
    pub fn covers(&self, service: &ServiceId) -> bool {
        match &self.scope {
            WindowScope::All => true,
            WindowScope::Services(services) => services.contains(service),
        }
    }

    /// When it stops holding, if it holds at `t`: the end of the span `t` falls in.
    pub fn holds_until(&self, t: EventTime) -> Option<EventTime> {
        match &self.timing {
            WindowTiming::Once { start, end } => (*start <= t && t < *end).then_some(*end),
            WindowTiming::Recurring {
                recurrence,
                duration,
                until,
            } => {
                // The latest occurrence that began at or before t, if its span covers t.
                let began = recurrence.latest_at_or_before(t)?.at;
                if until.is_some_and(|u| began > u) {
                    return None;
                }
                let end = began.after(*duration);
                (t < end).then_some(end)
            }
        }
    }

    /// The next span that begins after `t`: its start and end.
    pub fn next_span_after(&self, t: EventTime) -> Option<(EventTime, EventTime)> {
        match &self.timing {
            WindowTiming::Once { start, end } => (*start > t).then_some((*start, *end)),
            WindowTiming::Recurring {
                recurrence,
                duration,
                until,
            } => {
                let next = recurrence.next_after(t)?.at;
                (until.is_none_or(|u| next <= u)).then(|| (next, next.after(*duration)))
            }
        }
    }

    /// Whether it will never hold again after `t` (for retention).
    pub fn over_by(&self, t: EventTime) -> bool {
        self.final_end().is_some_and(|end| end <= t)
    }

    /// When it stops holding for good: a one-off window's end; for a recurring one, the
    /// end of an occurrence beginning at its `until` (the latest any can end), or `None`
    /// when it has no `until` and so never ends. Stores keep it to remove past windows.
    pub fn final_end(&self) -> Option<EventTime> {
        match &self.timing {
            WindowTiming::Once { end, .. } => Some(*end),
            WindowTiming::Recurring { until, duration, .. } => until.map(|u| u.after(*duration)),
        }
    }

    /// Where it sorts in a list of windows: a one-off window's start; a recurring one's
    /// creation, as its occurrences have no first one to name.
    pub fn listed_at(&self) -> EventTime {
        match &self.timing {
            WindowTiming::Once { start, .. } => *start,
            WindowTiming::Recurring { .. } => self.created_at,
        }
    }
}

/// When the maintenance of `service` ends, if any window in `windows` holds it at `t`: the
/// latest end among them, so overlapping windows hold until the last one ends.
pub fn maintenance_until(windows: &[MaintenanceWindow], service: &ServiceId, t: EventTime) -> Option<EventTime> {
    windows
        .iter()
        .filter(|w| w.covers(service))
        .filter_map(|w| w.holds_until(t))
        .max()
}

/// Where maintenance windows live. There are few: each call reads or writes them whole.
#[async_trait]
pub trait MaintenanceStore: Send + Sync {
    /// Stores a new window, or replaces the one with its id; `true` when it was new.
    async fn put_window(&self, window: &MaintenanceWindow) -> Result<bool, StoreError>;
    /// One window.
    async fn window(&self, id: &str) -> Result<Option<MaintenanceWindow>, StoreError>;
    /// Every window kept, by start.
    async fn windows(&self) -> Result<Vec<MaintenanceWindow>, StoreError>;
    /// Removes a window; `false` when there was none.
    async fn delete_window(&self, id: &str) -> Result<bool, StoreError>;

    /// Removes the windows that ended for good ([`MaintenanceWindow::final_end`]) strictly
    /// before `before`; how many. A recurring window without `until` never ends, so it is
    /// never removed. Past windows are kept until then for audit.
    ///
    /// The default reads every window and deletes the ended ones one by one, through the
    /// other methods; stores override it with one indexed delete.
    ///
    /// Errors: `Unavailable` when the store could not be reached.
    async fn delete_windows_ended_before(&self, before: EventTime) -> Result<u64, StoreError> {
        let mut removed = 0;
        for window in self.windows().await? {
            if window.final_end().is_some_and(|end| end < before) && self.delete_window(&window.id).await? {
                removed += 1;
            }
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> EventTime {
        EventTime::parse_rfc3339(s).unwrap()
    }

    fn once(start: &str, end: &str, scope: WindowScope) -> MaintenanceWindow {
        MaintenanceWindow {
            id: "w1".into(),
            scope,
            timing: WindowTiming::Once {
                start: at(start),
                end: at(end),
            },
            created_by: "ops".into(),
            comment: "db upgrade".into(),
            created_at: at(start),
        }
    }

    #[test]
    fn a_window_holds_from_its_start_until_just_before_its_end() {
        let w = once("2026-03-01T10:00:00Z", "2026-03-01T12:00:00Z", WindowScope::All);
        assert_eq!(w.holds_until(at("2026-03-01T09:59:59Z")), None);
        assert_eq!(
            w.holds_until(at("2026-03-01T10:00:00Z")),
            Some(at("2026-03-01T12:00:00Z"))
        );
        assert_eq!(w.holds_until(at("2026-03-01T12:00:00Z")), None);
    }

    #[test]
    fn a_recurring_window_holds_for_its_duration_from_each_local_occurrence() {
        let w = MaintenanceWindow {
            timing: WindowTiming::Recurring {
                recurrence: Recurrence::parse("0 2 * * 0", "Europe/Paris").unwrap(),
                duration: Duration::from_secs(7200),
                until: None,
            },
            ..once("2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z", WindowScope::All)
        };
        // Sunday 2026-01-04, 02:00 Paris is 01:00 UTC.
        assert_eq!(
            w.holds_until(at("2026-01-04T01:30:00Z")),
            Some(at("2026-01-04T03:00:00Z"))
        );
        assert_eq!(w.holds_until(at("2026-01-04T03:00:00Z")), None);
        assert_eq!(
            w.next_span_after(at("2026-01-04T03:00:00Z")),
            Some((at("2026-01-11T01:00:00Z"), at("2026-01-11T03:00:00Z")))
        );
    }

    #[test]
    fn open_ended_empty_or_backwards_windows_are_refused() {
        let long = once("2026-03-01T00:00:00Z", "2026-03-09T00:00:01Z", WindowScope::All);
        assert_eq!(long.validate(), Err(WindowError::TooLong));
        let backwards = once("2026-03-01T10:00:00Z", "2026-03-01T10:00:00Z", WindowScope::All);
        assert_eq!(backwards.validate(), Err(WindowError::EndsBeforeStart));
        let empty = once(
            "2026-03-01T10:00:00Z",
            "2026-03-01T11:00:00Z",
            WindowScope::Services(vec![]),
        );
        assert_eq!(empty.validate(), Err(WindowError::NoServices));
    }

    #[test]
    fn a_window_ends_for_good_at_its_end_or_after_its_last_occurrence_and_never_without_until() {
        let w = once("2026-03-01T10:00:00Z", "2026-03-01T12:00:00Z", WindowScope::All);
        assert_eq!(w.final_end(), Some(at("2026-03-01T12:00:00Z")));
        assert!(!w.over_by(at("2026-03-01T11:59:59Z")));
        assert!(w.over_by(at("2026-03-01T12:00:00Z")));
        let recurring = |until: Option<EventTime>| MaintenanceWindow {
            timing: WindowTiming::Recurring {
                recurrence: Recurrence::parse("0 2 * * 0", "Europe/Paris").unwrap(),
                duration: Duration::from_secs(7200),
                until,
            },
            ..w.clone()
        };
        assert_eq!(
            recurring(Some(at("2026-04-05T00:00:00Z"))).final_end(),
            Some(at("2026-04-05T02:00:00Z"))
        );
        assert_eq!(recurring(None).final_end(), None);
        assert!(!recurring(None).over_by(at("2100-01-01T00:00:00Z")));
    }

    #[test]
    fn overlapping_windows_hold_a_service_until_the_last_one_ends() {
        let db = ServiceId::parse("db").unwrap();
        let web = ServiceId::parse("web").unwrap();
        let windows = vec![
            once(
                "2026-03-01T10:00:00Z",
                "2026-03-01T11:00:00Z",
                WindowScope::Services(vec![db.clone()]),
            ),
            MaintenanceWindow {
                id: "w2".into(),
                ..once("2026-03-01T10:30:00Z", "2026-03-01T12:00:00Z", WindowScope::All)
            },
        ];
        assert_eq!(
            maintenance_until(&windows, &db, at("2026-03-01T10:45:00Z")),
            Some(at("2026-03-01T12:00:00Z"))
        );
        assert_eq!(maintenance_until(&windows, &web, at("2026-03-01T10:15:00Z")), None);
    }
}
