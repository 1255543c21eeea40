//! Answering digest requests exactly once per version ([`send`]) and previewing the next
//! digest with the reason of each alarm ([`preview`]). The only caller of the digest claim
//! and delivery ports.

mod preview;
mod send;
#[cfg(test)]
mod tests;

pub use preview::PreviewedAlarm;
pub use send::{ClaimSettings, DigestError, DigestRequest, DigestSent};

use crate::observer::{unobserved, Observer};
use domain::ports::{AlarmStore, Clock, DigestPublisher};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

/// Sends and previews users' digests.
pub struct Digests {
    store: Arc<dyn AlarmStore>,
    publisher: Arc<dyn DigestPublisher>,
    clock: Arc<dyn Clock>,
    replica: String,
    claims: ClaimSettings,
    next_claim: AtomicU64,
    /// Random per process: part of every claim holder's name.
    incarnation: u64,
    observer: Arc<dyn Observer>,
}

impl Digests {
    /// Wires the use case; `replica` names this process in claims.
    pub fn new(
        store: Arc<dyn AlarmStore>,
        publisher: Arc<dyn DigestPublisher>,
        clock: Arc<dyn Clock>,
        replica: impl Into<String>,
        claims: ClaimSettings,
    ) -> Self {
        Self {
            store,
            publisher,
            clock,
            replica: replica.into(),
            claims,
            next_claim: AtomicU64::new(0),
            incarnation: std::hash::BuildHasher::hash_one(&std::hash::RandomState::new(), std::process::id()),
            observer: unobserved(),
        }
    }

    /// Reports every digest sent to `observer`.
    pub fn observed_by(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observer = observer;
        self
    }
}
