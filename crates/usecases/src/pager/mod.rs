//! The pager's use cases over its ports: alerts, acknowledgements, recoveries and
//! timeouts decided by the domain, written with a conditional update, then notified.
//!
//! A decision and the notifications it asks for are stored together (the notifications
//! in the record's outbox) in one write that lands only on the revision it was decided
//! from, so of racing replicas exactly one decision wins. The winner sends the outbox
//! (each notification published under its idempotency key, then recorded under a unique
//! index) and clears it; if it dies first, the record falls due when its claim lapses and
//! the replica that claims it sends what is left.

pub mod maintenance;
pub mod timer;

#[cfg(test)]
mod tests;

use crate::observer::{unobserved, Observer};
use domain::failure::Chain;
use domain::pager::decide::{self, Alert, Decision, Notification, Outcome};
use domain::pager::{
    maintenance_until, EscalationPolicy, MaintenanceStore, Notifier, NotifyError, PagerRecord, PagerStore,
    PolicyRepository, SentNotification, ServiceState,
};
use domain::ports::{Clock, StoreError};
use domain::{EventTime, ServiceId};
use std::sync::Arc;
use std::time::Duration;

/// How often a write that lost to another writer is decided again before giving up.
const WRITE_ATTEMPTS: usize = 20;

/// The pager's timing.
#[derive(Debug, Clone, Copy)]
pub struct PagerSettings {
    /// How long a level has to acknowledge before the next one is notified (`ACK_TIMEOUT`).
    pub ack_timeout: Duration,
    /// How long a replica's claim on a service (to send its outbox or fire its timeout)
    /// lasts if the replica dies (`PAGER_CLAIM_TTL`).
    pub claim_ttl: Duration,
    /// Most services one timer pass claims.
    pub claim_batch: usize,
}

impl Default for PagerSettings {
    fn default() -> Self {
        Self {
            ack_timeout: Duration::from_secs(15 * 60),
            claim_ttl: Duration::from_secs(30),
            claim_batch: 100,
        }
    }
}

/// Why a pager input could not be handled; nothing was decided unless said otherwise.
#[derive(Debug, thiserror::Error)]
pub enum PagerError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The broker did not take a notification; it waits in the outbox.
    #[error(transparent)]
    Notify(#[from] NotifyError),
    /// Other writers kept changing the service between our read and our write.
    #[error("service {0} kept changing under concurrent writers; retry")]
    Contention(ServiceId),
    /// The pager was built without a store of maintenance windows.
    #[error("maintenance windows are not kept by this pager")]
    NoMaintenance,
}

impl PagerError {
    /// Whether the same input may succeed later.
    pub fn is_transient(&self) -> bool {
        match self {
            PagerError::Store(e) => e.is_transient(),
            PagerError::Notify(e) => matches!(e, NotifyError::NotConfirmed(_)),
            PagerError::Contention(_) => true,
            PagerError::NoMaintenance => false,
        }
    }
}

/// What handling one input did.
#[derive(Debug, Clone)]
pub struct PagerReport {
    /// The service.
    pub service_id: ServiceId,
    /// What the domain decided.
    pub outcome: Outcome,
    /// Notifications this call sent and recorded (never one recorded elsewhere).
    pub sent: Vec<Notification>,
    /// From the incident's opening to its acknowledgement, when this call acknowledged it.
    pub time_to_acknowledge: Option<Duration>,
    /// Notifications decided but not sent yet: they wait in the outbox for a retry.
    pub undelivered: usize,
}

/// One page of services, in ascending id order.
#[derive(Debug, Clone)]
pub struct ServicePage {
    /// The services and their records.
    pub services: Vec<(ServiceId, PagerRecord)>,
    /// Pass as `after` for the next page; `None` on the last one.
    pub next_after: Option<ServiceId>,
}

