//! Watches the shared JetStream consumer every second or so: its backlog goes into the
//! metrics, and whether its leader answers at all goes into readiness.

use crate::observer::BusObserver;
use async_nats::jetstream::stream::ClusterInfo;
use async_nats::jetstream::Context;
use domain::failure::Chain;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use usecases::health::Health;

/// Missed answers in a row after which JetStream counts as unavailable: one slow answer
/// under load is not an outage.
const MISSES_BEFORE_UNAVAILABLE: u32 = 2;

/// A peer last heard from longer ago than this no longer counts towards a quorum: the
/// leader of a group that lost its quorum keeps answering from its own state for a while
/// before it steps down, and nothing it holds can be committed meanwhile.
const PEER_SILENCE: Duration = Duration::from_secs(5);

/// Whether the consumer's group (leader and the peers it reports) has a quorum of members
/// that answer; a consumer that is not clustered always does.
fn has_quorum(cluster: Option<&ClusterInfo>) -> bool {
    let Some(cluster) = cluster else { return true };
    let members = cluster.replicas.len() + 1;
    let answering = 1 + cluster
        .replicas
        .iter()
        .filter(|peer| peer.current && !peer.offline && peer.active <= PEER_SILENCE)
        .count();
    answering * 2 > members
}

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
    observer: Arc<dyn BusObserver>,
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
                observer.consumer_backlog(info.num_pending, info.num_ack_pending as u64);
                let quorum = has_quorum(info.cluster.as_ref());
                if !quorum {
                    tracing::debug!(consumer = %sampling.consumer, "the consumer's leader answers but has lost its quorum");
                }
                quorum
            }
            Ok(Err(e)) => {
                tracing::debug!(error = %Chain(&*e), consumer = %sampling.consumer, "cannot sample the consumer backlog");
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

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster(peers: serde_json::Value) -> ClusterInfo {
        serde_json::from_value(serde_json::json!({ "name": "c", "leader": "n1", "replicas": peers })).unwrap()
    }

    fn peer(name: &str, current: bool, active_ms: u64, offline: bool) -> serde_json::Value {
        serde_json::json!({ "name": name, "current": current, "active": active_ms * 1_000_000, "offline": offline })
    }

    #[test]
    fn a_leader_with_one_of_two_peers_answering_has_its_quorum() {
        let one_down = cluster(serde_json::json!([
            peer("n2", true, 200, false),
            peer("n3", false, 9_000, true)
        ]));
        assert!(has_quorum(Some(&one_down)));
        assert!(has_quorum(None), "a single server has no group to lose");
    }

    #[test]
    fn a_leader_whose_peers_are_silent_or_offline_has_lost_its_quorum() {
        let both_down = cluster(serde_json::json!([
            peer("n2", true, 8_000, false),
            peer("n3", false, 9_000, true)
        ]));
        assert!(!has_quorum(Some(&both_down)));
        let offline = cluster(serde_json::json!([
            peer("n2", true, 100, true),
            peer("n3", true, 100, true)
        ]));
        assert!(!has_quorum(Some(&offline)));
    }
}
