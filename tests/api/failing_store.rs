//! A store that can be told to stop committing: every other call goes to the real store
//! beneath, so a test sees what the API answers while writes fail and after they recover.

use alarm_digest::domain::ports::{
    AlarmActivityStore, AlarmRecord, AlarmStore, DigestClaim, PreparedDigest, SentDigest, StoreError,
};
use alarm_digest::domain::query::{AckOutcome, AlarmActivity, AlarmFilter, Counts, HistoryEntry, Page, PageRequest};
use alarm_digest::domain::retention::{Sweep, Swept};
use alarm_digest::domain::{AlarmEvent, AlarmId, ApplyOutcome, DueAlarm, EventTime, UserId};
use async_trait::async_trait;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The real store, whose `apply` fails as an unreachable store does while `down` is set.
pub struct FailingCommits {
    inner: Arc<dyn AlarmStore>,
    down: AtomicBool,
}

impl FailingCommits {
    /// Wraps `inner`, committing until told otherwise.
    pub fn wrap(inner: Arc<dyn AlarmStore>) -> Arc<Self> {
        Arc::new(Self {
            inner,
            down: AtomicBool::new(false),
        })
    }

    /// From now on, commits fail (`true`) or go through (`false`).
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }
}

#[async_trait]
impl AlarmActivityStore for FailingCommits {
    async fn activity(&self, filter: &AlarmFilter) -> Result<Vec<AlarmActivity>, StoreError> {
        self.inner.activity(filter).await
    }
}

#[async_trait]
impl AlarmStore for FailingCommits {
    async fn apply(&self, events: &[AlarmEvent]) -> Result<Vec<ApplyOutcome>, StoreError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("the test took the store down".into()));
        }
        self.inner.apply(events).await
    }
    async fn due_alarms(&self, user: &UserId) -> Result<Vec<DueAlarm>, StoreError> {
        self.inner.due_alarms(user).await
    }
    async fn prepare_digest(&self, claim: &DigestClaim, digest: &PreparedDigest) -> Result<bool, StoreError> {
        self.inner.prepare_digest(claim, digest).await
    }
    async fn abandon_digest(&self, claim: &DigestClaim) -> Result<bool, StoreError> {
        self.inner.abandon_digest(claim).await
    }
    async fn record_delivery(&self, claim: &DigestClaim, digest: &PreparedDigest) -> Result<bool, StoreError> {
        self.inner.record_delivery(claim, digest).await
    }
    async fn sent_digests(&self, user: &UserId) -> Result<Vec<SentDigest>, StoreError> {
        self.inner.sent_digests(user).await
    }
    async fn claim_digest(
        &self,
        user: &UserId,
        holder: &str,
        now: EventTime,
        ttl: Duration,
    ) -> Result<Option<DigestClaim>, StoreError> {
        self.inner.claim_digest(user, holder, now, ttl).await
    }
    async fn release_digest(&self, claim: &DigestClaim) -> Result<bool, StoreError> {
        self.inner.release_digest(claim).await
    }
    async fn alarm(&self, user: &UserId, alarm: &AlarmId) -> Result<Option<AlarmRecord>, StoreError> {
        self.inner.alarm(user, alarm).await
    }
    async fn list_alarms(&self, filter: &AlarmFilter, page: &PageRequest) -> Result<Page<AlarmRecord>, StoreError> {
        self.inner.list_alarms(filter, page).await
    }
    async fn history(&self, user: &UserId, alarm: &AlarmId) -> Result<Vec<HistoryEntry>, StoreError> {
        self.inner.history(user, alarm).await
    }
    async fn acknowledge(&self, user: &UserId, alarm: &AlarmId, at: EventTime) -> Result<AckOutcome, StoreError> {
        self.inner.acknowledge(user, alarm, at).await
    }
    async fn counts(&self) -> Result<Counts, StoreError> {
        self.inner.counts().await
    }
    async fn trim_history(&self) -> Result<u64, StoreError> {
        self.inner.trim_history().await
    }
    async fn sweep(&self, sweep: &Sweep) -> Result<Swept, StoreError> {
        self.inner.sweep(sweep).await
    }
    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
}
