//! Recurrence in a time zone: a cron expression read on the wall clock of an IANA zone,
//! giving occurrences as UTC instants; digest schedules and maintenance windows share it.
//!
//! Where a zone changes its offset (daylight saving, or a change of law) the rules are:
//! - a local time the clock jumps over fires at the first instant after the jump, once,
//!   however many of the expression's times the jump swallowed;
//! - a calendar day the clock skips whole (Pacific/Apia, 2011-12-30) has no occurrence;
//! - a local time that happens twice fires once, on its first pass (the earlier offset),
//!   unless the expression runs every hour of the day: then it fires on both passes, each
//!   distinct UTC instant once, so "hourly" or "every 30 minutes" keeps its pace through
//!   the repeated hour instead of pausing for it.
//!
//! So a daily schedule fires exactly once for every local day that exists, never twice.
//! The times are found on the naive wall clock by croner and mapped to UTC here with the
//! tz database (chrono-tz), because croner's own zone handling decides by the shape of the
//! time fields: it drops "0 2,14 * * *" on the spring-forward day and fires it twice in
//! autumn, and drops the times in a gap of any expression with a wildcard in them.

use crate::time::EventTime;
use chrono::{DateTime, FixedOffset, LocalResult, NaiveDateTime, TimeDelta, TimeZone, Timelike, Utc};
use chrono_tz::{GapInfo, Tz};
use croner::parser::{CronParser, Seconds, Year};
use croner::Cron;
use std::fmt;

/// How far back `latest_at_or_before` looks: longer than the longest wait between two
/// matches of an expression without a year field (a fifth Friday of February comes every
/// 28 to 40 years).
const LOOK_BACK_LIMIT: std::time::Duration = std::time::Duration::from_secs(60 * 60 * 24 * 366 * 64);

/// A cron expression of 5 fields (minute to day of week) or 6 (seconds first), read in a
/// time zone of the tz database.
///
/// Day of month and day of week, when both are restricted, match either (as in Vixie
/// cron); `L`, `W`, `#` and the `@daily`-style nicknames are accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recurrence {
    expression: String,
    zone_name: String,
    // Boxed: a parsed pattern is some 400 bytes, and a recurrence travels in other types.
    cron: Box<Cron>,
    zone: Tz,
    repeated: RepeatedTime,
}

/// What a local time that happens twice does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RepeatedTime {
    /// It fires on its first pass only: the expression names particular hours.
    FirstPass,
    /// It fires on both passes: the expression runs every hour of the day.
    EveryPass,
}

/// One firing of a recurrence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occurrence {
    /// The instant it fires.
    pub at: EventTime,
    /// The local wall time at `at`, with the zone's offset from UTC then.
    pub local: DateTime<FixedOffset>,
    /// The local time the expression named. The same as `local`'s wall time, except when
    /// the clock jumped over it and `at` is the first instant after the jump; when a jump
    /// swallowed several, the earliest of them.
    pub scheduled: NaiveDateTime,
}

/// The occurrences a timer did not fire in time, to be handled as one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missed {
    /// How many occurrences there were.
    pub count: u64,
    /// The earliest of them: the one that has waited longest.
    pub first: Occurrence,
    /// The latest of them.
    pub last: Occurrence,
}

/// Why a recurrence could not be built; each names the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecurrenceError {
    /// The zone is not a name of the tz database (the field `zone`).
    #[error("{0} is not an IANA time zone")]
    Zone(String),
    /// The expression does not parse, or matches no date (the field `expression`).
    #[error("{expression:?} is not a cron expression of 5 or 6 fields: {reason}")]
    Expression {
        /// The expression as given.
        expression: String,
        /// What the parser found wrong.
        reason: String,
    },
}

impl RecurrenceError {
    /// The name of the field at fault: `"zone"` or `"expression"`.
    pub fn field(&self) -> &'static str {
        match self {
            Self::Zone(_) => "zone",
            Self::Expression { .. } => "expression",
        }
    }
}

impl Recurrence {
    /// Reads `expression` (5 or 6 fields) in the zone named `zone` (case as in the tz
    /// database, e.g. `Europe/Paris`). Both texts are kept as given, for display.
    pub fn parse(expression: &str, zone: &str) -> Result<Self, RecurrenceError> {
        let invalid = |reason: String| RecurrenceError::Expression {
            expression: expression.to_owned(),
            reason,
        };
        let cron = CronParser::builder()
            .seconds(Seconds::Optional)
            .year(Year::Disallowed)
            .build()
            .parse(expression)
            .map_err(|e| invalid(e.to_string()))?;
        // Without a year field an expression that matches once matches every few years,
        // so one that finds nothing from 1970 on never fires (the 30th of February).
        if cron
            .find_next_occurrence(&DateTime::UNIX_EPOCH.naive_utc(), true)
            .is_err()
        {
            return Err(invalid("it matches no date".to_owned()));
        }
        let tz: Tz = zone.parse().map_err(|_| RecurrenceError::Zone(zone.to_owned()))?;
        let every_hour = (0..24).all(|hour| cron.pattern.hour_match(hour).unwrap_or(false));
        Ok(Self {
            expression: expression.to_owned(),
            zone_name: zone.to_owned(),
            cron: Box::new(cron),
            zone: tz,
            repeated: if every_hour {
                RepeatedTime::EveryPass
            } else {
                RepeatedTime::FirstPass
            },
        })
    }

    /// The expression as given.
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// The zone's name as given.
    pub fn zone(&self) -> &str {
        &self.zone_name
    }

