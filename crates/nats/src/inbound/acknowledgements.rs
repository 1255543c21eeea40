//! Acknowledgements in the intake: recorded behind the events queued before them; one that
//! overtakes its alarm's first event is retried, then dead-lettered.

use super::receipt::Receipt;
use super::settle::Settlement;
use super::{InputKind, Intake};
use bytes::Bytes;
use domain::query::AckOutcome;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use wire::Acknowledgement;

/// How many times an acknowledgement of an alarm not seen yet is delivered (its event may
/// still be on its way) before it is dead-lettered.
pub const ACKNOWLEDGEMENT_DELIVERIES: i64 = 5;

impl Intake {
    /// Records an acknowledgement. One for an alarm not seen yet is retried later (its first
    /// event may be behind it in the stream), then dead-lettered after
    /// [`ACKNOWLEDGEMENT_DELIVERIES`] deliveries; core NATS has no redelivery, so there it is
    /// dead-lettered at once.
    pub(super) async fn acknowledge(
        &self,
        ack: Acknowledgement,
        receipt: Receipt,
        payload: Bytes,
        stop: &CancellationToken,
    ) {
        let answer = self
            .until_answered("the acknowledgement", &[&receipt], stop, || {
                self.updates.acknowledge(&ack.user_id, &ack.alarm_id, ack.acked_at)
            })
            .await;
        let Some(answer) = answer else { return };
        let deliveries = receipt.deliveries();
        let settlement = acknowledgement_settlement(&ack, answer, deliveries);
        self.settle(
            self.subjects.of(InputKind::AlarmAcknowledged),
            receipt,
            payload,
            settlement,
        )
        .await;
    }
}

/// What the store's answer means for an acknowledgement delivered `deliveries` times.
fn acknowledgement_settlement(
    ack: &Acknowledgement,
    answer: Result<AckOutcome, domain::ports::StoreError>,
    deliveries: i64,
) -> Settlement {
    let unknown = || {
        format!(
            "no alarm {} of user {} after {deliveries} deliveries",
            ack.alarm_id, ack.user_id
        )
    };
    match answer {
        Ok(AckOutcome::Recorded) => Settlement::Ack("recorded"),
        Ok(AckOutcome::AlreadyRecorded) => Settlement::Ack("duplicate"),
        Ok(AckOutcome::UnknownAlarm) if deliveries < ACKNOWLEDGEMENT_DELIVERIES => Settlement::Later {
            delay: Duration::from_millis(500 * deliveries.clamp(1, 60) as u64),
            outcome: "deferred",
            reason: unknown(),
        },
        Ok(AckOutcome::UnknownAlarm) => Settlement::Reject(unknown()),
        Err(e) => Settlement::Reject(format!("store rejected the acknowledgement: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::{AlarmId, EventTime, UserId};

    fn ack() -> Acknowledgement {
        Acknowledgement {
            user_id: UserId::parse("u1").unwrap(),
            alarm_id: AlarmId::parse("disk").unwrap(),
            acked_at: EventTime::from_nanos(1),
        }
    }

    #[test]
    fn an_acknowledgement_ahead_of_its_alarm_is_retried_with_a_growing_delay_then_dead_lettered() {
        let first = acknowledgement_settlement(&ack(), Ok(AckOutcome::UnknownAlarm), 1);
        assert!(
            matches!(first, Settlement::Later { delay, outcome: "deferred", .. } if delay == Duration::from_millis(500))
        );
        let fourth = acknowledgement_settlement(&ack(), Ok(AckOutcome::UnknownAlarm), 4);
        assert!(matches!(fourth, Settlement::Later { delay, .. } if delay == Duration::from_secs(2)));
        let last = acknowledgement_settlement(&ack(), Ok(AckOutcome::UnknownAlarm), ACKNOWLEDGEMENT_DELIVERIES);
        assert_eq!(
            last,
            Settlement::Reject("no alarm disk of user u1 after 5 deliveries".into())
        );
    }

    #[test]
    fn a_recorded_acknowledgement_is_acked_and_a_repeat_counted_as_duplicate() {
        assert_eq!(
            acknowledgement_settlement(&ack(), Ok(AckOutcome::Recorded), 1),
            Settlement::Ack("recorded")
        );
        assert_eq!(
            acknowledgement_settlement(&ack(), Ok(AckOutcome::AlreadyRecorded), 3),
            Settlement::Ack("duplicate")
        );
    }
}
