//! The timer loop: every replica looks for due services at a steady pace; the store's
//! atomic claim makes exactly one of them fire each timeout.

use super::PagerService;
use domain::failure::Chain;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How often the windows holding are counted for the metrics: a store read, kept well
/// under the one-a-second pace of the timers so an idle replica stays quiet.
const COUNT_WINDOWS_EVERY: Duration = Duration::from_secs(15);

/// Fires due timeouts (a held incident's window end among them) and finishes abandoned
/// outboxes every `every` until `stop`, and counts the maintenance windows holding every
/// [`COUNT_WINDOWS_EVERY`]. Timers
/// live in the store, not in this process, so this is a poll: another replica's timers
/// cannot be awaited here.
pub async fn run(pager: Arc<PagerService>, every: Duration, stop: CancellationToken) {
    let mut next_count = Instant::now();
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
        if Instant::now() >= next_count {
            next_count = Instant::now() + COUNT_WINDOWS_EVERY;
            if let Err(e) = pager.count_active_windows().await {
                tracing::debug!(error = %Chain(&e), "could not count the active maintenance windows");
            }
        }
    }
}
