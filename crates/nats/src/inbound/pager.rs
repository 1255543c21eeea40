//! Pager inputs in the intake: parsed and dead-lettered like alarms, routed by service to
//! a lane, settled only once the pager committed them.

use super::pager_wire::PagerInput;
use super::receipt::Receipt;
use super::settle::Settlement;
use super::{InputKind, Intake};
use bytes::Bytes;
use domain::failure::Chain;
use tokio_util::sync::CancellationToken;
use usecases::pager::{PagerError, PagerReport};

impl Intake {
    /// The kind of a pager input, for the subject it is settled under.
    fn kind_of(input: &PagerInput) -> InputKind {
        match input {
            PagerInput::Alert(_) => InputKind::PagerAlert,
            PagerInput::Acknowledge(..) => InputKind::PagerAcknowledge,
            PagerInput::Healthy(_) => InputKind::ServiceHealthy,
        }
    }

    /// The pager's answer to one input.
    async fn handle(&self, input: &PagerInput) -> Result<PagerReport, PagerError> {
        match input {
            PagerInput::Alert(alert) => self.pager.alert(alert).await,
            PagerInput::Acknowledge(service, by) => self.pager.acknowledge(service, by.as_deref()).await,
            PagerInput::Healthy(service) => self.pager.healthy(service).await,
        }
    }

    /// Hands one input to the pager, retrying through store outages (acking nothing), and
    /// settles it once the pager committed its decision.
    pub(super) async fn page(&self, input: PagerInput, receipt: Receipt, payload: Bytes, stop: &CancellationToken) {
        let subject = self.subjects.of(Self::kind_of(&input));
        let answer = self
            .until_answered("the pager input", &[&receipt], stop, || self.handle(&input))
            .await;
        let Some(answer) = answer else { return };
        let settlement = match answer {
            Ok(report) => {
                tracing::info!(service = %report.service_id, outcome = report.outcome.as_str(), sent = report.sent.len(), "pager input handled");
                Settlement::Ack(report.outcome.as_str())
            }
            Err(e) => Settlement::Reject(Chain(&e).to_string()),
        };
        self.settle(subject, receipt, payload, settlement).await;
    }
}
