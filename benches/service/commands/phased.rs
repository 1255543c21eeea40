//! An alarm store that names the port method in progress, so the commands the driver
//! reports can be counted per phase of a digest (claim, read, prepare, record, release).

use super::Tally;
use alarm_digest::domain::ports::{
    AlarmActivityStore, AlarmRecord, AlarmStore, DigestClaim, PreparedDigest, SentDigest, StoreError,
};
use alarm_digest::domain::query::{AckOutcome, AlarmActivity, AlarmFilter, Counts, HistoryEntry, Page, PageRequest};
use alarm_digest::domain::retention::{Sweep, Swept};
use alarm_digest::domain::{AlarmEvent, AlarmId, ApplyOutcome, DueAlarm, EventTime, UserId};
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;

/// Delegates every method to `inner`, setting the tally's phase to the method's name first.
pub struct Phased {
    pub inner: Arc<dyn AlarmStore>,
    pub tally: Tally,
}

impl Phased {
    fn enter(&self, phase: &'static str) {
        self.tally.set_phase(phase);
    }
}

#[async_trait]
impl AlarmActivityStore for Phased {
    async fn activity(&self, filter: &AlarmFilter) -> Result<Vec<AlarmActivity>, StoreError> {
        self.enter("activity");
        self.inner.activity(filter).await
    }
}

#[async_trait]
impl AlarmStore for Phased {
    async fn apply(&self, events: &[AlarmEvent]) -> Result<Vec<ApplyOutcome>, StoreError> {
        self.enter("apply");
        self.inner.apply(events).await
    }

    async fn due_alarms(&self, user: &UserId) -> Result<Vec<DueAlarm>, StoreError> {
        self.enter("read");
        self.inner.due_alarms(user).await
    }

    async fn prepare_digest(&self, claim: &DigestClaim, digest: &PreparedDigest) -> Result<bool, StoreError> {
        self.enter("prepare");
        self.inner.prepare_digest(claim, digest).await
    }

    async fn abandon_digest(&self, claim: &DigestClaim) -> Result<bool, StoreError> {
        self.enter("abandon");
        self.inner.abandon_digest(claim).await
    }

    async fn record_delivery(&self, claim: &DigestClaim, digest: &PreparedDigest) -> Result<bool, StoreError> {
        self.enter("record");
        self.inner.record_delivery(claim, digest).await
    }

    async fn sent_digests(&self, user: &UserId) -> Result<Vec<SentDigest>, StoreError> {
        self.enter("sent");
        self.inner.sent_digests(user).await
    }

    async fn claim_digest(
        &self,
        user: &UserId,
        holder: &str,
        now: EventTime,
        ttl: Duration,
    ) -> Result<Option<DigestClaim>, StoreError> {
        self.enter("claim");
        self.inner.claim_digest(user, holder, now, ttl).await
    }

    async fn release_digest(&self, claim: &DigestClaim) -> Result<bool, StoreError> {
        self.enter("release");
        self.inner.release_digest(claim).await
    }

    async fn alarm(&self, user: &UserId, alarm: &AlarmId) -> Result<Option<AlarmRecord>, StoreError> {
        self.enter("alarm");
        self.inner.alarm(user, alarm).await
    }

    async fn list_alarms(&self, filter: &AlarmFilter, page: &PageRequest) -> Result<Page<AlarmRecord>, StoreError> {
        self.enter("list_alarms");
        self.inner.list_alarms(filter, page).await
    }

    async fn history(&self, user: &UserId, alarm: &AlarmId) -> Result<Vec<HistoryEntry>, StoreError> {
        self.enter("history");
        self.inner.history(user, alarm).await
    }

    async fn acknowledge(&self, user: &UserId, alarm: &AlarmId, at: EventTime) -> Result<AckOutcome, StoreError> {
        self.enter("acknowledge");
        self.inner.acknowledge(user, alarm, at).await
    }

    async fn counts(&self) -> Result<Counts, StoreError> {
        self.enter("counts");
        self.inner.counts().await
    }

    async fn trim_history(&self) -> Result<u64, StoreError> {
        self.enter("trim_history");
        self.inner.trim_history().await
    }

    async fn sweep(&self, sweep: &Sweep) -> Result<Swept, StoreError> {
        self.enter("sweep");
        self.inner.sweep(sweep).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.enter("ping");
        self.inner.ping().await
    }
}
