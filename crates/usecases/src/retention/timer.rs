//! The retention timer: every replica sweeps at a steady pace, off the intake path.

use super::RetentionService;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Sweeps every `every` until `stop`, counting what went into `metrics`; a failed sweep
/// is logged and tried again at the next tick.
pub async fn run(retention: Arc<RetentionService>, every: Duration, stop: CancellationToken) {
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        match retention.sweep().await {
            Ok(report) => {
                let swept = report.swept;
                if swept.alarms + swept.tombstones + report.notifications > 0 {
                    tracing::debug!(
                        alarms = swept.alarms,
                        tombstones = swept.tombstones,
                        notifications = report.notifications,
                        stored = report.counts.alarms,
                        "removed what is past its retention"
                    );
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not sweep the store; will try again"),
        }
    }
}
