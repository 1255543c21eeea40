//! Alarm episodes (activation to CLEARED) by event time, and response-time statistics.

use super::{EventTime, Status, Version};

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
    /// Seconds from activation to first acknowledgement.
    pub fn time_to_acknowledge(&self) -> Option<f64> {
        self.acknowledged_at.map(|a| a.seconds_since(self.started_at))
    }

    /// Seconds from activation to CLEARED.
    pub fn time_to_resolve(&self) -> Option<f64> {
        self.resolved_at.map(|r| r.seconds_since(self.started_at))
    }
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

/// min, mean, max and nearest-rank percentiles of a set of durations, in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// How many durations.
    pub count: usize,
    /// Smallest.
    pub min: f64,
    /// Arithmetic mean.
    pub mean: f64,
    /// Largest.
    pub max: f64,
    /// Median (nearest rank).
    pub p50: f64,
    /// 95th percentile (nearest rank).
    pub p95: f64,
}

/// Summarizes durations; `None` when there are none.
pub fn summarize(mut values: Vec<f64>) -> Option<Summary> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    // Nearest rank: the smallest value with at least p% of the values at or below it.
    let rank = |p: f64| values[((p / 100.0 * n as f64).ceil() as usize).clamp(1, n) - 1];
    Some(Summary {
        count: n,
        min: values[0],
        mean: values.iter().sum::<f64>() / n as f64,
        max: values[n - 1],
        p50: rank(50.0),
        p95: rank(95.0),
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
        assert_eq!(found[0].time_to_acknowledge(), Some(2.0));
        assert_eq!(found[0].time_to_resolve(), Some(4.0));
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
    fn summary_uses_nearest_rank_percentiles() {
        let s = summarize((1..=20).map(f64::from).collect()).unwrap();
        assert_eq!((s.count, s.min, s.max, s.mean), (20, 1.0, 20.0, 10.5));
        assert_eq!((s.p50, s.p95), (10.0, 19.0));
        let one = summarize(vec![4.0]).unwrap();
        assert_eq!((one.p50, one.p95), (4.0, 4.0));
        assert!(summarize(vec![]).is_none());
    }
}
