//! Distributions behind the statistics' charts: durations counted in buckets whose edges a
//! person reads at a glance (1 minute, 5 minutes, ... 1 day), and episodes opened per
//! clock hour over a bounded stretch of a window.

use super::EventTime;
use std::time::Duration;

/// The edges between buckets: under 1 minute, 1 to 5 minutes, 5 to 15 minutes, 15 minutes
/// to 1 hour, 1 to 4 hours, 4 hours to 1 day, and 1 day or more.
pub const BUCKET_EDGES: [Duration; 6] = [
    Duration::from_secs(60),
    Duration::from_secs(5 * 60),
    Duration::from_secs(15 * 60),
    Duration::from_secs(3600),
    Duration::from_secs(4 * 3600),
    Duration::from_secs(24 * 3600),
];

/// The most hours [`opened_per_hour`] counts: the latest two days of a longer window.
pub const MAX_HOURS: usize = 48;

const HOUR_NANOS: i64 = 3_600_000_000_000;

/// How many durations fell in `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    /// Lower edge, inclusive.
    pub from: Duration,
    /// Upper edge, exclusive; `None` for the last bucket, which has none.
    pub to: Option<Duration>,
    /// Durations in the bucket.
    pub count: u64,
}

impl Bucket {
    /// The bucket in words: `under 1m`, `1m–5m`, `1d or more`.
    pub fn label(&self) -> String {
        match (self.from, self.to) {
            (from, Some(to)) if from.is_zero() => format!("under {}", short(to)),
            (from, Some(to)) => format!("{}–{}", short(from), short(to)),
            (from, None) => format!("{} or more", short(from)),
        }
    }
}

/// A whole number of days, hours, minutes or seconds in its shortest unit: `15m`, `4h`, `1d`.
pub fn short(duration: Duration) -> String {
    let s = duration.as_secs();
    match s {
        0 => "0s".into(),
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// `values` counted in the buckets of [`BUCKET_EDGES`]: every bucket present, in order,
/// zero included, so the counts always add up to `values.len()`.
pub fn histogram(values: &[Duration]) -> Vec<Bucket> {
    let lower = std::iter::once(Duration::ZERO).chain(BUCKET_EDGES);
    let upper = BUCKET_EDGES.into_iter().map(Some).chain([None]);
    lower
        .zip(upper)
        .map(|(from, to)| Bucket {
            from,
            to,
            count: values
                .iter()
                .filter(|&&v| v >= from && to.is_none_or(|t| v < t))
                .count() as u64,
        })
        .collect()
}

/// Episodes opened in one clock hour (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HourCount {
    /// The start of the hour.
    pub hour: EventTime,
    /// Episodes that started in it.
    pub count: u64,
}

/// `starts` counted per clock hour (UTC), over the hours of `[from, to)`: from the hour
/// holding `from` (or the earliest start, when `from` is open) to the hour holding the
/// instant before `to`, at most the latest [`MAX_HOURS`] of them. Only starts in
/// `[from, to)` count. Every hour present, zero included; empty when the range is empty.
pub fn opened_per_hour(starts: &[EventTime], from: Option<EventTime>, to: EventTime) -> Vec<HourCount> {
    let Some(from) = from.or_else(|| starts.iter().copied().min()) else {
        return Vec::new();
    };
    if from >= to {
        return Vec::new();
    }
    let floor = |t: i64| t.div_euclid(HOUR_NANOS) * HOUR_NANOS;
    let last = floor(to.as_nanos() - 1);
    let first = floor(from.as_nanos()).max(last - (MAX_HOURS as i64 - 1) * HOUR_NANOS);
    let hours = ((last - first) / HOUR_NANOS + 1) as usize;
    let mut counts = vec![0u64; hours];
    for s in starts.iter().filter(|&&s| s >= from && s < to) {
        let hour = floor(s.as_nanos());
        if hour >= first {
            counts[((hour - first) / HOUR_NANOS) as usize] += 1;
        }
    }
    counts
        .into_iter()
        .enumerate()
        .map(|(i, count)| HourCount {
            hour: EventTime::from_nanos(first + i as i64 * HOUR_NANOS),
            count,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::episodes::summarize;
    use proptest::prelude::*;

    fn at(secs: i64) -> EventTime {
        EventTime::from_nanos(secs * 1_000_000_000)
    }

    #[test]
    fn durations_fall_in_the_bucket_whose_lower_edge_they_reach() {
        let secs = Duration::from_secs;
        let counts: Vec<u64> = histogram(&[secs(0), secs(59), secs(60), secs(600), secs(86_400), secs(999_999)])
            .iter()
            .map(|b| b.count)
            .collect();
        assert_eq!(counts, [2, 1, 1, 0, 0, 0, 2]);
    }

    #[test]
    fn buckets_read_as_words_a_person_uses() {
        let labels: Vec<String> = histogram(&[]).iter().map(Bucket::label).collect();
        assert_eq!(
            labels,
            ["under 1m", "1m–5m", "5m–15m", "15m–1h", "1h–4h", "4h–1d", "1d or more"]
        );
    }

    #[test]
    fn opened_per_hour_counts_each_clock_hour_of_the_window() {
        let starts = [at(10), at(3599), at(3600), at(3 * 3600 + 5)];
        let counts = opened_per_hour(&starts, Some(at(0)), at(4 * 3600));
        let found: Vec<(i64, u64)> = counts
            .iter()
            .map(|h| (h.hour.as_nanos() / 1_000_000_000, h.count))
            .collect();
        assert_eq!(found, [(0, 2), (3600, 1), (7200, 0), (10_800, 1)]);
    }

    #[test]
    fn opened_per_hour_keeps_only_the_latest_hours_of_a_long_window() {
        let starts = [at(0), at(99 * 3600)];
        let counts = opened_per_hour(&starts, None, at(100 * 3600));
        assert_eq!(counts.len(), MAX_HOURS);
        assert_eq!(counts[0].hour, at(52 * 3600));
        assert_eq!(
            counts.iter().map(|h| h.count).sum::<u64>(),
            1,
            "the start at 0 is too old"
        );
        assert!(opened_per_hour(&[], None, at(5)).is_empty());
        assert!(opened_per_hour(&starts, Some(at(50)), at(50)).is_empty());
    }

    proptest! {
        #[test]
        fn bucket_counts_add_up_and_percentiles_lie_between_min_and_max(
            nanos in proptest::collection::vec(0u64..200_000_000_000_000, 1..60)
        ) {
            let values: Vec<Duration> = nanos.into_iter().map(Duration::from_nanos).collect();
            let total: u64 = histogram(&values).iter().map(|b| b.count).sum();
            prop_assert_eq!(total, values.len() as u64);
            let s = summarize(values).unwrap();
            for p in [s.p50, s.p90, s.p95, s.mean] {
                prop_assert!(s.min <= p && p <= s.max);
            }
            prop_assert!(s.p50 <= s.p90 && s.p90 <= s.p95);
        }

        #[test]
        fn opened_per_hour_is_bounded_and_counts_each_start_at_most_once(
            starts in proptest::collection::vec(-1_000_000i64..1_000_000, 0..50),
            to in -1_000_000i64..1_000_000,
        ) {
            let starts: Vec<EventTime> = starts.into_iter().map(at).collect();
            let counts = opened_per_hour(&starts, None, at(to));
            prop_assert!(counts.len() <= MAX_HOURS);
            let counted: u64 = counts.iter().map(|h| h.count).sum();
            prop_assert!(counted <= starts.iter().filter(|&&s| s < at(to)).count() as u64);
        }
    }
}