    /// The first occurrence strictly after `t`; `None` past the year 2262, where an
    /// [`EventTime`] ends.
    pub fn next_after(&self, t: EventTime) -> Option<Occurrence> {
        let after = t.to_datetime();
        // Cron matches whole seconds; every one up to this has fired by `t`'s first pass.
        let wall = after.with_timezone(&self.zone).naive_local().with_nanosecond(0)?;
        let mut best: Option<(DateTime<Utc>, NaiveDateTime)> = None;
        let mut consider = |at: DateTime<Utc>, scheduled: NaiveDateTime| {
            if at > after && best.is_none_or(|(b, _)| at < b) {
                best = Some((at, scheduled));
            }
        };

        if self.repeated == RepeatedTime::EveryPass {
            // On the first pass of a repeated hour, the times it has shown come again.
            if let LocalResult::Ambiguous(a, b) = self.zone.from_local_datetime(&wall) {
                let (first, second) = ordered(a.to_utc(), b.to_utc());
                if second > after {
                    let mut w = wall - (second - first);
                    while let Ok(next) = self.cron.find_next_occurrence(&w, false) {
                        if next > wall {
                            break;
                        }
                        w = next;
                        if let (_, Some(again)) = self.instants(w) {
                            consider(again, w);
                        }
                    }
                }
            }
        }

        // The first instant of a wall time never comes before that of an earlier one, so
        // the walk ends at the first wall time whose first instant is past `t`.
        let mut w = wall;
        while let Ok(next) = self.cron.find_next_occurrence(&w, false) {
            w = next;
            let (first, again) = self.instants(w);
            if let Some(at) = first {
                consider(at, w);
            }
            if let Some(at) = again {
                consider(at, w);
            }
            if first.is_some_and(|at| at > after) {
                break;
            }
        }
        let (at, scheduled) = best?;
        self.occurrence(at, scheduled)
    }

    /// The first `count` occurrences strictly after `t`, in order.
    pub fn occurrences_after(&self, t: EventTime, count: usize) -> Vec<Occurrence> {
        let mut found = Vec::with_capacity(count);
        let mut from = t;
        while found.len() < count {
            let Some(next) = self.next_after(from) else {
                break;
            };
            from = next.at;
            found.push(next);
        }
        found
    }

    /// The occurrences in `(after, up_to]`, for a timer that comes back late: `after` is
    /// the last one it fired (or the time it was armed). `None` when nothing was missed.
    /// Counting takes time in proportion to the count (about a microsecond each).
    pub fn missed_between(&self, after: EventTime, up_to: EventTime) -> Option<Missed> {
        let first = self.next_after(after).filter(|o| o.at <= up_to)?;
        let mut missed = Missed {
            count: 1,
            first: first.clone(),
            last: first,
        };
        while let Some(next) = self.next_after(missed.last.at).filter(|o| o.at <= up_to) {
            missed.count += 1;
            missed.last = next;
        }
        Some(missed)
    }

    /// The last occurrence at or before `t`, e.g. the start of the maintenance window `t`
    /// may be in. Searched back in windows that double from a minute, so it costs about
    /// as much as counting the occurrences in twice the distance to it.
    pub fn latest_at_or_before(&self, t: EventTime) -> Option<Occurrence> {
        let mut back = std::time::Duration::from_secs(60);
        while back < LOOK_BACK_LIMIT {
            let from = t.before(back);
            if let Some(missed) = self.missed_between(from, t) {
                return Some(missed.last);
            }
            if from == EventTime::from_nanos(i64::MIN) {
                return None;
            }
            back *= 2;
        }
        None
    }

    /// The instants the wall time `w` fires at: the first time the clock reaches it, and
    /// for an every-hour expression the second pass of a repeated time.
    fn instants(&self, w: NaiveDateTime) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
        match self.zone.from_local_datetime(&w) {
            LocalResult::Single(at) => (Some(at.to_utc()), None),
            LocalResult::Ambiguous(a, b) => {
                let (first, second) = ordered(a.to_utc(), b.to_utc());
                let again = (self.repeated == RepeatedTime::EveryPass).then_some(second);
                (Some(first), again)
            }
            LocalResult::None => (self.after_gap(w), None),
        }
    }

    /// The first instant after the gap that swallowed `w`, unless the gap swallowed `w`'s
    /// whole day: a day the zone skipped has nothing to fire.
    fn after_gap(&self, w: NaiveDateTime) -> Option<DateTime<Utc>> {
        let gap = GapInfo::new(&w, &self.zone)?;
        let end = gap.end?;
        let day = w.date().and_time(chrono::NaiveTime::MIN);
        let whole_day =
            gap.begin.is_some_and(|(begin, _)| begin <= day) && end.naive_local() >= day + TimeDelta::days(1);
        (!whole_day).then(|| end.to_utc())
    }

    fn occurrence(&self, at: DateTime<Utc>, scheduled: NaiveDateTime) -> Option<Occurrence> {
        Some(Occurrence {
            at: EventTime::from_datetime(at).ok()?,
            local: at.with_timezone(&self.zone).fixed_offset(),
            scheduled,
        })
    }
}

fn ordered(a: DateTime<Utc>, b: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

impl Missed {
    /// How long the earliest missed occurrence has waited at `now`.
    pub fn late_by(&self, now: EventTime) -> std::time::Duration {
        now.duration_since(self.first.at)
    }
}

impl fmt::Display for Recurrence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} in {}", self.expression, self.zone_name)
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod properties;
