//! The retention timers: every replica sweeps, and trims histories, at a steady pace, off
//! the intake path.

use super::RetentionService;
use domain::failure::Chain;
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
            Err(e) => tracing::warn!(error = %Chain(&e), "could not sweep the store; will try again"),
        }
    }
}

/// Drops the histories beyond `HISTORY_ALARMS` every `every` until `stop`, so history
/// stays bounded however long the service runs.
pub async fn trim_history(retention: Arc<RetentionService>, every: Duration, stop: CancellationToken) {
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        match retention.trim_history().await {
            Ok(0) => {}
            Ok(dropped) => tracing::debug!(dropped, "dropped old alarm histories"),
            Err(e) => tracing::warn!(error = %Chain(&e), "could not trim alarm histories; will try again"),
        }
    }
}
