//! The daylight-saving rules on dates where they matter, zone by zone, and the parse errors.

use super::*;

fn at(rfc3339: &str) -> EventTime {
    EventTime::parse_rfc3339(rfc3339).unwrap()
}

/// The next `count` occurrences after `from`, each as "UTC instant = local time".
fn next(expression: &str, zone: &str, from: &str, count: usize) -> Vec<String> {
    Recurrence::parse(expression, zone)
        .unwrap()
        .occurrences_after(at(from), count)
        .iter()
        .map(|o| format!("{} = {}", o.at, o.local.to_rfc3339()))
        .collect()
}

#[test]
fn a_daily_time_in_the_spring_gap_fires_at_the_first_instant_after_it_in_paris() {
    assert_eq!(
        next("30 2 * * *", "Europe/Paris", "2025-03-28T12:00:00Z", 3),
        [
            "2025-03-29T01:30:00Z = 2025-03-29T02:30:00+01:00",
            "2025-03-30T01:00:00Z = 2025-03-30T03:00:00+02:00",
            "2025-03-31T00:30:00Z = 2025-03-31T02:30:00+02:00",
        ]
    );
    let moved = Recurrence::parse("30 2 * * *", "Europe/Paris")
        .unwrap()
        .next_after(at("2025-03-29T12:00:00Z"))
        .unwrap();
    assert_eq!(moved.scheduled.to_string(), "2025-03-30 02:30:00");
}

#[test]
fn a_daily_time_repeated_in_autumn_fires_once_at_the_earlier_offset_in_paris() {
    assert_eq!(
        next("30 2 * * *", "Europe/Paris", "2025-10-24T12:00:00Z", 3),
        [
            "2025-10-25T00:30:00Z = 2025-10-25T02:30:00+02:00",
            "2025-10-26T00:30:00Z = 2025-10-26T02:30:00+02:00",
            "2025-10-27T01:30:00Z = 2025-10-27T02:30:00+01:00",
        ]
    );
}

#[test]
fn every_30_minutes_fires_each_real_half_hour_of_the_repeated_hour_once() {
    assert_eq!(
        next("*/30 * * * *", "Europe/Paris", "2025-10-25T23:45:00Z", 5),
        [
            "2025-10-26T00:00:00Z = 2025-10-26T02:00:00+02:00",
            "2025-10-26T00:30:00Z = 2025-10-26T02:30:00+02:00",
            "2025-10-26T01:00:00Z = 2025-10-26T02:00:00+01:00",
            "2025-10-26T01:30:00Z = 2025-10-26T02:30:00+01:00",
            "2025-10-26T02:00:00Z = 2025-10-26T03:00:00+01:00",
        ]
    );
}

#[test]
fn every_30_minutes_asked_from_inside_the_first_pass_still_fires_the_second_pass() {
    assert_eq!(
        next("*/30 * * * *", "Europe/Paris", "2025-10-26T00:40:00Z", 2),
        [
            "2025-10-26T01:00:00Z = 2025-10-26T02:00:00+01:00",
            "2025-10-26T01:30:00Z = 2025-10-26T02:30:00+01:00",
        ]
    );
}

#[test]
fn an_hourly_schedule_fires_once_per_real_hour_when_the_clock_falls_back() {
    assert_eq!(
        next("0 * * * *", "Europe/Paris", "2025-10-25T23:30:00Z", 3),
        [
            "2025-10-26T00:00:00Z = 2025-10-26T02:00:00+02:00",
            "2025-10-26T01:00:00Z = 2025-10-26T02:00:00+01:00",
            "2025-10-26T02:00:00Z = 2025-10-26T03:00:00+01:00",
        ]
    );
}

#[test]
fn every_30_minutes_in_the_spring_gap_fires_once_at_its_end_without_a_duplicate() {
    assert_eq!(
        next("*/30 * * * *", "Europe/Paris", "2025-03-30T00:00:00Z", 3),
        [
            "2025-03-30T00:30:00Z = 2025-03-30T01:30:00+01:00",
            "2025-03-30T01:00:00Z = 2025-03-30T03:00:00+02:00",
            "2025-03-30T01:30:00Z = 2025-03-30T03:30:00+02:00",
        ]
    );
}

#[test]
fn an_hourly_time_swallowed_by_the_gap_fires_at_the_gap_end() {
    assert_eq!(
        next("15 * * * *", "Europe/Paris", "2025-03-30T00:00:00Z", 3),
        [
            "2025-03-30T00:15:00Z = 2025-03-30T01:15:00+01:00",
            "2025-03-30T01:00:00Z = 2025-03-30T03:00:00+02:00",
            "2025-03-30T01:15:00Z = 2025-03-30T03:15:00+02:00",
        ]
    );
}

