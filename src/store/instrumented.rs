//! The one store decorator: every operation of a port timed under its method's name, and
//! failures counted by kind. This file holds it and its alarm-store methods;
//! [`super::instrumented_pager`] its pager and policy methods.

use super::heartbeat::StoreHeartbeat;
use crate::metrics::Metrics;
use async_trait::async_trait;
use domain::ports::{AlarmActivityStore, AlarmRecord, AlarmStore, DigestClaim, PreparedDigest, SentDigest, StoreError};
use domain::query::{AckOutcome, AlarmActivity, AlarmFilter, Counts, HistoryEntry, Page, PageRequest};
use domain::retention::{Sweep, Swept};
use domain::{AlarmEvent, AlarmId, ApplyOutcome, DueAlarm, EventTime, UserId};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Wraps a port (`dyn AlarmStore`, `dyn PagerStore`, `dyn PolicyRepository`); every call
/// is recorded as `alarm_digest_store_operation_seconds{operation}` and, when it fails,
/// `alarm_digest_store_errors_total{operation,kind}`.
pub struct Instrumented<S: ?Sized> {
    inner: Arc<S>,
    metrics: Arc<Metrics>,
    heartbeat: Arc<StoreHeartbeat>,
}

impl<S: ?Sized> Instrumented<S> {
    /// Wraps `inner`, recording into `metrics`.
    pub fn wrap(inner: Arc<S>, metrics: Arc<Metrics>) -> Arc<Self> {
        Self::wrap_with(inner, metrics, Arc::default())
    }

    /// Wraps `inner`, recording into `metrics`, and each call that succeeds into `heartbeat`.
    pub fn wrap_with(inner: Arc<S>, metrics: Arc<Metrics>, heartbeat: Arc<StoreHeartbeat>) -> Arc<Self> {
        Arc::new(Self {
            inner,
            metrics,
            heartbeat,
        })
    }

    /// The inner port.
    pub(super) fn inner(&self) -> &S {
        &self.inner
    }

    /// Runs one operation of the inner port and records how long it took and how it ended.
    pub(super) async fn timed<T>(
        &self,
        operation: &'static str,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let started = Instant::now();
        let result = call.await;
        let error = result.as_ref().err().map(StoreError::kind);
        if error.is_none() {
            self.heartbeat.beat();
        }
        self.metrics
            .observe_store_operation(operation, started.elapsed(), error);
        result
    }
}

// One line per method: the operation label is the method's name. A method added to the
// port is added here the same way.
#[async_trait]
impl AlarmActivityStore for Instrumented<dyn AlarmStore> {
    async fn activity(&self, filter: &AlarmFilter) -> Result<Vec<AlarmActivity>, StoreError> {
        self.timed("activity", self.inner.activity(filter)).await
    }
}

#[async_trait]
impl AlarmStore for Instrumented<dyn AlarmStore> {
    async fn apply(&self, events: &[AlarmEvent]) -> Result<Vec<ApplyOutcome>, StoreError> {
        self.timed("apply", self.inner.apply(events)).await
    }

    async fn due_alarms(&self, user: &UserId) -> Result<Vec<DueAlarm>, StoreError> {
        self.timed("due_alarms", self.inner.due_alarms(user)).await
    }

    async fn prepare_digest(&self, claim: &DigestClaim, digest: &PreparedDigest) -> Result<bool, StoreError> {
        self.timed("prepare_digest", self.inner.prepare_digest(claim, digest))
            .await
    }

    async fn abandon_digest(&self, claim: &DigestClaim) -> Result<bool, StoreError> {
        self.timed("abandon_digest", self.inner.abandon_digest(claim)).await
    }

    async fn record_delivery(&self, claim: &DigestClaim, digest: &PreparedDigest) -> Result<bool, StoreError> {
        self.timed("record_delivery", self.inner.record_delivery(claim, digest))
            .await
    }

    async fn sent_digests(&self, user: &UserId) -> Result<Vec<SentDigest>, StoreError> {
        self.timed("sent_digests", self.inner.sent_digests(user)).await
    }

    async fn claim_digest(
        &self,
        user: &UserId,
        holder: &str,
        now: EventTime,
        ttl: Duration,
    ) -> Result<Option<DigestClaim>, StoreError> {
        self.timed("claim_digest", self.inner.claim_digest(user, holder, now, ttl))
            .await
    }

    async fn release_digest(&self, claim: &DigestClaim) -> Result<bool, StoreError> {
        self.timed("release_digest", self.inner.release_digest(claim)).await
    }

    async fn alarm(&self, user: &UserId, alarm: &AlarmId) -> Result<Option<AlarmRecord>, StoreError> {
        self.timed("alarm", self.inner.alarm(user, alarm)).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.timed("ping", self.inner.ping()).await
    }

    async fn list_alarms(&self, filter: &AlarmFilter, page: &PageRequest) -> Result<Page<AlarmRecord>, StoreError> {
        self.timed("list_alarms", self.inner.list_alarms(filter, page)).await
    }

    async fn history(&self, user: &UserId, alarm: &AlarmId) -> Result<Vec<HistoryEntry>, StoreError> {
        self.timed("history", self.inner.history(user, alarm)).await
    }

