//! The store decorator's pager and policy methods: every operation timed under its
//! method's name, and failures counted by kind, in the same series as the alarm store's.

use super::instrumented::Instrumented;
use async_trait::async_trait;
use domain::pager::{EscalationPolicy, Notification, PagerRecord, PagerStore, PolicyRepository, SentNotification};
use domain::ports::StoreError;
use domain::{EventTime, ServiceId};

// One line per method, labelled with the method's name.
#[async_trait]
impl PolicyRepository for Instrumented<dyn PolicyRepository> {
    async fn policy(&self, service: &ServiceId) -> Result<Option<EscalationPolicy>, StoreError> {
        self.timed("policy", self.inner().policy(service)).await
    }

    async fn put_policy(&self, policy: &EscalationPolicy) -> Result<bool, StoreError> {
        self.timed("put_policy", self.inner().put_policy(policy)).await
    }

    async fn delete_policy(&self, service: &ServiceId) -> Result<bool, StoreError> {
        self.timed("delete_policy", self.inner().delete_policy(service)).await
    }

    async fn services_with_policy(
        &self,
        after: Option<&ServiceId>,
        limit: usize,
    ) -> Result<Vec<ServiceId>, StoreError> {
        self.timed("services_with_policy", self.inner().services_with_policy(after, limit))
            .await
    }
}

#[async_trait]
impl PagerStore for Instrumented<dyn PagerStore> {
    async fn pager_record(&self, service: &ServiceId) -> Result<Option<PagerRecord>, StoreError> {
        self.timed("pager_record", self.inner().pager_record(service)).await
    }

    async fn save_pager_record(
        &self,
        service: &ServiceId,
        expected_revision: u64,
        record: &PagerRecord,
    ) -> Result<bool, StoreError> {
        self.timed(
            "save_pager_record",
            self.inner().save_pager_record(service, expected_revision, record),
        )
        .await
    }

    async fn claim_due(
        &self,
        now: EventTime,
        claim_until: EventTime,
        limit: usize,
    ) -> Result<Vec<ServiceId>, StoreError> {
        self.timed("claim_due", self.inner().claim_due(now, claim_until, limit))
            .await
    }

    async fn notification_sent(&self, key: &str) -> Result<bool, StoreError> {
        self.timed("notification_sent", self.inner().notification_sent(key))
            .await
    }

    async fn record_notification(&self, notification: &Notification, sent_at: EventTime) -> Result<bool, StoreError> {
        self.timed(
            "record_notification",
            self.inner().record_notification(notification, sent_at),
        )
        .await
    }

    async fn services(
        &self,
        after: Option<&ServiceId>,
        limit: usize,
    ) -> Result<Vec<(ServiceId, PagerRecord)>, StoreError> {
        self.timed("services", self.inner().services(after, limit)).await
    }

    async fn sent_notifications(&self, service: &ServiceId, limit: usize) -> Result<Vec<SentNotification>, StoreError> {
        self.timed("sent_notifications", self.inner().sent_notifications(service, limit))
            .await
    }

    async fn sweep_notifications(&self, sent_before_ms: i64, limit: usize) -> Result<u64, StoreError> {
        self.timed(
            "sweep_notifications",
            self.inner().sweep_notifications(sent_before_ms, limit),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metrics;
    use std::sync::Arc;
    use store_sqlite::SqliteStore;

    #[tokio::test]
    async fn pager_operations_are_timed_under_their_method_name() {
        let metrics = Arc::new(Metrics::new());
        let inner: Arc<dyn PagerStore> = Arc::new(SqliteStore::open_in_memory(Default::default()).unwrap());
        let store = Instrumented::wrap(inner, Arc::clone(&metrics));
        let service = ServiceId::parse("db").unwrap();
        assert_eq!(store.pager_record(&service).await.unwrap(), None);
        let text = metrics.encode();
        assert!(
            text.contains("alarm_digest_store_operation_seconds_count{operation=\"pager_record\"} 1\n"),
            "{text}"
        );
    }
}
