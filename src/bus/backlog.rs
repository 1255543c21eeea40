//! Samples the shared JetStream consumer's backlog into the metrics every few seconds.

use crate::metrics::Metrics;
use async_nats::jetstream::Context;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Which consumer to watch, and how often.
#[derive(Debug, Clone)]
pub struct BacklogSampling {
    /// The input stream.
    pub stream: String,
    /// The durable consumer the replicas share.
    pub consumer: String,
    /// Time between samples.
    pub every: Duration,
}

/// Until `stop`, sets `alarm_digest_consumer_pending_messages` and
/// `alarm_digest_consumer_ack_pending_messages` from the consumer's info. A failed sample
/// (NATS down, consumer not created yet) keeps the last values and is retried next time.
pub async fn sample(js: Context, sampling: BacklogSampling, metrics: Arc<Metrics>, stop: CancellationToken) {
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
        match outcome {
            Ok(Ok(info)) => metrics.set_consumer_backlog(info.num_pending, info.num_ack_pending as u64),
            Ok(Err(e)) => {
                tracing::debug!(error = %e, consumer = %sampling.consumer, "cannot sample the consumer backlog")
            }
            Err(_) => tracing::debug!(consumer = %sampling.consumer, "sampling the consumer backlog timed out"),
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(sampling.every) => {}
        }
    }
}