/// The first `limit` ids of two ascending pages, each once: a recorded service with its
/// record, a service that only has a policy with a fresh (healthy) one. Each input holds
/// the first `limit` of its kind after the same cursor, so the merge's first `limit` are
/// the first `limit` of the union.
fn merge_by_id(
    recorded: Vec<(ServiceId, PagerRecord)>,
    with_policy: Vec<ServiceId>,
    limit: usize,
) -> Vec<(ServiceId, PagerRecord)> {
    let mut merged = Vec::with_capacity(limit);
    let mut recorded = recorded.into_iter().peekable();
    let mut with_policy = with_policy.into_iter().peekable();
    while merged.len() < limit {
        let next = match (recorded.peek(), with_policy.peek()) {
            (Some((r, _)), Some(p)) if p < r => (with_policy.next().expect("peeked"), PagerRecord::default()),
            (Some((r, _)), Some(p)) if p == r => {
                with_policy.next();
                recorded.next().expect("peeked")
            }
            (Some(_), _) => recorded.next().expect("peeked"),
            (None, Some(_)) => (with_policy.next().expect("peeked"), PagerRecord::default()),
            (None, None) => break,
        };
        merged.push(next);
    }
    merged
}

/// The pager both intakes (NATS, HTTP) and the timer loop drive.
pub struct PagerService {
    policies: Arc<dyn PolicyRepository>,
    store: Arc<dyn PagerStore>,
    notifier: Arc<dyn Notifier>,
    clock: Arc<dyn Clock>,
    settings: PagerSettings,
    observer: Arc<dyn Observer>,
    maintenance: Option<Arc<dyn MaintenanceStore>>,
}

impl PagerService {
    /// Wires the pager.
    pub fn new(
        policies: Arc<dyn PolicyRepository>,
        store: Arc<dyn PagerStore>,
        notifier: Arc<dyn Notifier>,
        clock: Arc<dyn Clock>,
        settings: PagerSettings,
    ) -> Self {
        Self {
            policies,
            store,
            notifier,
            clock,
            settings,
            observer: unobserved(),
            maintenance: None,
        }
    }

    /// Holds the incidents of services a maintenance window in `windows` covers.
    pub fn with_maintenance(mut self, windows: Arc<dyn MaintenanceStore>) -> Self {
        self.maintenance = Some(windows);
        self
    }

    /// When the maintenance of `service` ends, if a window holds it at `now`.
    async fn maintenance_until(&self, service: &ServiceId, now: EventTime) -> Result<Option<EventTime>, PagerError> {
        let Some(store) = &self.maintenance else {
            return Ok(None);
        };
        Ok(maintenance_until(&store.windows().await?, service, now))
    }

    /// Reports every handled alert, acknowledgement, recovery and timeout to `observer`.
    pub fn observed_by(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observer = observer;
        self
    }

    /// Tells the observer of `report` and hands it back.
    fn observed(&self, report: PagerReport) -> PagerReport {
        self.observer.paged(&report);
        report
    }

    /// The service's escalation policy, if one was put.
    pub async fn policy(&self, service: &ServiceId) -> Result<Option<EscalationPolicy>, PagerError> {
        Ok(self.policies.policy(service).await?)
    }

    /// Creates or replaces a service's escalation policy; `true` when it created it.
    pub async fn put_policy(&self, policy: &EscalationPolicy) -> Result<bool, PagerError> {
        Ok(self.policies.put_policy(policy).await?)
    }

    /// Deletes a service's escalation policy; `true` when there was one. Its open incident,
    /// if any, notifies nobody more.
    pub async fn delete_policy(&self, service: &ServiceId) -> Result<bool, PagerError> {
        Ok(self.policies.delete_policy(service).await?)
    }

    /// The record of a service the pager knows (it has a record or a policy); `None` for
    /// one it never heard of.
    pub async fn known_service(&self, service: &ServiceId) -> Result<Option<PagerRecord>, PagerError> {
        if let Some(record) = self.store.pager_record(service).await? {
            return Ok(Some(record));
        }
        Ok(self.policies.policy(service).await?.map(|_| PagerRecord::default()))
    }

    /// A page of up to `limit` monitored services (an alert reached them, or they have a
    /// policy), by ascending id, after `after`; `next_after` is set when more follow. A
    /// service with a policy and no alert yet is healthy.
    pub async fn services(&self, after: Option<&ServiceId>, limit: usize) -> Result<ServicePage, PagerError> {
        let wanted = limit.saturating_add(1);
        let recorded = self.store.services(after, wanted).await?;
        let with_policy = self.policies.services_with_policy(after, wanted).await?;
        let mut services = merge_by_id(recorded, with_policy, wanted);
        let next_after = if services.len() > limit {
            services.truncate(limit);
            services.last().map(|(id, _)| id.clone())
        } else {
            None
        };
        Ok(ServicePage { services, next_after })
    }

