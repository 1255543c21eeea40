//! Alarm episodes (activation to CLEARED) by event time, where an alarm stands in its
//! current episode (its lifecycle), and response-time statistics.
//!
//! Durations are integer nanoseconds from start to end: an instant is an `i64` of
//! nanoseconds, and subtracting two of them as floats would round (a float holds 53 bits,
//! an instant of 2023 needs 61). They become seconds once, for display, with [`seconds`].

use super::{EventTime, Status, StatusRegisters, Version};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// One stretch of an alarm being active.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Episode {
    /// When it became active.
    pub started_at: EventTime,
    /// The first acknowledgement within the episode.
    pub acknowledged_at: Option<EventTime>,
    /// When it was CLEARED; `None` while still active.
    pub resolved_at: Option<EventTime>,
}

impl Episode {
    /// From activation to first acknowledgement.
    pub fn time_to_acknowledge(&self) -> Option<Duration> {
        self.acknowledged_at.map(|a| between(self.started_at, a))
    }

    /// From activation to CLEARED.
    pub fn time_to_resolve(&self) -> Option<Duration> {
        self.resolved_at.map(|r| between(self.started_at, r))
    }
}

/// The exact time from `earlier` to `later`, zero if `later` is not later.
fn between(earlier: EventTime, later: EventTime) -> Duration {
    if later <= earlier {
        return Duration::ZERO;
    }
    // Any two instants of the range are at most 2^64 ns apart: the difference fits a u64.
    Duration::from_nanos(later.as_nanos().abs_diff(earlier.as_nanos()))
}

/// A duration in seconds, converted from its whole nanoseconds in one division, so that
/// 16,258,000,000 ns reads 16.258.
pub fn seconds(duration: Duration) -> f64 {
    duration.as_nanos() as f64 / 1e9
}

/// The episodes of one alarm, from its status changes in any order (duplicates allowed)
/// and its acknowledgement times. Events are replayed in version order: an episode starts
/// at the first active status after a CLEARED (or the first event) and ends at the next
/// CLEARED; an acknowledgement belongs to the episode open at its time.
pub fn episodes(events: &[Version], acknowledgements: &[EventTime]) -> Vec<Episode> {
    let mut ordered = events.to_vec();
    ordered.sort();
    ordered.dedup();
    let mut acks = acknowledgements.to_vec();
    acks.sort();
    let mut out: Vec<Episode> = Vec::new();
    let mut open: Option<Episode> = None;
    for v in ordered {
        match (v.status, open.as_mut()) {
            (Status::Cleared, Some(episode)) => {
                episode.resolved_at = Some(v.changed_at);
                out.extend(open.take());
            }
            (Status::Warning | Status::Critical, None) => {
                open = Some(Episode {
                    started_at: v.changed_at,
                    acknowledged_at: None,
                    resolved_at: None,
                })
            }
            _ => {}
        }
    }
    out.extend(open);
    for episode in &mut out {
        episode.acknowledged_at = acks
            .iter()
            .copied()
            .find(|&a| a >= episode.started_at && episode.resolved_at.is_none_or(|r| a <= r));
    }
    out
}

/// Where an alarm stands, in the words of incident tools (Allma, PagerDuty), derived from
/// the state kept for every alarm whatever its intake.
///
/// The current episode of an active alarm is what followed its latest CLEARED (all of it,
/// if it never cleared), so an acknowledgement acknowledges it when it is later than that
/// CLEARED; one at the CLEARED's very instant belongs to the episode the CLEARED closed.
/// Only the registers and the acknowledgements decide, never the history, which is
/// trimmed: every store can filter on it. The declaration order is the order of a response: triggered, acknowledged,
/// resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Lifecycle {
    /// Active, and not acknowledged in its current episode.
    Triggered,
    /// Active, and acknowledged in its current episode.
    Acknowledged,
    /// CLEARED.
    Resolved,
}

/// A lifecycle string that is none of `triggered`, `acknowledged`, `resolved`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown lifecycle {0:?}: expected triggered, acknowledged or resolved")]
pub struct UnknownLifecycle(pub String);

impl Lifecycle {
    /// Every lifecycle, in response order.
    pub const ALL: [Lifecycle; 3] = [Lifecycle::Triggered, Lifecycle::Acknowledged, Lifecycle::Resolved];

