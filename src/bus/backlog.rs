//! Watches the shared JetStream consumer every second or so: its backlog goes into the
//! metrics, and whether its leader answers at all goes into readiness.

use crate::health::Health;
use crate::metrics::Metrics;
use async_nats::jetstream::Context;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Missed answers in a row after which JetStream counts as unavailable: one slow answer
/// under load is not an outage.
const MISSES_BEFORE_UNAVAILABLE: u32 = 2;

/// Which consumer to watch, and how often.
#[derive(Debug, Clone)]
pub struct BacklogSampling {
    /// The input stream.
    pub stream: String,
    /// The durable consumer the replicas share.
    pub consumer: String,
    /// Time between samples; also how long one sample may take.
    pub every: Duration,
}

/// Until `stop`, sets `alarm_digest_consumer_pending_messages` and
/// `alarm_digest_consumer_ack_pending_messages` from the consumer's info. A failed sample
/// (NATS down, no leader, consumer not created yet) keeps the last values and is retried
/// next time; with `health`, two failures in a row make the service not ready until the
/// consumer answers again.
pub async fn sample(
    js: Context,
    sampling: BacklogSampling,
    metrics: Arc<Metrics>,
    health: Option<Arc<Health>>,
    stop: CancellationToken,
) {
    let mut misses = 0u32;
    loop {
        let info = async {
            js.get_stream_no_info(&sampling.stream)
                .await?
                .consumer_info(&sampling.consumer)
                .await
                .map_err(async_nats::Error::from)
        };
        let outcome = tokio::select! {
            _ = stop.cancelled() => return,
            outcome = tokio::time::timeout(sampling.every.max(Duration::from_secs(1)), info) => outcome,
        };
        let answered = match outcome {
            Ok(Ok(info)) => {
                metrics.set_consumer_backlog(info.num_pending, info.num_ack_pending as u64);
                true
            }
            Ok(Err(e)) => {
                tracing::debug!(error = %e, consumer = %sampling.consumer, "cannot sample the consumer backlog");
                false
            }
            Err(_) => {
                tracing::debug!(consumer = %sampling.consumer, "sampling the consumer backlog timed out");
                false
            }
        };
        misses = if answered { 0 } else { misses + 1 };
        if let Some(health) = &health {
            if answered {
                health.set_jetstream(true);
            } else if misses >= MISSES_BEFORE_UNAVAILABLE {
                health.set_jetstream(false);
            }
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(sampling.every) => {}
        }
    }
}