    /// The last `limit` notifications sent for `service`, newest first.
    pub async fn sent_notifications(
        &self,
        service: &ServiceId,
        limit: usize,
    ) -> Result<Vec<SentNotification>, PagerError> {
        Ok(self.store.sent_notifications(service, limit).await?)
    }

    /// How long a level has to acknowledge before the next one is notified.
    pub fn ack_timeout(&self) -> Duration {
        self.settings.ack_timeout
    }

    /// The pager's clock: what "now" is for its timeouts.
    pub fn now(&self) -> EventTime {
        self.clock.now()
    }

    /// An alert: opens an incident and notifies level 1 when the service was healthy.
    pub async fn alert(&self, alert: &Alert) -> Result<PagerReport, PagerError> {
        let ack_timeout = self.settings.ack_timeout;
        let maintenance = self.maintenance_until(&alert.service_id, self.clock.now()).await?;
        let report = self
            .transition(&alert.service_id, |state, policy, now| {
                decide::raise(state, policy, alert, now, ack_timeout, maintenance)
            })
            .await?;
        Ok(self.observed(report))
    }

    /// Someone acknowledges the open incident: escalation stops.
    pub async fn acknowledge(&self, service: &ServiceId, by: Option<&str>) -> Result<PagerReport, PagerError> {
        let report = self
            .transition(service, |state, _, now| decide::acknowledge(state, by, now))
            .await?;
        Ok(self.observed(report))
    }

    /// The service is healthy again: its incident closes.
    pub async fn healthy(&self, service: &ServiceId) -> Result<PagerReport, PagerError> {
        let report = self.transition(service, |state, _, _| decide::recover(state)).await?;
        Ok(self.observed(report))
    }

    /// The service's record: health, open incident, pending outbox (a default record for a
    /// service never seen).
    pub async fn record(&self, service: &ServiceId) -> Result<PagerRecord, PagerError> {
        Ok(self.store.pager_record(service).await?.unwrap_or_default())
    }

    /// Claims the services that are due (a timeout reached, or an outbox whose writer's
    /// claim lapsed) and handles each: sends what its outbox holds, then fires its timeout.
    /// A service that fails is left to fall due again when this claim lapses.
    pub async fn fire_due(&self) -> Result<Vec<PagerReport>, PagerError> {
        let now = self.clock.now();
        let claimed = self
            .store
            .claim_due(now, now.after(self.settings.claim_ttl), self.settings.claim_batch)
            .await?;
        let mut reports = Vec::with_capacity(claimed.len());
        for service in claimed {
            match self.fire(&service).await {
                Ok(report) => reports.push(self.observed(report)),
                Err(e) => {
                    tracing::warn!(service = %service, error = %Chain(&e), "could not fire a due timer; it will be due again")
                }
            }
        }
        Ok(reports)
    }

    /// Handles one claimed service.
    async fn fire(&self, service: &ServiceId) -> Result<PagerReport, PagerError> {
        let mut left_over = Vec::new();
        if let Some(record) = self.store.pager_record(service).await? {
            if !record.outbox.is_empty() {
                tracing::warn!(service = %service, notifications = record.outbox.len(), "sending notifications a previous writer decided but did not finish");
                left_over = self.deliver(service, &record.outbox).await?;
            }
        }
        let ack_timeout = self.settings.ack_timeout;
        let maintenance = self.maintenance_until(service, self.clock.now()).await?;
        let mut report = self
            .transition(service, |state, policy, now| {
                decide::fire_timeout(service, state, policy, now, ack_timeout, maintenance)
            })
            .await?;
        left_over.append(&mut report.sent);
        report.sent = left_over;
        Ok(report)
    }

