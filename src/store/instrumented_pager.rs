//! The pager port's metrics decorator: every operation timed under its method's name, and
//! failures counted by kind, in the same series as the alarm store's.

use crate::domain::pager::{EscalationPolicy, Notification, PagerRecord, PagerStore, PolicyRepository};
use crate::domain::ports::StoreError;
use crate::domain::{EventTime, ServiceId};
use crate::metrics::Metrics;
use async_trait::async_trait;
use std::future::Future;
use std::sync::Arc;

/// Wraps a pager store or a policy repository; see
/// [`super::instrumented::InstrumentedStore`].
pub struct InstrumentedPager<S: ?Sized> {
    inner: Arc<S>,
    metrics: Arc<Metrics>,
}

impl<S: ?Sized> InstrumentedPager<S> {
    /// Wraps `inner`, recording into `metrics`.
    pub fn wrap(inner: Arc<S>, metrics: Arc<Metrics>) -> Arc<Self> {
        Arc::new(Self { inner, metrics })
    }

    async fn timed<T>(
        &self,
        operation: &'static str,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        super::instrumented::timed(&self.metrics, operation, call).await
    }
}

// One line per method, labelled with the method's name.
#[async_trait]
impl PolicyRepository for InstrumentedPager<dyn PolicyRepository> {
    async fn policy(&self, service: &ServiceId) -> Result<Option<EscalationPolicy>, StoreError> {
        self.timed("policy", self.inner.policy(service)).await
    }

    async fn put_policy(&self, policy: &EscalationPolicy) -> Result<bool, StoreError> {
        self.timed("put_policy", self.inner.put_policy(policy)).await
    }

    async fn delete_policy(&self, service: &ServiceId) -> Result<bool, StoreError> {
        self.timed("delete_policy", self.inner.delete_policy(service)).await
    }
}

#[async_trait]
impl PagerStore for InstrumentedPager<dyn PagerStore> {
    async fn pager_record(&self, service: &ServiceId) -> Result<Option<PagerRecord>, StoreError> {
        self.timed("pager_record", self.inner.pager_record(service)).await
    }

    async fn save_pager_record(
        &self,
        service: &ServiceId,
        expected_revision: u64,
        record: &PagerRecord,
    ) -> Result<bool, StoreError> {
        self.timed(
            "save_pager_record",
            self.inner.save_pager_record(service, expected_revision, record),
        )
        .await
    }

    async fn claim_due(
        &self,
        now: EventTime,
        claim_until: EventTime,
        limit: usize,
    ) -> Result<Vec<ServiceId>, StoreError> {
        self.timed("claim_due", self.inner.claim_due(now, claim_until, limit))
            .await
    }

    async fn notification_sent(&self, key: &str) -> Result<bool, StoreError> {
        self.timed("notification_sent", self.inner.notification_sent(key)).await
    }

    async fn record_notification(&self, notification: &Notification, sent_at: EventTime) -> Result<bool, StoreError> {
        self.timed(
            "record_notification",
            self.inner.record_notification(notification, sent_at),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::SqliteStore;

    #[tokio::test]
    async fn pager_operations_are_timed_under_their_method_name() {
        let metrics = Arc::new(Metrics::new());
        let inner: Arc<dyn PagerStore> = Arc::new(SqliteStore::open_in_memory(Default::default()).unwrap());
        let store = InstrumentedPager::wrap(inner, Arc::clone(&metrics));
        let service = ServiceId::parse("db").unwrap();
        assert_eq!(store.pager_record(&service).await.unwrap(), None);
        let text = metrics.encode();
        assert!(
            text.contains("alarm_digest_store_operation_seconds_count{operation=\"pager_record\"} 1\n"),
            "{text}"
        );
    }
}
