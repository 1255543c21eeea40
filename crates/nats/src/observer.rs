//! What the NATS adapters count of their own work: messages settled, redeliveries and
//! retries, the consumer's backlog, digest copies the stream's duplicate window dropped.
//! The composition root's metrics implement it; a use case's outcome is not counted here.

use std::time::Duration;

/// Told of the adapters' own events as they happen.
pub trait BusObserver: Send + Sync {
    /// A message of `subject` was settled with `outcome` (acked as applied, dead-lettered, …).
    fn message_settled(&self, subject: &str, outcome: &str);
    /// A message arrived that the broker had delivered before.
    fn redelivered(&self);
    /// `messages` were held for another try of their use case.
    fn retried(&self, messages: usize);
    /// An event was committed `since_receipt` after it was received.
    fn event_committed(&self, since_receipt: Duration);
    /// The shared consumer's messages not yet delivered, and delivered but not acknowledged.
    fn consumer_backlog(&self, pending: u64, ack_pending: u64);
    /// `messages` digest parts were already in the digest stream (its duplicate window
    /// dropped the copies).
    fn digest_duplicates(&self, messages: usize);
}
