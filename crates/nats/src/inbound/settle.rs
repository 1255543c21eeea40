//! Settling inbound messages, in one place: a use case is tried until it answers (through
//! store outages, its messages kept in progress), and the answer becomes an ack, a
//! redelivery later, or a dead letter carrying the original payload.

use super::receipt::Receipt;
use super::Intake;
use backon::{BackoffBuilder, ExponentialBuilder};
use bytes::Bytes;
use domain::failure::Chain;
use domain::ports::StoreError;
use std::future::Future;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use usecases::digests::DigestError;
use usecases::pager::PagerError;

/// What a use case's answer means for the message that carried it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Settlement {
    /// Done and committed: acknowledged, counted under this outcome.
    Ack(&'static str),
    /// Not possible yet (an acknowledgement ahead of its alarm): redelivered after
    /// `delay` and counted under `outcome`; where there is no redelivery (core NATS), it
    /// is dead-lettered with `reason` instead.
    Later {
        /// How long the broker waits before delivering it again.
        delay: Duration,
        /// The counted outcome.
        outcome: &'static str,
        /// Why, if it must be dead-lettered.
        reason: String,
    },
    /// Refused for good: dead-lettered with the reason, and terminated.
    Reject(String),
}

/// A use case's error, as far as settling goes.
pub(super) trait Transient: std::error::Error + From<StoreError> + 'static {
    /// Whether the same call may succeed later.
    fn is_transient(&self) -> bool;
    /// The store failure inside, which readiness reports.
    fn store_error(&self) -> Option<&StoreError>;
}

impl Transient for StoreError {
    fn is_transient(&self) -> bool {
        StoreError::is_transient(self)
    }
    fn store_error(&self) -> Option<&StoreError> {
        Some(self)
    }
}

impl Transient for DigestError {
    fn is_transient(&self) -> bool {
        DigestError::is_transient(self)
    }
    fn store_error(&self) -> Option<&StoreError> {
        match self {
            DigestError::Store(e) => Some(e),
            _ => None,
        }
    }
}

impl Transient for PagerError {
    fn is_transient(&self) -> bool {
        PagerError::is_transient(self)
    }
    fn store_error(&self) -> Option<&StoreError> {
        match self {
            PagerError::Store(e) => Some(e),
            _ => None,
        }
    }
}

/// The pauses between tries: from 50 ms, doubling up to 5 s, with jitter so replicas
/// retrying the same outage do not knock in step; never giving up (only a stop does).
fn backoff() -> impl Iterator<Item = Duration> {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(50))
        .with_max_delay(Duration::from_secs(5))
        .with_factor(2.0)
        .with_jitter()
        .without_max_times()
        .build()
}

/// Waits `pause` unless asked to stop; false when stopping.
pub(super) async fn pause_or_stop(stop: &CancellationToken, pause: Duration) -> bool {
    tokio::select! {
        _ = stop.cancelled() => false,
        _ = tokio::time::sleep(pause) => true,
    }
}

impl Intake {
    /// Calls `attempt` until it answers with anything but a transient error: each try
    /// bounded by `STORE_TIMEOUT`, the messages of `receipts` kept in progress and
    /// readiness following the store meanwhile. `None` when the service stops first: the
    /// messages were handed back for redelivery.
    pub(super) async fn until_answered<T, E, F, Fut>(
        &self,
        what: &str,
        receipts: &[&Receipt],
        stop: &CancellationToken,
        mut attempt: F,
    ) -> Option<Result<T, E>>
    where
        E: Transient,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut pauses = backoff();
        loop {
            let answer = tokio::time::timeout(self.settings.store_timeout, attempt())
                .await
                .unwrap_or_else(|_| {
                    Err(StoreError::Unavailable(
                        format!("{what} timed out after {:?}", self.settings.store_timeout).into(),
                    )
                    .into())
                });
            match answer {
                Err(e) if e.is_transient() => {
                    tracing::warn!(error = %Chain(&e), messages = receipts.len(), "{what} not done yet; retrying");
                    if let Some(store) = e.store_error() {
                        self.health.store_failed(store);
                    }
                    self.observer.retried(receipts.len());
                    for receipt in receipts {
                        receipt.in_progress().await;
                    }
                    let pause = pauses.next().unwrap_or(Duration::from_secs(5));
                    if !pause_or_stop(stop, pause).await {
                        for receipt in receipts {
                            receipt.give_back().await;
                        }
                        return None;
                    }
                }
                answer => {
                    if answer.is_ok() {
                        self.health.store_answered();
                    }
                    return Some(answer);
                }
            }
        }
    }

    /// Settles one message of `subject` as `settlement` says; `payload` is its original
    /// body, which a dead letter carries unchanged.
    pub(super) async fn settle(&self, subject: &str, receipt: Receipt, payload: Bytes, settlement: Settlement) {
        match settlement {
            Settlement::Ack(outcome) => {
                receipt.ack(outcome).await;
                self.observer.message_settled(subject, outcome);
            }
            Settlement::Later { delay, outcome, reason } => {
                if receipt.retry_later(delay).await {
                    self.observer.message_settled(subject, outcome);
                } else {
                    self.reject(subject, payload, &reason, receipt).await;
                }
            }
            Settlement::Reject(reason) => self.reject(subject, payload, &reason, receipt).await,
        }
    }

    /// Dead-letters a message and terminates it; when the dead letter is not confirmed
    /// (no stream leader), hands the message back to be rejected again later instead of
    /// losing it.
    pub(super) async fn reject(&self, subject: &str, payload: Bytes, reason: &str, receipt: Receipt) {
        let bytes = payload.len();
        let stored = self
            .dead_letters
            .publish(subject, payload, reason, receipt.dedup_id())
            .await;
        if !stored && receipt.retry_later(DEAD_LETTER_RETRY).await {
            tracing::warn!(
                subject,
                reason,
                "an input message is invalid but its dead letter was not confirmed; handed back"
            );
            return;
        }
        tracing::warn!(subject, reason, bytes, "rejected an input message");
        self.observer.message_settled(subject, "invalid");
        self.observer.message_settled(subject, "dead_lettered");
        receipt.reject(reason).await;
    }
}

/// How long a rejected message whose dead letter could not be stored waits before it is
/// redelivered and rejected again.
const DEAD_LETTER_RETRY: Duration = Duration::from_secs(5);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_from_50_ms_to_at_most_5_s_and_never_give_up() {
        let pauses: Vec<Duration> = backoff().take(12).collect();
        assert_eq!(pauses.len(), 12, "the backoff never runs out");
        assert!(pauses[0] >= Duration::from_millis(50) && pauses[0] <= Duration::from_millis(100));
        assert!(pauses.iter().all(|p| *p <= Duration::from_secs(10)), "{pauses:?}");
        assert!(pauses[11] >= Duration::from_secs(5), "{pauses:?}");
    }
}
