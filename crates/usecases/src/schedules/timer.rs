//! The schedules' timer loop: every replica looks for due occurrences at a steady pace;
//! the store's claim makes exactly one of them fire each.

use super::DigestSchedules;
use domain::failure::Chain;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Fires due schedules every `every` until `stop`.
pub async fn run(schedules: Arc<DigestSchedules>, every: Duration, stop: CancellationToken) {
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        match schedules.fire_due().await {
            Ok(fired) => {
                for f in &fired {
                    tracing::debug!(user = %f.user_id, digest = ?f.digest, late_by = ?f.late_by, "scheduled digest fired");
                }
            }
            Err(e) => tracing::warn!(error = %Chain(&e), "could not claim due schedules; will try again"),
        }
    }
}
