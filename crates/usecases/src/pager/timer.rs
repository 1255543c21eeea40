//! The timer loop: every replica looks for due services at a steady pace; the store's
//! atomic claim makes exactly one of them fire each timeout.

use super::PagerService;
use domain::failure::Chain;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Fires due timeouts and finishes abandoned outboxes every `every` until `stop`. Timers
/// live in the store, not in this process, so this is a poll: another replica's timers
/// cannot be awaited here.
pub async fn run(pager: Arc<PagerService>, every: Duration, stop: CancellationToken) {
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        match pager.fire_due().await {
            Ok(reports) => {
                for report in &reports {
                    tracing::info!(service = %report.service_id, outcome = report.outcome.as_str(), sent = report.sent.len(), "acknowledgement timeout handled");
                }
            }
            Err(e) => tracing::warn!(error = %Chain(&e), "could not claim due pager timers; will try again"),
        }
    }
}
