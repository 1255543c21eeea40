//! The alarm use cases: apply status changes (paging a service whose alarm turns CRITICAL,
//! when asked), record acknowledgements, answer a digest request exactly once per version
//! ([`send`]), and the queries and statistics the API reads ([`stats`]). The only caller
//! of the alarm store port.

mod paging;
mod send;
mod stats;
#[cfg(test)]
mod tests;

pub use send::{ClaimSettings, DigestError, DigestSent};
pub use stats::{AlarmStats, Window};

use crate::domain::ports::{AlarmRecord, AlarmStore, Clock, DigestPublisher, StoreError};
use crate::domain::query::{AckOutcome, AlarmFilter, Counts, HistoryEntry, Page, PageRequest};
use crate::domain::{AlarmEvent, AlarmId, ApplyOutcome, EventTime, UserId};
use crate::pager::{PagerReport, PagerService};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

/// What applying a batch of events did.
#[derive(Debug, Clone)]
pub struct Applied {
    /// Each event's outcome, in order.
    pub outcomes: Vec<ApplyOutcome>,
    /// The pager's reports of the alerts raised for alarms that turned CRITICAL.
    pub pages: Vec<PagerReport>,
}

/// The alarm use cases every entrance (NATS, HTTP) calls.
pub struct Digests {
    store: Arc<dyn AlarmStore>,
    publisher: Arc<dyn DigestPublisher>,
    clock: Arc<dyn Clock>,
    replica: String,
    claims: ClaimSettings,
    next_claim: AtomicU64,
    /// The pager, when an alarm of a service turning CRITICAL raises a `PagerAlert`.
    page_on_critical: Option<Arc<PagerService>>,
}

impl Digests {
    /// Wires the use cases; `replica` names this process in claims.
    pub fn new(
        store: Arc<dyn AlarmStore>,
        publisher: Arc<dyn DigestPublisher>,
        clock: Arc<dyn Clock>,
        replica: impl Into<String>,
        claims: ClaimSettings,
    ) -> Self {
        Self {
            store,
            publisher,
            clock,
            replica: replica.into(),
            claims,
            next_claim: AtomicU64::new(0),
            page_on_critical: None,
        }
    }

    /// Pages through `pager` for the service of every alarm that turns CRITICAL
    /// (`PAGE_ON_CRITICAL`), whichever entrance the event came through.
    pub fn paging_on_critical(mut self, pager: Arc<PagerService>) -> Self {
        self.page_on_critical = Some(pager);
        self
    }

    /// Applies events; when it returns `Ok` they are committed, and with paging on, the
    /// alert of each applied CRITICAL event of a service was raised (or given up on after
    /// retries, logged).
    pub async fn apply(&self, events: &[AlarmEvent]) -> Result<Applied, StoreError> {
        let outcomes = self.store.apply(events).await?;
        let pages = match &self.page_on_critical {
            Some(pager) => paging::page_critical(pager, events, &outcomes).await,
            None => Vec::new(),
        };
        Ok(Applied { outcomes, pages })
    }

    /// Records that `user` acknowledged `alarm` at `at`; idempotent.
    pub async fn acknowledge(&self, user: &UserId, alarm: &AlarmId, at: EventTime) -> Result<AckOutcome, StoreError> {
        self.store.acknowledge(user, alarm, at).await
    }

    /// One stored alarm, if any event for it was applied.
    pub async fn alarm(&self, user: &UserId, alarm: &AlarmId) -> Result<Option<AlarmRecord>, StoreError> {
        self.store.alarm(user, alarm).await
    }

    /// Alarms matching `filter`, one page.
    pub async fn alarms(&self, filter: &AlarmFilter, page: &PageRequest) -> Result<Page<AlarmRecord>, StoreError> {
        self.store.list_alarms(filter, page).await
    }

    /// The retained status changes of one alarm, in event-time order.
    pub async fn history(&self, user: &UserId, alarm: &AlarmId) -> Result<Vec<HistoryEntry>, StoreError> {
        self.store.history(user, alarm).await
    }

    /// Totals over the store.
    pub async fn counts(&self) -> Result<Counts, StoreError> {
        self.store.counts().await
    }

    /// Drops the histories beyond the configured number of alarms; how many.
    pub async fn trim_history(&self) -> Result<u64, StoreError> {
        self.store.trim_history().await
    }

    /// Whether the store answers, for readiness.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.store.ping().await
    }
}