#[test]
fn times_naming_a_repeated_hour_fire_on_its_first_pass_only() {
    assert_eq!(
        next("*/30 2 * * *", "Europe/Paris", "2025-10-25T23:00:00Z", 3),
        [
            "2025-10-26T00:00:00Z = 2025-10-26T02:00:00+02:00",
            "2025-10-26T00:30:00Z = 2025-10-26T02:30:00+02:00",
            "2025-10-27T01:00:00Z = 2025-10-27T02:00:00+01:00",
        ]
    );
}

#[test]
fn a_twice_daily_schedule_neither_skips_nor_doubles_its_time_in_the_gap_or_the_repeat() {
    assert_eq!(
        next("0 2,14 * * *", "Europe/Paris", "2025-03-29T12:00:00Z", 3),
        [
            "2025-03-29T13:00:00Z = 2025-03-29T14:00:00+01:00",
            "2025-03-30T01:00:00Z = 2025-03-30T03:00:00+02:00",
            "2025-03-30T12:00:00Z = 2025-03-30T14:00:00+02:00",
        ]
    );
    assert_eq!(
        next("0 2,14 * * *", "Europe/Paris", "2025-10-25T12:30:00Z", 3),
        [
            "2025-10-26T00:00:00Z = 2025-10-26T02:00:00+02:00",
            "2025-10-26T13:00:00Z = 2025-10-26T14:00:00+01:00",
            "2025-10-27T01:00:00Z = 2025-10-27T02:00:00+01:00",
        ]
    );
}

#[test]
fn new_york_fires_the_skipped_2am_at_3am_and_the_repeated_130am_once() {
    assert_eq!(
        next("0 2 * * *", "America/New_York", "2025-03-08T00:00:00Z", 3),
        [
            "2025-03-08T07:00:00Z = 2025-03-08T02:00:00-05:00",
            "2025-03-09T07:00:00Z = 2025-03-09T03:00:00-04:00",
            "2025-03-10T06:00:00Z = 2025-03-10T02:00:00-04:00",
        ]
    );
    assert_eq!(
        next("30 1 * * *", "America/New_York", "2025-11-01T00:00:00Z", 3),
        [
            "2025-11-01T05:30:00Z = 2025-11-01T01:30:00-04:00",
            "2025-11-02T05:30:00Z = 2025-11-02T01:30:00-04:00",
            "2025-11-03T06:30:00Z = 2025-11-03T01:30:00-05:00",
        ]
    );
}

#[test]
fn sydney_repeats_an_hour_in_april_and_skips_one_in_october() {
    assert_eq!(
        next("30 2 * * *", "Australia/Sydney", "2025-04-04T00:00:00Z", 3),
        [
            "2025-04-04T15:30:00Z = 2025-04-05T02:30:00+11:00",
            "2025-04-05T15:30:00Z = 2025-04-06T02:30:00+11:00",
            "2025-04-06T16:30:00Z = 2025-04-07T02:30:00+10:00",
        ]
    );
    assert_eq!(
        next("30 2 * * *", "Australia/Sydney", "2025-10-03T00:00:00Z", 3),
        [
            "2025-10-03T16:30:00Z = 2025-10-04T02:30:00+10:00",
            "2025-10-04T16:00:00Z = 2025-10-05T03:00:00+11:00",
            "2025-10-05T15:30:00Z = 2025-10-06T02:30:00+11:00",
        ]
    );
}

#[test]
fn kolkata_keeps_its_half_hour_offset_all_year() {
    for from in ["2025-03-29T00:00:00Z", "2025-10-25T00:00:00Z"] {
        let day = &from[..10];
        assert_eq!(
            next("0 9 * * *", "Asia/Kolkata", from, 1),
            [format!("{day}T03:30:00Z = {day}T09:00:00+05:30")]
        );
    }
}

#[test]
fn adelaide_moves_between_half_hour_offsets_and_fires_the_gap_time_at_its_end() {
    assert_eq!(
        next("30 2 * * *", "Australia/Adelaide", "2025-10-03T00:00:00Z", 3),
        [
            "2025-10-03T17:00:00Z = 2025-10-04T02:30:00+09:30",
            "2025-10-04T16:30:00Z = 2025-10-05T03:00:00+10:30",
            "2025-10-05T16:00:00Z = 2025-10-06T02:30:00+10:30",
        ]
    );
}

