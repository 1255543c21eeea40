//! The retention use case: removes what the service no longer needs (cleared alarms
//! behind tombstones, expired tombstones, old notification records, past maintenance
//! windows) in small batches, so the store stays flat however long it runs.

pub mod timer;

use crate::observer::{unobserved, Observer};
use domain::pager::{MaintenanceStore, PagerStore};
use domain::ports::{AlarmStore, Clock, StoreError};
use domain::query::Counts;
use domain::retention::{Retention, Swept};
use domain::EventTime;
use std::sync::Arc;

/// The most store calls one sweep makes per kind before it leaves the rest to the next
/// sweep, so a large backlog (the first sweep after an upgrade) is worked off in steps.
const MAX_PASSES: usize = 20;

/// What one sweep removed, and the store's totals after it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Alarms and tombstones removed.
    pub swept: Swept,
    /// Notification records removed.
    pub notifications: u64,
    /// Maintenance windows removed.
    pub windows: u64,
    /// The totals after the sweep.
    pub counts: Counts,
}

/// Sweeps the alarm and pager stores on the service's clock.
pub struct RetentionService {
    alarms: Arc<dyn AlarmStore>,
    pager: Arc<dyn PagerStore>,
    clock: Arc<dyn Clock>,
    retention: Retention,
    batch: usize,
    observer: Arc<dyn Observer>,
    maintenance: Option<Arc<dyn MaintenanceStore>>,
}

impl RetentionService {
    /// Sweeps with these periods, at most `batch` of each kind per store call.
    pub fn new(
        alarms: Arc<dyn AlarmStore>,
        pager: Arc<dyn PagerStore>,
        clock: Arc<dyn Clock>,
        retention: Retention,
        batch: usize,
    ) -> Self {
        Self {
            alarms,
            pager,
            clock,
            retention,
            batch: batch.max(1),
            observer: unobserved(),
            maintenance: None,
        }
    }

    /// Also removes the maintenance windows in `windows` that ended longer ago than sent
    /// notifications are kept: a window explains why the notifications of its time were
    /// held, so it is kept for audit as long as they are.
    pub fn with_maintenance(mut self, windows: Arc<dyn MaintenanceStore>) -> Self {
        self.maintenance = Some(windows);
        self
    }

    /// Reports every finished sweep to `observer`.
    pub fn observed_by(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observer = observer;
        self
    }

    /// Drops the histories beyond the configured number of alarms; how many entries.
    pub async fn trim_history(&self) -> Result<u64, StoreError> {
        self.alarms.trim_history().await
    }

    /// The periods this service keeps things for.
    pub fn retention(&self) -> Retention {
        self.retention
    }

    /// Removes what is past its retention, in batches: each store call removes at most
    /// `batch` of each kind in one short transaction, so intake's writes interleave with
    /// the sweep's. Safe on several replicas at once: the stores remove each alarm once.
    pub async fn sweep(&self) -> Result<SweepReport, StoreError> {
        let plan = self.retention.sweep_at(self.clock.now(), self.batch);
        let mut report = SweepReport::default();
        for _ in 0..MAX_PASSES {
            let swept = self.alarms.sweep(&plan).await?;
            report.swept.alarms += swept.alarms;
            report.swept.tombstones += swept.tombstones;
            if !swept.filled(self.batch) {
                break;
            }
        }
        for _ in 0..MAX_PASSES {
            let removed = self
                .pager
                .sweep_notifications(plan.notifications_before_ms, self.batch)
                .await?;
            report.notifications += removed;
            if removed < self.batch as u64 {
                break;
            }
        }
        if let Some(windows) = &self.maintenance {
            let ended_before = EventTime::from_nanos(plan.notifications_before_ms.saturating_mul(1_000_000));
            report.windows = windows.delete_windows_ended_before(ended_before).await?;
        }
        report.counts = self.alarms.counts().await?;
        self.observer.swept(&report);
        Ok(report)
    }
}

#[cfg(test)]
mod tests;
