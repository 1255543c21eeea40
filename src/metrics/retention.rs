//! Retention's metrics: what the sweeps removed, and how much the store holds, so an
//! operator can watch it stay flat.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use usecases::retention::SweepReport;

/// Retention's metric handles.
pub(super) struct RetentionMetrics {
    alarms_removed: Counter,
    tombstones_removed: Counter,
    notifications_removed: Counter,
    alarms_stored: Gauge,
    alarms_active: Gauge,
    tombstones_stored: Gauge,
}

impl RetentionMetrics {
    /// Registers retention's metrics, every series at zero.
    pub(super) fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            alarms_removed: Counter::default(),
            tombstones_removed: Counter::default(),
            notifications_removed: Counter::default(),
            alarms_stored: Gauge::default(),
            alarms_active: Gauge::default(),
            tombstones_stored: Gauge::default(),
        };
        registry.register(
            "alarm_digest_alarms_removed",
            "Cleared alarms removed by this replica's sweeps (RETAIN_CLEARED), each leaving a tombstone",
            metrics.alarms_removed.clone(),
        );
        registry.register(
            "alarm_digest_tombstones_removed",
            "Tombstones removed by this replica's sweeps (RETAIN_TOMBSTONES)",
            metrics.tombstones_removed.clone(),
        );
        registry.register(
            "alarm_digest_notification_records_removed",
            "Sent-notification records removed by this replica's sweeps (RETAIN_NOTIFICATIONS)",
            metrics.notifications_removed.clone(),
        );
        registry.register(
            "alarm_digest_alarms_stored",
            "Alarms in the store (active and cleared) at the last sweep",
            metrics.alarms_stored.clone(),
        );
        registry.register(
            "alarm_digest_alarms_active",
            "Active alarms in the store at the last sweep",
            metrics.alarms_active.clone(),
        );
        registry.register(
            "alarm_digest_tombstones_stored",
            "Tombstones of removed alarms in the store at the last sweep",
            metrics.tombstones_stored.clone(),
        );
        metrics
    }

    /// Counts what one sweep removed and sets the store's totals.
    pub(super) fn observe(&self, report: &SweepReport) {
        self.alarms_removed.inc_by(report.swept.alarms);
        self.tombstones_removed.inc_by(report.swept.tombstones);
        self.notifications_removed.inc_by(report.notifications);
        let gauge = |g: &Gauge, v: u64| g.set(i64::try_from(v).unwrap_or(i64::MAX));
        gauge(&self.alarms_stored, report.counts.alarms);
        gauge(&self.alarms_active, report.counts.active);
        gauge(&self.tombstones_stored, report.counts.tombstones);
    }
}
