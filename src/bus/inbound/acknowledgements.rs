//! Acknowledgements in the intake: recorded behind the events queued before them; one that
//! overtakes its alarm's first event is retried, then dead-lettered.

use super::receipt::Receipt;
use super::wire::Acknowledgement;
use super::{pause_or_stop, Intake};
use crate::domain::ports::StoreError;
use crate::domain::query::AckOutcome;
use bytes::Bytes;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How many times an acknowledgement of an alarm not seen yet is delivered (its event may
/// still be on its way) before it is dead-lettered.
pub const ACKNOWLEDGEMENT_DELIVERIES: i64 = 5;

impl Intake {
    /// Records an acknowledgement. One for an alarm not seen yet is retried later (its first
    /// event may be behind it in the stream), then dead-lettered after
    /// [`ACKNOWLEDGEMENT_DELIVERIES`] deliveries; core NATS has no redelivery, so there it is
    /// dead-lettered at once.
    pub(super) async fn acknowledge(&self, ack: Acknowledgement, receipt: Receipt, stop: &CancellationToken) {
        let subject = &self.subjects.acknowledgement;
        let mut pause = Duration::from_millis(50);
        loop {
            let recorded = tokio::time::timeout(
                self.settings.store_timeout,
                self.service.acknowledge(&ack.user_id, &ack.alarm_id, ack.acked_at),
            )
            .await
            .unwrap_or_else(|_| Err(StoreError::Unavailable("acknowledgement timed out".into())));
            let outcome = match recorded {
                Ok(AckOutcome::Recorded) => "recorded",
                Ok(AckOutcome::AlreadyRecorded) => "duplicate",
                Ok(AckOutcome::UnknownAlarm) => {
                    let deliveries = receipt.deliveries();
                    let delay = Duration::from_millis(500 * deliveries.clamp(1, 60) as u64);
                    if deliveries < ACKNOWLEDGEMENT_DELIVERIES && receipt.retry_later(delay).await {
                        self.metrics.count_message(subject, "deferred");
                        return;
                    }
                    let reason = format!(
                        "no alarm {} of user {} after {deliveries} deliveries",
                        ack.alarm_id, ack.user_id
                    );
                    return self
                        .reject(subject, acknowledgement_payload(&ack), &reason, receipt)
                        .await;
                }
                Err(e) if e.is_transient() => {
                    tracing::warn!(error = %e, "acknowledgement not recorded yet; retrying");
                    self.health.store_failed(&e);
                    receipt.in_progress().await;
                    if !pause_or_stop(stop, &mut pause).await {
                        receipt.give_back().await;
                        return;
                    }
                    continue;
                }
                Err(e) => {
                    let reason = format!("store rejected the acknowledgement: {e}");
                    return self
                        .reject(subject, acknowledgement_payload(&ack), &reason, receipt)
                        .await;
                }
            };
            self.health.store_ok();
            receipt.ack(outcome).await;
            self.metrics.count_message(subject, outcome);
            return;
        }
    }
}

/// An acknowledgement as a dead letter carries it.
fn acknowledgement_payload(ack: &Acknowledgement) -> Bytes {
    Bytes::from(
        serde_json::json!({
            "UserID": ack.user_id.as_str(),
            "AlarmID": ack.alarm_id.as_str(),
            "AckedAt": ack.acked_at.to_rfc3339(),
        })
        .to_string(),
    )
}
