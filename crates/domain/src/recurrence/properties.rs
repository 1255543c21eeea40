//! Properties over many zones and years of transitions, against a reading of the zone's
//! clock minute by minute: none skipped, none doubled, each at its time or at a gap's end.

use super::*;
use chrono::{Datelike, NaiveDate, Offset};
use proptest::prelude::*;

/// Zones with every kind of change: both hemispheres, half- and quarter-hour offsets,
/// changes at midnight or across it, two-hour and 30-minute shifts, changes of law, a
/// skipped day, and none at all.
const ZONES: &[&str] = &[
    "Europe/Paris",
    "Europe/London",
    "America/New_York",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "America/St_Johns",
    "America/Havana",
    "America/Santiago",
    "America/Nuuk",
    "America/Caracas",
    "Australia/Sydney",
    "Australia/Adelaide",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Asia/Tehran",
    "Europe/Moscow",
    "Pacific/Apia",
    "Pacific/Chatham",
    "Antarctica/Troll",
    "Africa/Casablanca",
    "UTC",
];

const MINUTE: TimeDelta = TimeDelta::minutes(1);

fn utc(t: EventTime) -> DateTime<Utc> {
    t.to_datetime()
}

/// The zone's wall clock at `u`, read with the offset in force then.
fn wall(zone: Tz, u: DateTime<Utc>) -> NaiveDateTime {
    let offset = zone.offset_from_utc_datetime(&u.naive_utc()).fix();
    u.naive_utc() + TimeDelta::seconds(offset.local_minus_utc().into())
}

fn matches(recurrence: &Recurrence, w: NaiveDateTime) -> bool {
    recurrence.cron.is_time_matching(&w).unwrap()
}

/// Whether a gap of the clock from `begin` to `end` swallows `day` whole.
fn skips_whole(day: NaiveDate, begin: NaiveDateTime, end: NaiveDateTime) -> bool {
    let midnight = day.and_time(chrono::NaiveTime::MIN);
    begin <= midnight && end >= midnight + TimeDelta::days(1)
}

/// Whether a minute in `[begin, end)`, swallowed by a gap, is one the expression names on
/// a day the gap does not swallow whole.
fn swallows_a_match(recurrence: &Recurrence, begin: NaiveDateTime, end: NaiveDateTime) -> bool {
    let mut w = begin;
    while w < end {
        if matches(recurrence, w) && !skips_whole(w.date(), begin, end) {
            return true;
        }
        w += MINUTE;
    }
    false
}

/// The occurrences in `(from, to]` of an expression of whole minutes, found by reading the
/// clock at every minute (every offset change of these zones falls on a whole minute):
/// an instant fires when its wall time matches (the first time the clock shows it, or
/// every time for an every-hour expression), or when the clock jumped over a match.
fn read_minute_by_minute(recurrence: &Recurrence, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let zone = recurrence.zone;
    let every_pass = recurrence.repeated == RepeatedTime::EveryPass;
    let mut u = DateTime::from_timestamp(from.timestamp() / 60 * 60, 0).unwrap() - TimeDelta::days(2);
    let mut previous = wall(zone, u);
    let mut unreached = previous + MINUTE;
    let mut found = Vec::new();
    while u < to {
        u += MINUTE;
        let shown = wall(zone, u);
        let jump_from = if every_pass { previous + MINUTE } else { unreached };
        let fires = if every_pass || shown >= unreached {
            matches(recurrence, shown) || swallows_a_match(recurrence, jump_from, shown)
        } else {
            false
        };
        if fires && u > from && u <= to {
            found.push(u);
        }
        previous = shown;
        unreached = unreached.max(shown + MINUTE);
    }
    found
}