    /// Where an alarm with these registers and acknowledgement times stands; `None` before
    /// its first event.
    pub fn of(seen: &StatusRegisters, acknowledgements: &[EventTime]) -> Option<Lifecycle> {
        let latest = seen.versions().max()?;
        if !latest.status.is_active() {
            return Some(Lifecycle::Resolved);
        }
        let in_current_episode = |ack: &EventTime| seen.cleared.is_none_or(|cleared| *ack > cleared);
        Some(if acknowledgements.iter().any(in_current_episode) {
            Lifecycle::Acknowledged
        } else {
            Lifecycle::Triggered
        })
    }

    /// The API's spelling, lower case.
    pub fn as_str(self) -> &'static str {
        match self {
            Lifecycle::Triggered => "triggered",
            Lifecycle::Acknowledged => "acknowledged",
            Lifecycle::Resolved => "resolved",
        }
    }
}

impl FromStr for Lifecycle {
    type Err = UnknownLifecycle;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Lifecycle::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| UnknownLifecycle(s.chars().take(64).collect()))
    }
}

impl fmt::Display for Lifecycle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// min, mean, max and percentiles of a set of durations.
///
/// Percentiles are nearest-rank: the p-th is the smallest duration with at least p % of
/// the durations at or below it, so it is always one of the durations (never an
/// interpolation between two) and lies between `min` and `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// How many durations.
    pub count: usize,
    /// Smallest.
    pub min: Duration,
    /// Arithmetic mean, to the nearest nanosecond.
    pub mean: Duration,
    /// Largest.
    pub max: Duration,
    /// Median (nearest rank).
    pub p50: Duration,
    /// 90th percentile (nearest rank).
    pub p90: Duration,
    /// 95th percentile (nearest rank).
    pub p95: Duration,
}

