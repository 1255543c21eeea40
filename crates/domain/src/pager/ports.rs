//! The pager's ports: where policies and service states live, and how notifications leave.

use super::decide::Notification;
use super::incident::ServiceState;
use super::policy::EscalationPolicy;
use crate::ports::StoreError;
use crate::{EventTime, ServiceId};
use async_trait::async_trait;

/// A service's pager state as stored, with what the store needs to make writes conditional.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PagerRecord {
    /// Bumped by every write; 0 for a service never stored.
    pub revision: u64,
    /// Health and open incident.
    pub state: ServiceState,
    /// Notifications decided and stored with the state but not yet recorded as sent: the
    /// writer sends them, or, once its claim lapses, whoever claims the service next.
    pub outbox: Vec<Notification>,
    /// When a replica should next look at the service: the incident's timeout, or, while
    /// the outbox is not empty, when the writer's claim on it lapses.
    pub due_at: Option<EventTime>,
}

/// A notification recorded as sent, and when it was recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentNotification {
    /// What was sent.
    pub notification: Notification,
    /// When the pager recorded it as sent (just after the broker confirmed it).
    pub sent_at: EventTime,
}

/// Where escalation policies live, one per service.
///
/// Errors: `Unavailable` when the store could not be reached (a write may or may not have
/// landed; repeating it is safe); `Rejected` or `Corrupt` when retrying cannot help.
#[async_trait]
pub trait PolicyRepository: Send + Sync + 'static {
    /// The service's policy, if one was put.
    async fn policy(&self, service: &ServiceId) -> Result<Option<EscalationPolicy>, StoreError>;

    /// Creates or replaces the service's policy; `true` when it created it.
    async fn put_policy(&self, policy: &EscalationPolicy) -> Result<bool, StoreError>;

    /// Deletes the service's policy; `true` when there was one.
    async fn delete_policy(&self, service: &ServiceId) -> Result<bool, StoreError>;

    /// Up to `limit` services that have a policy, by ascending id, after `after`.
    async fn services_with_policy(&self, after: Option<&ServiceId>, limit: usize)
        -> Result<Vec<ServiceId>, StoreError>;
}

/// Where service states, their timers and sent notifications live.
///
/// Every write is atomic on its own and conditional: decisions are taken by the domain on
/// a record read at some revision, and land only if the record is still at that revision.
///
/// Errors: `Unavailable` when the write may or may not have landed (reading again tells);
/// `Rejected` or `Corrupt` when retrying cannot help.
#[async_trait]
pub trait PagerStore: Send + Sync + 'static {
    /// The service's record; `None` for a service never written.
    async fn pager_record(&self, service: &ServiceId) -> Result<Option<PagerRecord>, StoreError>;

    /// Writes `record` (its `revision` is ignored; the stored one becomes
    /// `expected_revision + 1`) only if the stored revision is still `expected_revision`
    /// (0: only if no record exists). `Ok(false)` when another writer got there first;
    /// nothing is written then.
    async fn save_pager_record(
        &self,
        service: &ServiceId,
        expected_revision: u64,
        record: &PagerRecord,
    ) -> Result<bool, StoreError>;

    /// Claims up to `limit` services whose `due_at` is at or before `now`, moving their
    /// `due_at` to `claim_until` in the same atomic step: of racing claimers exactly one
    /// gets each service, and a claimer that dies leaves it due again at `claim_until`.
    async fn claim_due(
        &self,
        now: EventTime,
        claim_until: EventTime,
        limit: usize,
    ) -> Result<Vec<ServiceId>, StoreError>;

    /// Whether the notification with this idempotency key was recorded as sent.
    async fn notification_sent(&self, key: &str) -> Result<bool, StoreError>;

    /// Records the notification as sent, under a unique index on its idempotency key;
    /// `Ok(false)` when that key was already recorded (nothing changes then).
    async fn record_notification(&self, notification: &Notification, sent_at: EventTime) -> Result<bool, StoreError>;

    /// Up to `limit` services with a stored record, in ascending service id order, starting
    /// after `after` (from the first when `None`): keyset paging, so a page costs `limit`
    /// reads however many services there are.
    async fn services(
        &self,
        after: Option<&ServiceId>,
        limit: usize,
    ) -> Result<Vec<(ServiceId, PagerRecord)>, StoreError>;

    /// Up to `limit` notifications recorded as sent for `service`, newest first (equal
    /// times in descending idempotency key order).
    async fn sent_notifications(&self, service: &ServiceId, limit: usize) -> Result<Vec<SentNotification>, StoreError>;

    /// Removes up to `limit` notification records sent before `sent_before_ms` (Unix
    /// milliseconds); returns how many went. A notification whose record is gone may be
    /// sent again only if its incident is replayed that much later.
    async fn sweep_notifications(&self, sent_before_ms: i64, limit: usize) -> Result<u64, StoreError>;
}

/// Why a notification could not be handed over.
#[derive(Debug, Clone, thiserror::Error)]
pub enum NotifyError {
    /// The broker did not confirm it; sending the same key again is safe.
    #[error("notification not confirmed: {0}")]
    NotConfirmed(#[source] crate::ports::Failure),
    /// It cannot be sent at all.
    #[error("notification refused: {0}")]
    Refused(#[source] crate::ports::Failure),
}

/// Hands notifications to whoever delivers e-mail and text messages.
#[async_trait]
pub trait Notifier: Send + Sync + 'static {
    /// Sends `notification` and returns once the broker has it durably. The same key sent
    /// twice within the broker's duplicate window is delivered once.
    async fn send(&self, notification: &Notification) -> Result<(), NotifyError>;
}