    /// When the record must next be looked at: the writer's claim on a non-empty outbox,
    /// else the incident's timeout.
    fn due_at(&self, state: &ServiceState, outbox: &[Notification], now: EventTime) -> Option<EventTime> {
        if outbox.is_empty() {
            state.timeout_at()
        } else {
            Some(now.after(self.settings.claim_ttl))
        }
    }

    /// Reads, decides, and writes conditionally on the revision read, again on a lost race;
    /// then sends what the decision added to the outbox.
    async fn transition(
        &self,
        service: &ServiceId,
        decide: impl Fn(&ServiceState, Option<&EscalationPolicy>, EventTime) -> Decision,
    ) -> Result<PagerReport, PagerError> {
        let policy = self.policies.policy(service).await?;
        for _ in 0..WRITE_ATTEMPTS {
            let record = self.store.pager_record(service).await?.unwrap_or_default();
            let now = self.clock.now();
            let decision = decide(&record.state, policy.as_ref(), now);
            let fresh: Vec<Notification> = decision.notifications().cloned().collect();
            let mut outbox = record.outbox.clone();
            outbox.extend(fresh.iter().cloned());
            // An outbox another writer is sending stays under that writer's claim.
            let due_at = if fresh.is_empty() && !record.outbox.is_empty() {
                record.due_at
            } else {
                self.due_at(&decision.state, &outbox, now)
            };
            let mut report = PagerReport {
                service_id: service.clone(),
                outcome: decision.outcome,
                sent: Vec::new(),
                time_to_acknowledge: None,
                undelivered: 0,
            };
            if decision.state == record.state && fresh.is_empty() && due_at == record.due_at {
                return Ok(report);
            }
            let next = PagerRecord {
                revision: 0,
                state: decision.state.clone(),
                outbox: outbox.clone(),
                due_at,
            };
            if !self.store.save_pager_record(service, record.revision, &next).await? {
                continue;
            }
            if decision.outcome == Outcome::Acknowledged {
                report.time_to_acknowledge = decision
                    .state
                    .incident()
                    .filter(|i| now >= i.opened_at)
                    .map(|i| now.duration_since(i.opened_at));
            }
            if !fresh.is_empty() {
                match self.deliver(service, &outbox).await {
                    Ok(sent) => report.sent = sent,
                    Err(e) => {
                        tracing::warn!(service = %service, error = %Chain(&e), "notifications not sent yet; they wait in the outbox");
                        report.undelivered = outbox.len();
                    }
                }
            }
            return Ok(report);
        }
        Err(PagerError::Contention(service.clone()))
    }

    /// Sends each notification not yet recorded (publish first, then record under its
    /// unique key), then removes them all from the outbox. Returns those this call recorded.
    async fn deliver(&self, service: &ServiceId, outbox: &[Notification]) -> Result<Vec<Notification>, PagerError> {
        let mut sent = Vec::new();
        for notification in outbox {
            if self.store.notification_sent(&notification.key()).await? {
                continue;
            }
            self.notifier.send(notification).await?;
            if self.store.record_notification(notification, self.clock.now()).await? {
                sent.push(notification.clone());
            }
        }
        let keys: Vec<String> = outbox.iter().map(Notification::key).collect();
        self.clear_outbox(service, &keys).await?;
        Ok(sent)
    }

    /// Removes these keys from the service's outbox; when it empties, the record is due at
    /// its incident's timeout again.
    async fn clear_outbox(&self, service: &ServiceId, keys: &[String]) -> Result<(), PagerError> {
        for _ in 0..WRITE_ATTEMPTS {
            let Some(record) = self.store.pager_record(service).await? else {
                return Ok(());
            };
            let outbox: Vec<Notification> = record
                .outbox
                .iter()
                .filter(|n| !keys.contains(&n.key()))
                .cloned()
                .collect();
            if outbox.len() == record.outbox.len() {
                return Ok(());
            }
            let due_at = if outbox.is_empty() {
                record.state.timeout_at()
            } else {
                record.due_at
            };
            let next = PagerRecord {
                revision: 0,
                state: record.state.clone(),
                outbox,
                due_at,
            };
            if self.store.save_pager_record(service, record.revision, &next).await? {
                return Ok(());
            }
        }
        Err(PagerError::Contention(service.clone()))
    }
}
