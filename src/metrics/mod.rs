//! Prometheus metrics: one registry, typed handles for the code paths that record them.
//!
//! The exposition is OpenMetrics text: counters are registered without `_total` and the
//! encoder appends it. [`process`] adds the standard `process_*` metrics at each scrape.

mod labels;
mod observers;
mod pager;
pub mod process;
mod retention;
mod schedules;
mod scraped;

pub use labels::{BuildLabels, HttpLabels, StoreErrorLabels, StoreOperationLabels, BUILD, STORE_ERROR_KINDS};

use nats::connect::ConnectionStats;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// The media type of [`Metrics::encode`]'s output.
pub use web::observer::EXPOSITION_CONTENT_TYPE as CONTENT_TYPE;

/// Labels of the message counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MessageLabels {
    /// Input subject.
    pub subject: String,
    /// applied, stale, duplicate, invalid, dead_lettered, digest_sent.
    pub outcome: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// Every metric the service records.
pub struct Metrics {
    registry: Registry,
    messages: Family<MessageLabels, Counter>,
    commit_seconds: Histogram,
    batch_events: Histogram,
    event_commit_seconds: Histogram,
    digest_seconds: Histogram,
    digest_alarms: Histogram,
    digests: Counter,
    claim_waits: Counter,
    store_seconds: HistogramFamily<StoreOperationLabels>,
    store_errors: Family<StoreErrorLabels, Counter>,
    http_seconds: HistogramFamily<HttpLabels>,
    consumer_pending: Gauge,
    consumer_ack_pending: Gauge,
    redeliveries: Counter,
    retries: Counter,
    digest_duplicates: Counter,
    pager: pager::PagerMetrics,
    retention: retention::RetentionMetrics,
    schedules: schedules::ScheduleMetrics,
}

fn store_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.0002, 2.0, 16))
}

