//! Metrics of time-driven work: digest schedules (how late occurrences fire, how many were
//! missed while no replica ran) and maintenance windows (how many hold now, incidents held
//! and released).

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::time::Duration;

/// The handles of schedule and maintenance metrics.
pub(super) struct ScheduleMetrics {
    lateness: Histogram,
    missed: Counter,
    windows_active: Gauge,
    held: Counter,
    released: Counter,
}

impl ScheduleMetrics {
    /// Registers them, every series at zero.
    pub(super) fn register(registry: &mut Registry) -> Self {
        // 10 ms to about 3 h: a tick's delay up to a long outage of every replica.
        let lateness = Histogram::new(exponential_buckets(0.01, 4.0, 12));
        registry.register(
            "alarm_digest_schedule_lateness_seconds",
            "How long after its occurrence a scheduled digest was sent",
            lateness.clone(),
        );
        let missed = Counter::default();
        registry.register(
            "alarm_digest_schedule_occurrences_missed",
            "Occurrences missed while no replica ran, sent as part of one later digest",
            missed.clone(),
        );
        let windows_active = Gauge::default();
        registry.register(
            "alarm_digest_maintenance_windows_active",
            "Maintenance windows holding now, as this replica's pager last read them",
            windows_active.clone(),
        );
        let held = Counter::default();
        registry.register(
            "alarm_digest_incidents_held",
            "Alerts that opened or kept an incident during a maintenance window, notifying nobody",
            held.clone(),
        );
        let released = Counter::default();
        registry.register(
            "alarm_digest_incidents_released",
            "Held incidents, still open and unacknowledged, paged at level 1 when their window ended",
            released.clone(),
        );
        Self {
            lateness,
            missed,
            windows_active,
            held,
            released,
        }
    }

    /// Records one occurrence fired `late_by` late, standing for `occurrences`.
    pub(super) fn fired(&self, late_by: Duration, occurrences: u64) {
        self.lateness.observe(late_by.as_secs_f64());
        self.missed.inc_by(occurrences.saturating_sub(1));
    }

    /// Records how many windows hold now.
    pub(super) fn windows_active(&self, active: usize) {
        self.windows_active.set(active as i64);
    }

    /// Counts an incident held by a window.
    pub(super) fn held(&self) {
        self.held.inc();
    }

    /// Counts a held incident released.
    pub(super) fn released(&self) {
        self.released.inc();
    }
}
