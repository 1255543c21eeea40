//! The stored form of maintenance windows, shared by both adapters: compact JSON text,
//! times as integer nanoseconds, durations as nanoseconds, a recurrence as the expression
//! and zone it was given.

use super::schedule::decode_recurrence;
use domain::pager::{MaintenanceWindow, WindowScope, WindowTiming};
use domain::ports::StoreError;
use domain::{EventTime, ServiceId};
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Serialize, Deserialize)]
struct StoredWindow {
    /// The services covered; absent when the window covers every service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    services: Option<Vec<String>>,
    timing: StoredTiming,
    created_by: String,
    comment: String,
    created_at: i64,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum StoredTiming {
    Once {
        start: i64,
        end: i64,
    },
    Recurring {
        expression: String,
        zone: String,
        duration_ns: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<i64>,
    },
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}").into())
}

/// Encodes a window, all but its id (the stores key it by the id).
pub fn encode_window(window: &MaintenanceWindow) -> String {
    let stored = StoredWindow {
        services: match &window.scope {
            WindowScope::All => None,
            WindowScope::Services(services) => Some(services.iter().map(|s| s.as_str().to_string()).collect()),
        },
        timing: match &window.timing {
            WindowTiming::Once { start, end } => StoredTiming::Once {
                start: start.as_nanos(),
                end: end.as_nanos(),
            },
            WindowTiming::Recurring {
                recurrence,
                duration,
                until,
            } => StoredTiming::Recurring {
                expression: recurrence.expression().to_string(),
                zone: recurrence.zone().to_string(),
                // A window lasts at most a week, far inside u64 nanoseconds.
                duration_ns: u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX),
                until: until.map(EventTime::as_nanos),
            },
        },
        created_by: window.created_by.clone(),
        comment: window.comment.clone(),
        created_at: window.created_at.as_nanos(),
    };
    serde_json::to_string(&stored).expect("a window always encodes")
}

/// Decodes the window stored under `id`.
///
/// Errors: `Corrupt` when the text is not a stored window, or a service id or the
/// recurrence in it no longer parses.
pub fn decode_window(id: &str, text: &str) -> Result<MaintenanceWindow, StoreError> {
    let stored: StoredWindow = serde_json::from_str(text).map_err(|e| corrupt("maintenance window", e))?;
    let scope = match stored.services {
        None => WindowScope::All,
        Some(ids) => WindowScope::Services(
            ids.into_iter()
                .map(|s| ServiceId::parse(s).map_err(|e| corrupt("window's service id", e)))
                .collect::<Result<_, _>>()?,
        ),
    };
    let timing = match stored.timing {
        StoredTiming::Once { start, end } => WindowTiming::Once {
            start: EventTime::from_nanos(start),
            end: EventTime::from_nanos(end),
        },
        StoredTiming::Recurring {
            expression,
            zone,
            duration_ns,
            until,
        } => WindowTiming::Recurring {
            recurrence: decode_recurrence(&expression, &zone)?,
            duration: Duration::from_nanos(duration_ns),
            until: until.map(EventTime::from_nanos),
        },
    };
    Ok(MaintenanceWindow {
        id: id.to_string(),
        scope,
        timing,
        created_by: stored.created_by,
        comment: stored.comment,
        created_at: EventTime::from_nanos(stored.created_at),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::recurrence::Recurrence;

    fn at(s: &str) -> EventTime {
        EventTime::parse_rfc3339(s).unwrap()
    }

    #[test]
    fn one_off_and_recurring_windows_survive_a_round_trip() {
        let once = MaintenanceWindow {
            id: "w1".into(),
            scope: WindowScope::Services(vec![ServiceId::parse("db").unwrap(), ServiceId::parse("web").unwrap()]),
            timing: WindowTiming::Once {
                start: at("2026-03-01T10:00:00.000000001Z"),
                end: at("2026-03-01T12:00:00Z"),
            },
            created_by: "ops".into(),
            comment: "db upgrade".into(),
            created_at: at("2026-02-28T09:00:00Z"),
        };
        assert_eq!(decode_window("w1", &encode_window(&once)).unwrap(), once);
        let recurring = MaintenanceWindow {
            id: "w2".into(),
            scope: WindowScope::All,
            timing: WindowTiming::Recurring {
                recurrence: Recurrence::parse("0 2 * * 0", "Europe/Paris").unwrap(),
                duration: Duration::from_secs(7200),
                until: Some(at("2026-06-01T00:00:00Z")),
            },
            ..once
        };
        assert_eq!(decode_window("w2", &encode_window(&recurring)).unwrap(), recurring);
    }

    #[test]
    fn text_that_is_not_a_window_is_corrupt() {
        assert!(matches!(decode_window("w", "{}"), Err(StoreError::Corrupt(_))));
    }
}
