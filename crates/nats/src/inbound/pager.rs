//! Pager inputs in the intake: parsed and dead-lettered like alarms, routed by service to
//! a lane, settled only once the pager committed them.

use super::pager_wire::{parse_acknowledge, parse_alert, parse_healthy, PagerInput};
use super::receipt::Receipt;
use super::settle::Settlement;
use super::Intake;
use bytes::Bytes;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use usecases::pager::{PagerError, PagerReport, PagerService};
use wire::WireError;

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

impl Intake {
    /// `Some` when `subject` is a pager subject: the parsed input or why it was rejected.
    pub(super) fn parse_pager(&self, subject: &str, payload: &[u8]) -> Option<Result<PagerInput, WireError>> {
        let pager = &self.pager;
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
        let pager = &self.pager;
        let subject = pager.subject_of(&input);
        let answer = self
            .until_answered("the pager input", &[&receipt], stop, || pager.handle(&input))
            .await;
        let Some(answer) = answer else { return };
        let settlement = match answer {
            Ok(report) => {
                tracing::info!(service = %report.service_id, outcome = report.outcome.as_str(), sent = report.sent.len(), "pager input handled");
                Settlement::Ack(report.outcome.as_str())
            }
            Err(e) => Settlement::Reject(e.to_string()),
        };
        self.settle(subject, receipt, payload, settlement).await;
    }
}
