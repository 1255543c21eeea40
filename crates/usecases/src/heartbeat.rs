//! When the store last answered a call: traffic that already shows the store alive spares
//! readiness its own ping.

use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// The instant of the latest store call that succeeded, on tokio's clock (so tests can
/// move it). Every decorated port records into one, whatever the operation.
#[derive(Debug, Default)]
pub struct StoreHeartbeat {
    last: Mutex<Option<Instant>>,
}

impl StoreHeartbeat {
    /// A call to the store succeeded just now.
    pub fn beat(&self) {
        *self.last.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(Instant::now());
    }

    /// Whether some call succeeded within the last `span`.
    pub fn answered_within(&self, span: Duration) -> bool {
        let last = *self.last.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        last.is_some_and(|at| at.elapsed() <= span)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_store_that_never_answered_has_no_recent_answer() {
        assert!(!StoreHeartbeat::default().answered_within(Duration::from_secs(3600)));
    }

    #[tokio::test(start_paused = true)]
    async fn an_answer_counts_as_recent_for_the_span_after_it_and_no_longer() {
        let heartbeat = StoreHeartbeat::default();
        heartbeat.beat();
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(heartbeat.answered_within(Duration::from_secs(2)));
        tokio::time::advance(Duration::from_millis(1)).await;
        assert!(!heartbeat.answered_within(Duration::from_secs(2)));
        heartbeat.beat();
        assert!(heartbeat.answered_within(Duration::from_secs(2)));
    }
}