/// Summarizes durations; `None` when there are none.
pub fn summarize(mut values: Vec<Duration>) -> Option<Summary> {
    if values.is_empty() {
        return None;
    }
    values.sort();
    let n = values.len();
    // Nearest rank: the smallest value with at least p% of the values at or below it,
    // rank ceil(p * n / 100), in integers.
    let rank = |p: usize| values[(p * n).div_ceil(100).clamp(1, n) - 1];
    let total: u128 = values.iter().map(Duration::as_nanos).sum();
    let count = n as u128;
    let mean = (total + count / 2) / count;
    Some(Summary {
        count: n,
        min: values[0],
        mean: Duration::from_nanos(u64::try_from(mean).unwrap_or(u64::MAX)),
        max: values[n - 1],
        p50: rank(50),
        p90: rank(90),
        p95: rank(95),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(secs: i64, status: Status) -> Version {
        Version {
            changed_at: t(secs),
            status,
        }
    }

    fn t(secs: i64) -> EventTime {
        EventTime::from_nanos(secs * 1_000_000_000)
    }

    #[test]
    fn episode_runs_from_activation_to_cleared_in_event_order() {
        let events = [
            v(30, Status::Cleared),
            v(10, Status::Warning),
            v(20, Status::Critical),
            v(10, Status::Warning),
        ];
        assert_eq!(
            episodes(&events, &[]),
            [Episode {
                started_at: t(10),
                acknowledged_at: None,
                resolved_at: Some(t(30))
            }]
        );
    }

    #[test]
    fn clear_and_return_makes_two_episodes_and_the_last_stays_open() {
        let events = [v(1, Status::Warning), v(5, Status::Cleared), v(9, Status::Critical)];
        let found = episodes(&events, &[t(3), t(4), t(12)]);
        assert_eq!(
            found,
            [
                Episode {
                    started_at: t(1),
                    acknowledged_at: Some(t(3)),
                    resolved_at: Some(t(5))
                },
                Episode {
                    started_at: t(9),
                    acknowledged_at: Some(t(12)),
                    resolved_at: None
                },
            ]
        );
        assert_eq!(found[0].time_to_acknowledge(), Some(Duration::from_secs(2)));
        assert_eq!(found[0].time_to_resolve(), Some(Duration::from_secs(4)));
        assert_eq!(found[1].time_to_resolve(), None);
    }

    #[test]
    fn acknowledgement_outside_every_episode_is_ignored() {
        let events = [v(10, Status::Warning), v(20, Status::Cleared)];
        assert_eq!(episodes(&events, &[t(5), t(25)])[0].acknowledged_at, None);
    }

    #[test]
    fn cleared_without_activation_starts_nothing() {
        assert!(episodes(&[v(1, Status::Cleared)], &[]).is_empty());
    }

    #[test]
    fn time_to_acknowledge_is_exact_where_float_subtraction_is_not() {
        let start = EventTime::from_nanos(1_700_000_000_000_000_000);
        let acked = EventTime::from_nanos(1_700_000_000_000_000_000 + 16_258_000_000);
        let episode = Episode {
            started_at: start,
            acknowledged_at: Some(acked),
            resolved_at: None,
        };
        let took = episode.time_to_acknowledge().unwrap();
        assert_eq!(took, Duration::from_nanos(16_258_000_000));
        assert_eq!(seconds(took), 16.258);
        let summary = summarize(vec![took, took]).unwrap();
        assert_eq!(
            [
                summary.min,
                summary.mean,
                summary.max,
                summary.p50,
                summary.p90,
                summary.p95
            ]
            .map(seconds),
            [16.258; 6]
        );
    }

    fn registers(cleared: Option<i64>, warning: Option<i64>, critical: Option<i64>) -> StatusRegisters {
        StatusRegisters {
            cleared: cleared.map(t),
            warning: warning.map(t),
            critical: critical.map(t),
        }
    }

    #[test]
    fn lifecycle_follows_the_current_episode_only() {
        use Lifecycle::{Acknowledged, Resolved, Triggered};
        let cases: &[(StatusRegisters, &[i64], Option<Lifecycle>)] = &[
            (registers(None, None, None), &[], None),
            (registers(None, Some(1), None), &[], Some(Triggered)),
            (registers(None, Some(1), Some(3)), &[2], Some(Acknowledged)),
            (registers(Some(5), Some(1), None), &[2], Some(Resolved)),
            (registers(Some(5), Some(1), None), &[], Some(Resolved)),
            // Acknowledged before the clear: the new episode is not acknowledged.
            (registers(Some(5), Some(9), None), &[2], Some(Triggered)),
            (registers(Some(5), Some(9), None), &[5], Some(Triggered)),
            (registers(Some(5), Some(9), None), &[2, 10], Some(Acknowledged)),
            // Flapping within the episode keeps an acknowledgement made between the flaps.
            (registers(Some(5), Some(12), Some(11)), &[7], Some(Acknowledged)),
        ];
        for (seen, acks, expected) in cases {
            let acks: Vec<EventTime> = acks.iter().copied().map(t).collect();
            assert_eq!(Lifecycle::of(seen, &acks), *expected, "{seen:?} acked at {acks:?}");
        }
    }

    #[test]
    fn lifecycles_parse_from_their_lower_case_names_only() {
        for l in Lifecycle::ALL {
            assert_eq!(l.as_str().parse::<Lifecycle>(), Ok(l));
        }
        assert!("TRIGGERED".parse::<Lifecycle>().is_err());
        assert!("open".parse::<Lifecycle>().is_err());
    }

    #[test]
    fn summary_uses_nearest_rank_percentiles() {
        let secs = Duration::from_secs;
        let s = summarize((1..=20).map(secs).collect()).unwrap();
        assert_eq!(
            (s.count, s.min, s.max, s.mean),
            (20, secs(1), secs(20), Duration::from_millis(10_500))
        );
        assert_eq!((s.p50, s.p90, s.p95), (secs(10), secs(18), secs(19)));
        let one = summarize(vec![secs(4)]).unwrap();
        assert_eq!((one.p50, one.p90, one.p95), (secs(4), secs(4), secs(4)));
        assert!(summarize(vec![]).is_none());
    }

    #[test]
    fn mean_is_rounded_to_the_nearest_nanosecond() {
        let ns = Duration::from_nanos;
        assert_eq!(summarize(vec![ns(1), ns(2)]).unwrap().mean, ns(2));
        assert_eq!(summarize(vec![ns(1), ns(1), ns(2)]).unwrap().mean, ns(1));
    }
}
