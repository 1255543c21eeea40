//! Prometheus metrics: one registry, typed handles for the code paths that record them.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::time::Duration;

/// Labels of the message counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MessageLabels {
    /// Input subject.
    pub subject: String,
    /// applied, stale, duplicate, invalid, dead_lettered, digest_sent.
    pub outcome: String,
}

/// Every metric the service records.
pub struct Metrics {
    registry: Registry,
    messages: Family<MessageLabels, Counter>,
    commit_seconds: Histogram,
    batch_events: Histogram,
    digest_seconds: Histogram,
    digest_alarms: Histogram,
    digests: Counter,
    claim_waits: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric registered.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let messages = Family::<MessageLabels, Counter>::default();
        registry.register(
            "alarm_digest_messages",
            "Input messages by subject and outcome",
            messages.clone(),
        );
        let commit_seconds = Histogram::new(exponential_buckets(0.0005, 2.0, 16));
        registry.register(
            "alarm_digest_store_commit_seconds",
            "Time to commit a batch of events",
            commit_seconds.clone(),
        );
        let batch_events = Histogram::new(exponential_buckets(1.0, 2.0, 11));
        registry.register(
            "alarm_digest_store_batch_events",
            "Events committed per store call",
            batch_events.clone(),
        );
        let digest_seconds = Histogram::new(exponential_buckets(0.001, 2.0, 16));
        registry.register(
            "alarm_digest_digest_seconds",
            "Digest request handling to publish ack",
            digest_seconds.clone(),
        );
        let digest_alarms = Histogram::new(exponential_buckets(1.0, 2.0, 15));
        registry.register(
            "alarm_digest_digest_alarms",
            "Alarms per published digest",
            digest_alarms.clone(),
        );
        let digests = Counter::default();
        registry.register("alarm_digest_digests_published", "Digests published", digests.clone());
        let claim_waits = Counter::default();
        registry.register(
            "alarm_digest_claim_waits",
            "Digest requests that waited for another replica's claim",
            claim_waits.clone(),
        );
        Self {
            registry,
            messages,
            commit_seconds,
            batch_events,
            digest_seconds,
            digest_alarms,
            digests,
            claim_waits,
        }
    }

    /// Counts one input message with its outcome.
    pub fn count_message(&self, subject: &str, outcome: &str) {
        self.messages
            .get_or_create(&MessageLabels {
                subject: subject.to_string(),
                outcome: outcome.to_string(),
            })
            .inc();
    }

    /// Records a committed batch.
    pub fn observe_commit(&self, took: Duration, events: usize) {
        self.commit_seconds.observe(took.as_secs_f64());
        self.batch_events.observe(events as f64);
    }

    /// Records a published digest.
    pub fn observe_digest(&self, took: Duration, alarms: usize, claim_wait: Duration) {
        self.digests.inc();
        self.digest_seconds.observe(took.as_secs_f64());
        self.digest_alarms.observe(alarms as f64);
        if claim_wait > Duration::from_millis(1) {
            self.claim_waits.inc();
        }
    }

    /// The registry in Prometheus text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}