    async fn acknowledge(&self, user: &UserId, alarm: &AlarmId, at: EventTime) -> Result<AckOutcome, StoreError> {
        self.timed("acknowledge", self.inner.acknowledge(user, alarm, at)).await
    }

    async fn counts(&self) -> Result<Counts, StoreError> {
        self.timed("counts", self.inner.counts()).await
    }

    async fn trim_history(&self) -> Result<u64, StoreError> {
        self.timed("trim_history", self.inner.trim_history()).await
    }

    async fn sweep(&self, sweep: &Sweep) -> Result<Swept, StoreError> {
        self.timed("sweep", self.inner.sweep(sweep)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use store_sqlite::SqliteStore;

    /// A store that is always down.
    struct Down;

    #[async_trait]
    impl AlarmActivityStore for Down {
        async fn activity(&self, _: &AlarmFilter) -> Result<Vec<AlarmActivity>, StoreError> {
            Err(StoreError::Unavailable("down".into()))
        }
    }

    #[async_trait]
    impl AlarmStore for Down {
        async fn apply(&self, _: &[AlarmEvent]) -> Result<Vec<ApplyOutcome>, StoreError> {
            Err(StoreError::Unavailable("down".into()))
        }
        async fn due_alarms(&self, _: &UserId) -> Result<Vec<DueAlarm>, StoreError> {
            Err(StoreError::Unavailable("down".into()))
        }
        async fn prepare_digest(&self, _: &DigestClaim, _: &PreparedDigest) -> Result<bool, StoreError> {
            Err(StoreError::Unavailable("down".into()))
        }
        async fn abandon_digest(&self, _: &DigestClaim) -> Result<bool, StoreError> {
            Err(StoreError::Unavailable("down".into()))
        }
        async fn record_delivery(&self, _: &DigestClaim, _: &PreparedDigest) -> Result<bool, StoreError> {
            Err(StoreError::Unavailable("down".into()))
        }
        async fn sent_digests(&self, _: &UserId) -> Result<Vec<SentDigest>, StoreError> {
            Err(StoreError::Unavailable("down".into()))
        }
        async fn claim_digest(
            &self,
            _: &UserId,
            _: &str,
            _: EventTime,
            _: Duration,
        ) -> Result<Option<DigestClaim>, StoreError> {
            Err(StoreError::Unavailable("down".into()))
        }
        async fn release_digest(&self, _: &DigestClaim) -> Result<bool, StoreError> {
            Err(StoreError::Unavailable("down".into()))
        }
        async fn alarm(&self, _: &UserId, _: &AlarmId) -> Result<Option<AlarmRecord>, StoreError> {
            Err(StoreError::Corrupt("bad row".into()))
        }
        async fn list_alarms(&self, _: &AlarmFilter, _: &PageRequest) -> Result<Page<AlarmRecord>, StoreError> {
            Err(StoreError::Unavailable("down".into()))
        }
        async fn history(&self, _: &UserId, _: &AlarmId) -> Result<Vec<HistoryEntry>, StoreError> {
            Err(StoreError::Unavailable("down".into()))
        }
        async fn acknowledge(&self, _: &UserId, _: &AlarmId, _: EventTime) -> Result<AckOutcome, StoreError> {
            Err(StoreError::Unavailable("down".into()))
        }
        async fn counts(&self) -> Result<Counts, StoreError> {
            Err(StoreError::Unavailable("down".into()))
        }
        async fn trim_history(&self) -> Result<u64, StoreError> {
            Err(StoreError::Unavailable("down".into()))
        }
        async fn sweep(&self, _: &Sweep) -> Result<Swept, StoreError> {
            Err(StoreError::Unavailable("down".into()))
        }
        async fn ping(&self) -> Result<(), StoreError> {
            Err(StoreError::Unavailable("down".into()))
        }
    }

    #[tokio::test]
    async fn successful_operations_are_timed_under_their_method_name() {
        let metrics = Arc::new(Metrics::new());
        let store = Instrumented::<dyn AlarmStore>::wrap(
            Arc::new(SqliteStore::open_in_memory(Default::default()).unwrap()),
            Arc::clone(&metrics),
        );
        store.ping().await.unwrap();
        store.ping().await.unwrap();
        let text = metrics.encode();
        assert!(
            text.contains("alarm_digest_store_operation_seconds_count{operation=\"ping\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("alarm_digest_store_errors_total{operation=\"ping\",kind=\"unavailable\"} 0\n"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn failures_pass_through_unchanged_and_are_counted_by_kind() {
        let metrics = Arc::new(Metrics::new());
        let store = Instrumented::<dyn AlarmStore>::wrap(Arc::new(Down), Arc::clone(&metrics));
        let err = store.ping().await.unwrap_err();
        assert!(matches!(&err, StoreError::Unavailable(m) if m.to_string() == "down"));
        let user = UserId::parse("1").unwrap();
        let alarm = AlarmId::parse("disk").unwrap();
        assert!(matches!(store.alarm(&user, &alarm).await, Err(StoreError::Corrupt(_))));
        let text = metrics.encode();
        assert!(
            text.contains("alarm_digest_store_errors_total{operation=\"ping\",kind=\"unavailable\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("alarm_digest_store_errors_total{operation=\"alarm\",kind=\"corrupt\"} 1\n"),
            "{text}"
        );
    }
}
