//! The stored form of digest schedules, shared by both adapters: the recurrence as the
//! expression and zone the user gave, read back through the domain's parser.

use domain::ports::StoreError;
use domain::recurrence::Recurrence;
use domain::schedule::DigestSchedule;
use domain::UserId;

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}").into())
}

/// A recurrence read back from its stored expression and zone.
///
/// Errors: `Corrupt` when they no longer parse (a zone the tz database dropped, say).
pub fn decode_recurrence(expression: &str, zone: &str) -> Result<Recurrence, StoreError> {
    Recurrence::parse(expression, zone).map_err(|e| corrupt("stored recurrence", e))
}

/// A schedule read back from its stored fields.
///
/// Errors: `Corrupt` when the user id or the recurrence does not parse.
pub fn decode_schedule(
    user: &str,
    expression: &str,
    zone: &str,
    send_empty: bool,
) -> Result<DigestSchedule, StoreError> {
    Ok(DigestSchedule {
        user_id: UserId::parse(user).map_err(|e| corrupt("schedule's user id", e))?,
        recurrence: decode_recurrence(expression, zone)?,
        send_empty,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schedule_reads_back_as_it_was_given() {
        let schedule = decode_schedule("u1", "0 9 * * 1-5", "Europe/Paris", true).unwrap();
        assert_eq!(schedule.recurrence.expression(), "0 9 * * 1-5");
        assert_eq!(schedule.recurrence.zone(), "Europe/Paris");
        assert!(schedule.send_empty);
    }

    #[test]
    fn a_zone_that_no_longer_parses_is_corrupt() {
        let err = decode_schedule("u1", "0 9 * * *", "Mars/Olympus", false).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt(_)), "{err}");
    }
}