#[test]
fn moscow_fires_once_a_day_through_its_changes_of_law_in_2011_and_2014() {
    // 2011: the last spring-forward, then no fall back that autumn.
    assert_eq!(
        next("30 2 * * *", "Europe/Moscow", "2011-03-25T12:00:00Z", 3),
        [
            "2011-03-25T23:30:00Z = 2011-03-26T02:30:00+03:00",
            "2011-03-26T23:00:00Z = 2011-03-27T03:00:00+04:00",
            "2011-03-27T22:30:00Z = 2011-03-28T02:30:00+04:00",
        ]
    );
    assert_eq!(
        next("30 2 * * *", "Europe/Moscow", "2011-10-29T12:00:00Z", 2),
        [
            "2011-10-29T22:30:00Z = 2011-10-30T02:30:00+04:00",
            "2011-10-30T22:30:00Z = 2011-10-31T02:30:00+04:00",
        ]
    );
    // 2014: back to +03, the hour from 01:00 repeated.
    assert_eq!(
        next("30 1 * * *", "Europe/Moscow", "2014-10-24T12:00:00Z", 3),
        [
            "2014-10-24T21:30:00Z = 2014-10-25T01:30:00+04:00",
            "2014-10-25T21:30:00Z = 2014-10-26T01:30:00+04:00",
            "2014-10-26T22:30:00Z = 2014-10-27T01:30:00+03:00",
        ]
    );
}

#[test]
fn caracas_fires_once_a_day_across_its_half_hour_changes_of_2007_and_2016() {
    assert_eq!(
        next("45 2 * * *", "America/Caracas", "2007-12-08T00:00:00Z", 3),
        [
            "2007-12-08T06:45:00Z = 2007-12-08T02:45:00-04:00",
            "2007-12-09T06:45:00Z = 2007-12-09T02:45:00-04:00",
            "2007-12-10T07:15:00Z = 2007-12-10T02:45:00-04:30",
        ]
    );
    assert_eq!(
        next("45 2 * * *", "America/Caracas", "2016-04-30T00:00:00Z", 3),
        [
            "2016-04-30T07:15:00Z = 2016-04-30T02:45:00-04:30",
            "2016-05-01T07:00:00Z = 2016-05-01T03:00:00-04:00",
            "2016-05-02T06:45:00Z = 2016-05-02T02:45:00-04:00",
        ]
    );
}

#[test]
fn apia_skips_the_day_it_skipped_and_never_fires_twice_in_a_day() {
    assert_eq!(
        next("0 9 * * *", "Pacific/Apia", "2011-12-28T20:00:00Z", 3),
        [
            "2011-12-29T19:00:00Z = 2011-12-29T09:00:00-10:00",
            "2011-12-30T19:00:00Z = 2011-12-31T09:00:00+14:00",
            "2011-12-31T19:00:00Z = 2012-01-01T09:00:00+14:00",
        ]
    );
    assert_eq!(
        next("*/30 * * * *", "Pacific/Apia", "2011-12-30T09:15:00Z", 2),
        [
            "2011-12-30T09:30:00Z = 2011-12-29T23:30:00-10:00",
            "2011-12-30T10:00:00Z = 2011-12-31T00:00:00+14:00",
        ]
    );
}

#[test]
fn a_time_swallowed_at_the_end_of_the_day_fires_at_the_first_instant_of_the_next_day() {
    // Nuuk springs forward at 23:00 on Saturday, straight to Sunday 00:00.
    assert_eq!(
        next("30 23 * * *", "America/Nuuk", "2025-03-28T12:00:00Z", 3),
        [
            "2025-03-29T01:30:00Z = 2025-03-28T23:30:00-02:00",
            "2025-03-30T01:00:00Z = 2025-03-30T00:00:00-01:00",
            "2025-03-31T00:30:00Z = 2025-03-30T23:30:00-01:00",
        ]
    );
}

#[test]
fn a_time_with_seconds_in_the_gap_fires_at_the_gap_end() {
    let recurrence = Recurrence::parse("30 30 2 * * *", "Europe/Paris").unwrap();
    let moved = recurrence.next_after(at("2025-03-29T12:00:00Z")).unwrap();
    assert_eq!(moved.at, at("2025-03-30T01:00:00Z"));
    assert_eq!(moved.scheduled.to_string(), "2025-03-30 02:30:30");
}