/// The implementation's occurrences in `(from, to]`.
fn occurrences(recurrence: &Recurrence, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Occurrence> {
    let mut found = Vec::new();
    let mut t = EventTime::from_datetime(from).unwrap();
    while let Some(next) = recurrence.next_after(t) {
        if utc(next.at) > to {
            break;
        }
        t = next.at;
        found.push(next);
    }
    found
}

/// The first offset change of `zone` after `from` within 400 days, to the minute.
fn next_change(zone: Tz, from: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let offset = |u: DateTime<Utc>| zone.offset_from_utc_datetime(&u.naive_utc()).fix();
    let before = offset(from);
    let day = (1..=400)
        .map(|d| from + TimeDelta::days(d))
        .find(|&u| offset(u) != before)?;
    let (mut lo, mut hi) = (day - TimeDelta::days(1), day);
    while hi - lo > MINUTE {
        let mid = lo + (hi - lo) / 2;
        let mid = DateTime::from_timestamp(mid.timestamp() / 60 * 60, 0).unwrap();
        if offset(mid) == before {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some(hi)
}

/// A start instant from 2000 to 2035, most of the time within a day and a half before one
/// of the zone's offset changes, with nanoseconds.
fn start() -> impl Strategy<Value = (usize, DateTime<Utc>)> {
    (
        0..ZONES.len(),
        2000i32..2035,
        0u32..365,
        prop::bool::weighted(0.8),
        0i64..2160,
        0i64..60_000_000_000,
    )
        .prop_map(|(zone, year, day, near_change, minutes_before, nanos)| {
            let tz: Tz = ZONES[zone].parse().unwrap();
            let random = NaiveDate::from_yo_opt(year, day + 1)
                .unwrap()
                .and_time(chrono::NaiveTime::MIN)
                .and_utc();
            let minute = match next_change(tz, random) {
                Some(change) if near_change => change - TimeDelta::minutes(minutes_before),
                _ => random + TimeDelta::minutes(minutes_before),
            };
            (zone, minute + TimeDelta::nanoseconds(nanos))
        })
}

/// An hour chosen often among those where zones change their offset.
fn hour() -> impl Strategy<Value = u32> {
    prop_oneof![0u32..24, prop::sample::select(vec![0u32, 1, 2, 3, 22, 23])]
}

/// Expressions of whole minutes: daily, hourly and more often, and several per day.
fn expression() -> impl Strategy<Value = String> {
    let step = prop::sample::select(vec![5u32, 10, 15, 20, 30]);
    prop_oneof![
        (0u32..60, hour()).prop_map(|(m, h)| format!("{m} {h} * * *")),
        (0u32..60, hour()).prop_map(|(m, h)| format!("{m} {h} * * 1-5")),
        (0u32..60).prop_map(|m| format!("{m} * * * *")),
        step.clone().prop_map(|n| format!("*/{n} * * * *")),
        (0u32..30, 30u32..60).prop_map(|(a, b)| format!("{a},{b} * * * *")),
        (step, hour()).prop_map(|(n, h)| format!("*/{n} {h} * * *")),
        (0u32..60, hour(), hour()).prop_map(|(m, a, b)| format!("{m} {a},{b} * * *")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn occurrences_are_exactly_those_of_the_clock_read_minute_by_minute(
        (zone, from) in start(),
        expression in expression(),
        probes in prop::collection::vec(0i64..2 * 24 * 60 * 60, 4),
    ) {
        let recurrence = Recurrence::parse(&expression, ZONES[zone]).unwrap();
        let to = from + TimeDelta::days(2);
        let expected = read_minute_by_minute(&recurrence, from, to);
        let found = occurrences(&recurrence, from, to);
        let instants: Vec<_> = found.iter().map(|o| utc(o.at)).collect();
        prop_assert_eq!(&instants, &expected, "{} in {}", expression, ZONES[zone]);
        // From any instant, the next is the first the clock gives after it.
        for seconds in probes {
            let t = from + TimeDelta::seconds(seconds);
            let first = expected.iter().find(|&&u| u > t);
            let next = recurrence.next_after(EventTime::from_datetime(t).unwrap());
            if let Some(&first) = first {
                prop_assert_eq!(next.map(|o| utc(o.at)), Some(first));
            }
        }
    }

    #[test]
    fn occurrences_increase_and_each_shows_its_time_or_the_end_of_the_gap_that_moved_it(
        (zone, from) in start(),
        expression in expression(),
    ) {
        let recurrence = Recurrence::parse(&expression, ZONES[zone]).unwrap();
        let tz = recurrence.zone;
        let found = occurrences(&recurrence, from, from + TimeDelta::days(2));
        for pair in found.windows(2) {
            prop_assert!(pair[0].at < pair[1].at, "{:?}", pair);
        }
        for occurrence in &found {
            let at = utc(occurrence.at);
            let shown = occurrence.local.naive_local();
            prop_assert_eq!(shown, wall(tz, at));
            prop_assert!(matches(&recurrence, occurrence.scheduled));
            if shown != occurrence.scheduled {
                // Moved by a gap: the clock jumped over the named time at this instant.
                let just_before = wall(tz, at - TimeDelta::seconds(1));
                prop_assert!(
                    just_before < occurrence.scheduled && occurrence.scheduled < shown,
                    "{:?} in {}", occurrence, ZONES[zone]
                );
            }
        }
    }

    #[test]
    fn a_daily_time_fires_once_for_each_local_day_at_the_first_instant_at_or_after_it(
        (zone, from) in start(),
        hour in hour(),
        minute in 0u32..60,
    ) {
        let recurrence = Recurrence::parse(&format!("{minute} {hour} * * *"), ZONES[zone]).unwrap();
        let tz = recurrence.zone;
        let to = from + TimeDelta::days(6);
        let found = occurrences(&recurrence, from, to);
        // The clock at every minute from two days before to two days after the window.
        let mut clock = Vec::new();
        let mut u = DateTime::from_timestamp(from.timestamp() / 60 * 60, 0).unwrap() - TimeDelta::days(2);
        while u < to + TimeDelta::days(2) {
            clock.push((u, wall(tz, u)));
            u += MINUTE;
        }
        // Every day shown inside the window, except the first and last, which it cuts.
        let mut days: Vec<NaiveDate> = clock
            .iter()
            .filter(|(u, _)| *u > from && *u <= to)
            .map(|(_, w)| w.date())
            .collect();
        days.sort();
        days.dedup();
        for day in &days[1..days.len() - 1] {
            let named = day.and_hms_opt(hour, minute, 0).unwrap();
            let first = clock.iter().find(|(_, w)| *w >= named).map(|(u, _)| *u);
            let fired: Vec<_> = found.iter().filter(|o| o.scheduled.date() == *day).collect();
            prop_assert_eq!(fired.len(), 1, "{} in {}: {:?}", day, ZONES[zone], fired);
            prop_assert_eq!(Some(utc(fired[0].at)), first);
        }
        // A day the clock never shows has no occurrence.
        for occurrence in &found {
            prop_assert!(clock.iter().any(|(_, w)| w.date() == occurrence.scheduled.date()));
        }
        let mut dates: Vec<_> = found.iter().map(|o| o.scheduled.date().num_days_from_ce()).collect();
        dates.dedup();
        prop_assert_eq!(dates.len(), found.len());
    }

    #[test]
    fn the_missed_occurrences_are_counted_from_the_first_to_the_last_which_is_the_latest(
        (zone, from) in start(),
        expression in expression(),
        span in 0i64..24 * 60 * 60,
    ) {
        let recurrence = Recurrence::parse(&expression, ZONES[zone]).unwrap();
        let to = from + TimeDelta::seconds(span);
        let expected = read_minute_by_minute(&recurrence, from, to);
        let missed = recurrence.missed_between(
            EventTime::from_datetime(from).unwrap(),
            EventTime::from_datetime(to).unwrap(),
        );
        prop_assert_eq!(missed.as_ref().map(|m| m.count as usize).unwrap_or(0), expected.len());
        prop_assert_eq!(missed.as_ref().map(|m| utc(m.first.at)), expected.first().copied());
        prop_assert_eq!(missed.as_ref().map(|m| utc(m.last.at)), expected.last().copied());
        if let Some(&last) = expected.last() {
            let latest = recurrence.latest_at_or_before(EventTime::from_datetime(to).unwrap());
            prop_assert_eq!(latest.map(|o| utc(o.at)), Some(last));
        }
    }
}
