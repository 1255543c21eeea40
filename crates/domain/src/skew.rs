//! The clock-skew rule: an event stamped too far ahead of the service's clock is refused,
//! as Prometheus refuses samples too far ahead; otherwise a producer with a wrong clock
//! (or a local time labelled `Z`) would pin an alarm's status until that time comes.

use super::EventTime;
use std::time::Duration;

/// Why an event with `changed_at` is refused at `now`, when it is more than `max_skew`
/// ahead: e.g. "ChangedAt is 73 years ahead of this service's clock".
pub fn ahead_of_clock(changed_at: EventTime, now: EventTime, max_skew: Duration) -> Option<String> {
    let ahead = i128::from(changed_at.as_nanos()) - i128::from(now.as_nanos());
    let ahead = u128::try_from(ahead).ok()?;
    if ahead <= max_skew.as_nanos() {
        return None;
    }
    Some(format!(
        "ChangedAt is {} ahead of this service's clock (at most {} is accepted)",
        roughly(ahead),
        roughly(max_skew.as_nanos())
    ))
}

/// The largest whole unit of a span, for a reader: "73 years", "1 day", "90 seconds" is
/// "1 minute".
fn roughly(nanos: u128) -> String {
    const SECOND: u128 = 1_000_000_000;
    const UNITS: [(u128, &str); 6] = [
        (365 * 24 * 3600 * SECOND, "year"),
        (24 * 3600 * SECOND, "day"),
        (3600 * SECOND, "hour"),
        (60 * SECOND, "minute"),
        (SECOND, "second"),
        (1_000_000, "millisecond"),
    ];
    let (size, name) = UNITS
        .iter()
        .copied()
        .find(|(size, _)| nanos >= *size)
        .unwrap_or((1, "nanosecond"));
    let count = nanos / size;
    format!("{count} {name}{}", if count == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(rfc3339: &str) -> EventTime {
        EventTime::parse_rfc3339(rfc3339).unwrap()
    }

    const FIVE_MINUTES: Duration = Duration::from_secs(300);

    #[test]
    fn an_event_73_years_ahead_is_refused_with_the_distance_named() {
        let reason = ahead_of_clock(at("2099-06-07T20:40:15Z"), at("2026-01-01T00:00:00Z"), FIVE_MINUTES);
        assert_eq!(
            reason.as_deref(),
            Some("ChangedAt is 73 years ahead of this service's clock (at most 5 minutes is accepted)")
        );
    }

    #[test]
    fn events_in_the_past_or_within_the_skew_are_accepted() {
        let now = at("2026-01-01T00:00:00Z");
        assert_eq!(ahead_of_clock(at("2021-06-07T20:40:15Z"), now, FIVE_MINUTES), None);
        assert_eq!(ahead_of_clock(now, now, FIVE_MINUTES), None);
        assert_eq!(ahead_of_clock(at("2026-01-01T00:05:00Z"), now, FIVE_MINUTES), None);
        assert!(ahead_of_clock(at("2026-01-01T00:05:00.000000001Z"), now, FIVE_MINUTES).is_some());
    }

    #[test]
    fn spans_read_in_their_largest_whole_unit() {
        assert_eq!(roughly(90 * 1_000_000_000), "1 minute");
        assert_eq!(roughly(2 * 24 * 3600 * 1_000_000_000), "2 days");
        assert_eq!(roughly(1_500_000), "1 millisecond");
        assert_eq!(roughly(7), "7 nanoseconds");
    }
}
