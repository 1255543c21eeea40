//! Reading alarm state for people and dashboards: one alarm, listings, history, totals
//! and statistics ([`stats`]). Read-only.

mod stats;

pub use stats::{AlarmStats, Window};

use domain::ports::{AlarmRecord, AlarmStore, StoreError};
use domain::query::{AlarmFilter, Counts, HistoryEntry, Page, PageRequest};
use domain::{AlarmId, UserId};
use std::sync::Arc;

/// The queries the API and the console read alarms through.
pub struct AlarmQueries {
    store: Arc<dyn AlarmStore>,
}

impl AlarmQueries {
    /// Reads from `store`.
    pub fn new(store: Arc<dyn AlarmStore>) -> Self {
        Self { store }
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
}