#[test]
fn weekday_mornings_are_shown_in_utc_and_in_local_time_with_the_offset() {
    assert_eq!(
        next("0 9 * * MON-FRI", "Europe/Paris", "2025-03-28T12:00:00Z", 3),
        [
            "2025-03-31T07:00:00Z = 2025-03-31T09:00:00+02:00",
            "2025-04-01T07:00:00Z = 2025-04-01T09:00:00+02:00",
            "2025-04-02T07:00:00Z = 2025-04-02T09:00:00+02:00",
        ]
    );
}

#[test]
fn the_next_occurrence_is_strictly_after_the_instant_asked_to_the_nanosecond() {
    let recurrence = Recurrence::parse("0 9 * * *", "Europe/Paris").unwrap();
    let nine = at("2025-06-02T07:00:00Z");
    let just_before = EventTime::from_nanos(nine.as_nanos() - 1);
    assert_eq!(recurrence.next_after(just_before).unwrap().at, nine);
    assert_eq!(recurrence.next_after(nine).unwrap().at, at("2025-06-03T07:00:00Z"));
}

#[test]
fn nothing_is_found_past_the_end_of_event_time() {
    let recurrence = Recurrence::parse("0 9 * * *", "UTC").unwrap();
    assert_eq!(recurrence.next_after(at("2262-04-11T12:00:00Z")), None);
}

#[test]
fn a_timer_back_after_an_outage_learns_how_many_it_missed_and_how_late_it_is() {
    let recurrence = Recurrence::parse("0 9 * * *", "Europe/Paris").unwrap();
    let fired = at("2025-03-28T08:00:00Z");
    let now = at("2025-03-31T10:00:00Z");
    let missed = recurrence.missed_between(fired, now).unwrap();
    assert_eq!(missed.count, 3);
    assert_eq!(missed.first.at, at("2025-03-29T08:00:00Z"));
    assert_eq!(missed.last.at, at("2025-03-31T07:00:00Z"));
    assert_eq!(missed.late_by(now), std::time::Duration::from_secs(50 * 3600));
    assert_eq!(recurrence.missed_between(fired, at("2025-03-29T07:59:59Z")), None);
}

#[test]
fn the_latest_occurrence_at_or_before_an_instant_is_found_however_far_back() {
    let weekly = Recurrence::parse("0 2 * * SUN", "Europe/Paris").unwrap();
    let sunday = at("2025-03-30T01:00:00Z"); // 02:00 swallowed by the gap: 03:00 local
    assert_eq!(weekly.latest_at_or_before(sunday).unwrap().at, sunday);
    assert_eq!(
        weekly.latest_at_or_before(at("2025-04-05T12:00:00Z")).unwrap().at,
        sunday
    );
    let leap_day = Recurrence::parse("0 0 29 2 *", "UTC").unwrap();
    assert_eq!(
        leap_day.latest_at_or_before(at("2103-01-01T00:00:00Z")).unwrap().at,
        at("2096-02-29T00:00:00Z")
    );
}

#[test]
fn an_unknown_zone_is_refused_naming_the_zone() {
    let error = Recurrence::parse("0 9 * * *", "Europe/Pariss").unwrap_err();
    assert_eq!(error, RecurrenceError::Zone("Europe/Pariss".to_owned()));
    assert_eq!(error.field(), "zone");
    assert_eq!(error.to_string(), "Europe/Pariss is not an IANA time zone");
}

#[test]
fn a_bad_expression_is_refused_naming_the_expression_and_the_parser_reason() {
    for bad in ["0 25 * * *", "* * *", "0 0 9 * * 1 2025", "", "0/5 * * * *"] {
        let error = Recurrence::parse(bad, "Europe/Paris").unwrap_err();
        assert_eq!(error.field(), "expression", "{bad:?}");
        let RecurrenceError::Expression { expression, reason } = &error else {
            panic!("{bad:?}: {error}")
        };
        assert_eq!(expression, bad);
        assert!(!reason.is_empty());
        assert!(error.to_string().contains(bad), "{error}");
    }
}

#[test]
fn an_expression_that_matches_no_date_is_refused() {
    let error = Recurrence::parse("0 0 30 2 *", "UTC").unwrap_err();
    assert_eq!(error.field(), "expression");
    assert!(error.to_string().ends_with("it matches no date"), "{error}");
}

#[test]
fn the_texts_are_kept_as_given_for_display() {
    let recurrence = Recurrence::parse("0 9 * * MON-FRI", "Europe/Paris").unwrap();
    assert_eq!(recurrence.expression(), "0 9 * * MON-FRI");
    assert_eq!(recurrence.zone(), "Europe/Paris");
    assert_eq!(recurrence.to_string(), "0 9 * * MON-FRI in Europe/Paris");
}