fn http_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 14))
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
        let event_commit_seconds = Histogram::new(exponential_buckets(0.0005, 2.0, 16));
        registry.register(
            "alarm_digest_event_commit_seconds",
            "Time from receiving an event to its store commit",
            event_commit_seconds.clone(),
        );
        let store_seconds = HistogramFamily::<StoreOperationLabels>::new_with_constructor(store_buckets);
        registry.register(
            "alarm_digest_store_operation_seconds",
            "Store operations by kind",
            store_seconds.clone(),
        );
        let store_errors = Family::<StoreErrorLabels, Counter>::default();
        registry.register(
            "alarm_digest_store_errors",
            "Failed store operations by operation and error kind",
            store_errors.clone(),
        );
        let http_seconds = HistogramFamily::<HttpLabels>::new_with_constructor(http_buckets);
        registry.register(
            "alarm_digest_http_request_seconds",
            "HTTP requests by method, route and status",
            http_seconds.clone(),
        );
        let consumer_pending = Gauge::default();
        registry.register(
            "alarm_digest_consumer_pending_messages",
            "Messages in the input stream not yet delivered to the consumer (sampled)",
            consumer_pending.clone(),
        );
        let consumer_ack_pending = Gauge::default();
        registry.register(
            "alarm_digest_consumer_ack_pending_messages",
            "Messages delivered to a replica and not yet acknowledged (sampled)",
            consumer_ack_pending.clone(),
        );
        let redeliveries = Counter::default();
        registry.register(
            "alarm_digest_redelivered_messages",
            "Input messages received again: a lost ack, a crashed replica or a consumer leader that moved",
            redeliveries.clone(),
        );
        let retries = Counter::default();
        registry.register(
            "alarm_digest_retried_messages",
            "Input messages held through a failed try of their use case (a store outage), once per try",
            retries.clone(),
        );
        let digest_duplicates = Counter::default();
        registry.register(
            "alarm_digest_digest_duplicates",
            "Digest messages the digest stream already held (a re-publish), dropped by its duplicate window",
            digest_duplicates.clone(),
        );
        let build_info = Family::<BuildLabels, Gauge>::default();
        build_info.get_or_create(&BUILD).set(1);
        registry.register(
            "alarm_digest_build_info",
            "Version and git commit of the running binary; always 1",
            build_info,
        );
        let pager = pager::PagerMetrics::register(&mut registry);
        let retention = retention::RetentionMetrics::register(&mut registry);
        let schedules = schedules::ScheduleMetrics::register(&mut registry);
        registry.register_collector(Box::new(process::ProcessCollector::default()));
        Self {
            pager,
            retention,
            schedules,
            registry,
            messages,
            commit_seconds,
            batch_events,
            event_commit_seconds,
            digest_seconds,
            digest_alarms,
            digests,
            claim_waits,
            store_seconds,
            store_errors,
            http_seconds,
            consumer_pending,
            consumer_ack_pending,
            redeliveries,
            retries,
            digest_duplicates,
        }
    }

    /// Counts an input message delivered more than once.
    pub fn count_redelivery(&self) {
        self.redeliveries.inc();
    }

    /// Counts `messages` held through one more failed try: retries have their own counter,
    /// so the message counters count each message once.
    pub fn count_retries(&self, messages: usize) {
        self.retries.inc_by(messages as u64);
    }

    /// Counts digest messages the digest stream reported as duplicates.
    pub fn count_digest_duplicates(&self, messages: usize) {
        self.digest_duplicates.inc_by(messages as u64);
    }

    /// Exports the reconnect count of a NATS connection, read at each scrape.
    pub fn track_nats(&mut self, stats: Arc<ConnectionStats>) {
        self.registry.register_collector(Box::new(scraped::ScrapedCounter::new(
            "alarm_digest_nats_reconnects",
            "Times the NATS connection was re-established after a disconnect",
            move || stats.reconnects.load(Ordering::Relaxed),
        )));
    }

    /// Creates the message counters of `subject` at zero, so every outcome has a series
    /// from the start and the first occurrence shows in `rate()` and `increase()`.
    pub fn expect_messages(&self, subject: &str, outcomes: &[&str]) {
        for outcome in outcomes {
            let _ = self.messages.get_or_create(&MessageLabels {
                subject: subject.to_string(),
                outcome: outcome.to_string(),
            });
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

    /// Records the time from receiving one event to its commit.
    pub fn observe_event_commit(&self, took: Duration) {
        self.event_commit_seconds.observe(took.as_secs_f64());
    }

    /// Records one store operation; `error_kind` (one of [`STORE_ERROR_KINDS`]) names the
    /// error when it failed. The operation's error counters exist from its first call, at
    /// zero, so the first error shows in `rate()`.
    pub fn observe_store_operation(&self, operation: &'static str, took: Duration, error_kind: Option<&'static str>) {
        self.store_seconds
            .get_or_create(&StoreOperationLabels { operation })
            .observe(took.as_secs_f64());
        for kind in STORE_ERROR_KINDS {
            let counter = self.store_errors.get_or_create(&StoreErrorLabels { operation, kind });
            if error_kind == Some(kind) {
                counter.inc();
            }
        }
    }

    /// Records one answered HTTP request.
    pub fn observe_http(&self, labels: &HttpLabels, took: Duration) {
        self.http_seconds.get_or_create(labels).observe(took.as_secs_f64());
    }

    /// Sets the sampled backlog of the JetStream consumer.
    pub fn set_consumer_backlog(&self, pending: u64, ack_pending: u64) {
        self.consumer_pending.set(i64::try_from(pending).unwrap_or(i64::MAX));
        self.consumer_ack_pending
            .set(i64::try_from(ack_pending).unwrap_or(i64::MAX));
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

    /// Records what one pager input (alert, acknowledgement, recovery, timeout) did.
    pub fn observe_pager(&self, report: &usecases::pager::PagerReport) {
        self.pager.observe(report);
        match report.outcome {
            domain::pager::Outcome::Held => self.schedules.held(),
            domain::pager::Outcome::Released => self.schedules.released(),
            _ => {}
        }
    }

    /// Records one scheduled digest's occurrence fired `late_by` late, standing for
    /// `occurrences` (more than one when some were missed).
    pub fn observe_schedule_fired(&self, late_by: Duration, occurrences: u64) {
        self.schedules.fired(late_by, occurrences);
    }

    /// Records how many maintenance windows hold now.
    pub fn set_maintenance_windows_active(&self, active: usize) {
        self.schedules.windows_active(active);
    }

    /// Records what one retention sweep removed and the store's totals after it.
    pub fn observe_sweep(&self, report: &usecases::retention::SweepReport) {
        self.retention.observe(report);
    }

    /// The registry in Prometheus text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_line<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
        text.lines().find(|l| l.starts_with(prefix))
    }

    #[test]
    fn build_info_is_a_gauge_of_one_labelled_with_version_and_commit() {
        let text = Metrics::new().encode();
        assert!(text.contains("# TYPE alarm_digest_build_info gauge"), "{text}");
        let line = sample_line(&text, "alarm_digest_build_info{").unwrap();
        assert!(
            line.contains(&format!("version=\"{}\"", env!("CARGO_PKG_VERSION"))),
            "{line}"
        );
        assert!(line.contains("git_sha=\""), "{line}");
        assert!(line.ends_with(" 1"), "{line}");
    }

    #[test]
    fn failed_store_operations_are_timed_and_counted_by_kind() {
        let metrics = Metrics::new();
        metrics.observe_store_operation("apply", Duration::from_millis(3), None);
        metrics.observe_store_operation("apply", Duration::from_millis(3), Some("unavailable"));
        let text = metrics.encode();
        let count = sample_line(&text, "alarm_digest_store_operation_seconds_count{operation=\"apply\"}").unwrap();
        assert!(count.ends_with(" 2"), "{count}");
        assert!(
            text.contains("alarm_digest_store_errors_total{operation=\"apply\",kind=\"unavailable\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("alarm_digest_store_errors_total{operation=\"apply\",kind=\"corrupt\"} 0\n"),
            "{text}"
        );
    }

    #[test]
    fn expected_message_outcomes_are_exposed_at_zero_before_any_message() {
        let metrics = Metrics::new();
        metrics.expect_messages(
            "AlarmStatusChanged",
            &nats::inbound::InputKind::AlarmStatusChanged.outcomes(),
        );
        let text = metrics.encode();
        for outcome in nats::inbound::InputKind::AlarmStatusChanged.outcomes() {
            let line =
                format!("alarm_digest_messages_total{{subject=\"AlarmStatusChanged\",outcome=\"{outcome}\"}} 0\n");
            assert!(text.contains(&line), "missing {line} in\n{text}");
        }
    }

    #[test]
    fn nats_reconnects_are_read_from_the_connection_at_scrape_time() {
        let stats = Arc::new(ConnectionStats::default());
        let mut metrics = Metrics::new();
        metrics.track_nats(Arc::clone(&stats));
        stats.reconnects.fetch_add(2, Ordering::Relaxed);
        let text = metrics.encode();
        assert_eq!(
            sample_line(&text, "alarm_digest_nats_reconnects_total"),
            Some("alarm_digest_nats_reconnects_total 2")
        );
    }

    #[test]
    fn consumer_backlog_and_http_requests_are_exposed() {
        let metrics = Metrics::new();
        metrics.set_consumer_backlog(12, 3);
        let labels = HttpLabels {
            method: "GET".into(),
            route: "/readyz".into(),
            status: "503".into(),
        };
        metrics.observe_http(&labels, Duration::from_millis(1));
        let text = metrics.encode();
        assert!(text.contains("alarm_digest_consumer_pending_messages 12\n"), "{text}");
        assert!(
            text.contains("alarm_digest_consumer_ack_pending_messages 3\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "alarm_digest_http_request_seconds_count{method=\"GET\",route=\"/readyz\",status=\"503\"} 1\n"
            ),
            "{text}"
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn process_cpu_memory_and_file_descriptors_are_exposed_on_linux() {
        let text = Metrics::new().encode();
        for name in [
            "process_cpu_seconds_total ",
            "process_resident_memory_bytes ",
            "process_open_fds ",
            "process_start_time_seconds ",
        ] {
            assert!(sample_line(&text, name).is_some(), "{name} missing from\n{text}");
        }
    }
}
