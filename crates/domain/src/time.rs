//! Event time as integer nanoseconds since the Unix epoch, parsed from and written as RFC 3339.

use chrono::{DateTime, SecondsFormat, Utc};
use std::fmt;

/// An instant with nanosecond precision, as reported by the agent that saw the change.
///
/// Stored as nanoseconds since 1970-01-01T00:00:00Z, which covers the years 1677 to 2262;
/// instants outside that range are rejected when parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventTime(i64);

/// Why a timestamp could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// Not RFC 3339 (the message of the parser says where).
    #[error("is not an RFC 3339 timestamp: {0}")]
    Malformed(String),
    /// Valid RFC 3339 but outside what nanoseconds in 64 bits can hold.
    #[error("is outside the supported range 1677-09-21 to 2262-04-11")]
    OutOfRange,
}

impl EventTime {
    /// The instant `nanos` nanoseconds after the Unix epoch.
    pub const fn from_nanos(nanos: i64) -> Self {
        Self(nanos)
    }

    /// Nanoseconds since the Unix epoch.
    pub const fn as_nanos(self) -> i64 {
        self.0
    }

    /// Parses RFC 3339 with any offset and up to nine fractional digits.
    pub fn parse_rfc3339(s: &str) -> Result<Self, TimeError> {
        let parsed = DateTime::parse_from_rfc3339(s).map_err(|e| TimeError::Malformed(e.to_string()))?;
        parsed
            .with_timezone(&Utc)
            .timestamp_nanos_opt()
            .map(Self)
            .ok_or(TimeError::OutOfRange)
    }

    /// Converts a UTC instant, if it fits.
    pub fn from_datetime(dt: DateTime<Utc>) -> Result<Self, TimeError> {
        dt.timestamp_nanos_opt().map(Self).ok_or(TimeError::OutOfRange)
    }

    /// The instant as a UTC date-time.
    pub fn to_datetime(self) -> DateTime<Utc> {
        DateTime::from_timestamp_nanos(self.0)
    }

    /// RFC 3339 in UTC with `Z`, with as many fractional digits (0, 3, 6 or 9) as needed
    /// to keep every non-zero digit.
    pub fn to_rfc3339(self) -> String {
        self.to_datetime().to_rfc3339_opts(SecondsFormat::AutoSi, true)
    }

    /// The instant `duration` later, saturating at the end of the range.
    pub fn after(self, duration: std::time::Duration) -> Self {
        Self(
            self.0
                .saturating_add(i64::try_from(duration.as_nanos()).unwrap_or(i64::MAX)),
        )
    }

    /// The instant `duration` before this one, saturating at the earliest.
    pub fn before(self, duration: std::time::Duration) -> Self {
        Self(
            self.0
                .saturating_sub(i64::try_from(duration.as_nanos()).unwrap_or(i64::MAX)),
        )
    }

    /// The exact span from `earlier` to `self`, subtracted in integer nanoseconds; zero
    /// when `earlier` is later.
    pub fn duration_since(self, earlier: EventTime) -> std::time::Duration {
        let nanos = i128::from(self.0) - i128::from(earlier.0);
        u64::try_from(nanos).map_or(std::time::Duration::ZERO, std::time::Duration::from_nanos)
    }
}

impl fmt::Display for EventTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_are_exact_where_float_subtraction_is_not() {
        let opened = EventTime::from_nanos(1_700_000_000_000_000_000);
        let acked = EventTime::from_nanos(1_700_000_016_258_000_000);
        assert_eq!(acked.duration_since(opened), std::time::Duration::from_millis(16_258));
        assert_eq!(opened.duration_since(acked), std::time::Duration::ZERO);
    }

    #[test]
    fn nanosecond_timestamp_round_trips_exactly() {
        let t = EventTime::parse_rfc3339("2021-06-07T20:40:15.598765212Z").unwrap();
        assert_eq!(t.as_nanos() % 1_000_000_000, 598_765_212);
        assert_eq!(t.to_rfc3339(), "2021-06-07T20:40:15.598765212Z");
    }

    #[test]
    fn offsets_are_normalised_to_utc() {
        let t = EventTime::parse_rfc3339("2021-06-07T22:40:15.5+02:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2021-06-07T20:40:15.500Z");
    }

    #[test]
    fn whole_seconds_are_written_without_fraction() {
        let t = EventTime::parse_rfc3339("2021-06-07T20:40:15Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2021-06-07T20:40:15Z");
    }

    #[test]
    fn garbage_and_out_of_range_times_are_rejected() {
        assert!(matches!(
            EventTime::parse_rfc3339("yesterday"),
            Err(TimeError::Malformed(_))
        ));
        assert!(matches!(
            EventTime::parse_rfc3339("2021-06-07 20:40"),
            Err(TimeError::Malformed(_))
        ));
        assert_eq!(
            EventTime::parse_rfc3339("9999-01-01T00:00:00Z"),
            Err(TimeError::OutOfRange)
        );
        assert_eq!(
            EventTime::parse_rfc3339("1000-01-01T00:00:00Z"),
            Err(TimeError::OutOfRange)
        );
    }

    #[test]
    fn one_nanosecond_apart_orders_correctly() {
        let a = EventTime::parse_rfc3339("2021-06-07T20:40:15.000000001Z").unwrap();
        let b = EventTime::parse_rfc3339("2021-06-07T20:40:15.000000002Z").unwrap();
        assert!(a < b);
    }
}
