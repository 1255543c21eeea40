//! Pager inputs in the intake: parsed and dead-lettered like alarms, routed by service to
//! a lane, settled only once the pager committed them; and, with `PAGE_ON_CRITICAL`, an
//! alert for each alarm of a service that turns CRITICAL.

use super::pager_wire::{parse_acknowledge, parse_alert, parse_healthy, PagerInput};
use super::receipt::Receipt;
use super::settle::Settlement;
use super::wire::WireError;
use super::Intake;
use crate::domain::pager::Alert;
use crate::domain::{AlarmEvent, ApplyOutcome, ServiceId, Status};
use crate::pager::{PagerError, PagerReport, PagerService};
use bytes::Bytes;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The subjects of the pager's inputs.
#[derive(Debug, Clone)]
pub struct PagerSubjects {
    /// PagerAlert.
    pub alert: String,
    /// PagerAcknowledge.
    pub acknowledge: String,
    /// ServiceHealthy.
    pub healthy: String,
}

impl PagerSubjects {
    /// All three, for stream and subscription setup.
    pub fn all(&self) -> Vec<String> {
        vec![self.alert.clone(), self.acknowledge.clone(), self.healthy.clone()]
    }
}

/// What the intake needs to feed the pager.
pub struct PagerIntake {
    /// The pager.
    pub service: Arc<PagerService>,
    /// Its input subjects.
    pub subjects: PagerSubjects,
    /// Raise an alert for the service of an alarm that becomes CRITICAL.
    pub page_on_critical: bool,
}

impl PagerIntake {
    fn subject_of(&self, input: &PagerInput) -> &str {
        match input {
            PagerInput::Alert(_) => &self.subjects.alert,
            PagerInput::Acknowledge(..) => &self.subjects.acknowledge,
            PagerInput::Healthy(_) => &self.subjects.healthy,
        }
    }

    async fn handle(&self, input: &PagerInput) -> Result<PagerReport, PagerError> {
        match input {
            PagerInput::Alert(alert) => self.service.alert(alert).await,
            PagerInput::Acknowledge(service, by) => self.service.acknowledge(service, by.as_deref()).await,
            PagerInput::Healthy(service) => self.service.healthy(service).await,
        }
    }
}

/// The alert an alarm turning CRITICAL raises for its service.
fn critical_alert(event: &AlarmEvent) -> Option<Alert> {
    let service = event.metadata.service.as_deref()?;
    let service_id = ServiceId::parse(service)
        .map_err(|e| tracing::warn!(service, error = %e, "not paging for a service id that is not valid"))
        .ok()?;
    let name = event.metadata.name.as_deref().unwrap_or(event.alarm_id.as_str());
    Some(Alert {
        service_id,
        message: format!(
            "{name} is CRITICAL (alarm {} of user {})",
            event.alarm_id, event.user_id
        ),
        raised_at: event.version.changed_at,
    })
}

impl Intake {
    /// `Some` when `subject` is a pager subject: the parsed input or why it was rejected.
    pub(super) fn parse_pager(&self, subject: &str, payload: &[u8]) -> Option<Result<PagerInput, WireError>> {
        let pager = self.pager.as_ref()?;
        let max = self.settings.max_payload;
        if subject == pager.subjects.alert {
            Some(parse_alert(payload, max))
        } else if subject == pager.subjects.acknowledge {
            Some(parse_acknowledge(payload, max))
        } else if subject == pager.subjects.healthy {
            Some(parse_healthy(payload, max))
        } else {
            None
        }
    }

    /// Hands one input to the pager, retrying through store outages (acking nothing), and
    /// settles it once the pager committed its decision.
    pub(super) async fn page(&self, input: PagerInput, receipt: Receipt, payload: Bytes, stop: &CancellationToken) {
        let Some(pager) = &self.pager else { return };
        let subject = pager.subject_of(&input);
        let answer = self
            .until_answered("the pager input", &[&receipt], stop, || pager.handle(&input))
            .await;
        let Some(answer) = answer else { return };
        let settlement = match answer {
            Ok(report) => {
                self.metrics.observe_pager(&report);
                tracing::info!(service = %report.service_id, outcome = report.outcome.as_str(), sent = report.sent.len(), "pager input handled");
                Settlement::Ack(report.outcome.as_str())
            }
            Err(e) => Settlement::Reject(e.to_string()),
        };
        self.settle(subject, receipt, payload, settlement).await;
    }

    /// With `PAGE_ON_CRITICAL`, raises an alert for the service of each applied CRITICAL
    /// event, before the events are acked; gives up on an alert only when stopping.
    pub(super) async fn page_on_critical(
        &self,
        events: &[AlarmEvent],
        outcomes: &[ApplyOutcome],
        stop: &CancellationToken,
    ) {
        let Some(pager) = self.pager.as_ref().filter(|p| p.page_on_critical) else {
            return;
        };
        let critical = events
            .iter()
            .zip(outcomes)
            .filter(|(ev, outcome)| **outcome == ApplyOutcome::Applied && ev.version.status == Status::Critical);
        for (event, _) in critical {
            let Some(alert) = critical_alert(event) else { continue };
            let raised = self
                .until_answered("the alert of a critical alarm", &[], stop, || {
                    pager.service.alert(&alert)
                })
                .await;
            match raised {
                Some(Ok(report)) => self.metrics.observe_pager(&report),
                Some(Err(e)) => {
                    tracing::error!(service = %alert.service_id, error = %e, "could not raise the alert of a critical alarm")
                }
                None => return,
            }
        }
    }
}
