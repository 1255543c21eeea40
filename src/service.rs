//! The use cases: apply alarm events, and answer a digest request exactly once per version.

use crate::domain::ports::{AlarmStore, Clock, DigestClaim, DigestPublisher, PreparedDigest, PublishError, StoreError};
use crate::domain::query::AckOutcome;
use crate::domain::{AlarmEvent, AlarmId, ApplyOutcome, Digest, DigestId, EventTime, UserId};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How digest claims are taken.
#[derive(Debug, Clone, Copy)]
pub struct ClaimSettings {
    /// How long a claim lasts if its holder dies without releasing it.
    pub ttl: Duration,
    /// How long to wait for another replica's claim before giving the request back.
    pub wait: Duration,
}

impl Default for ClaimSettings {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(30),
            wait: Duration::from_secs(35),
        }
    }
}

/// Why a digest request was not answered; the request should be retried later.
#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    /// The store failed; nothing was recorded.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The digest was not confirmed by the broker; its alarms stay due.
    #[error(transparent)]
    Publish(#[from] PublishError),
    /// This holder's claim expired before the digest was prepared; nothing was published.
    #[error("the digest claim of user {0} expired before the digest was prepared")]
    ClaimLost(UserId),
    /// Another replica held the user's claim for longer than the wait bound.
    #[error("the digest of user {0} is being built elsewhere for longer than the wait bound")]
    ClaimBusy(UserId),
}

impl DigestError {
    /// Whether the same request may succeed later.
    pub fn is_transient(&self) -> bool {
        match self {
            DigestError::Store(e) => e.is_transient(),
            DigestError::Publish(PublishError::NotConfirmed(_))
            | DigestError::ClaimBusy(_)
            | DigestError::ClaimLost(_) => true,
            DigestError::Publish(PublishError::Refused(_)) => false,
        }
    }
}

/// What one answered digest request did.
#[derive(Debug, Clone)]
pub struct DigestSent {
    /// The published digest.
    pub digest: Digest,
    /// Its id (the broker's message id).
    pub id: DigestId,
    /// How long the claim was waited for.
    pub claim_wait: Duration,
}

/// The service both intakes (NATS, HTTP) drive.
pub struct AlarmService {
    store: Arc<dyn AlarmStore>,
    publisher: Arc<dyn DigestPublisher>,
    clock: Arc<dyn Clock>,
    replica: String,
    claims: ClaimSettings,
    next_claim: AtomicU64,
}

impl AlarmService {
    /// Wires the service; `replica` names this process in claims.
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
        }
    }

    /// The store, for queries.
    pub fn store(&self) -> &Arc<dyn AlarmStore> {
        &self.store
    }

    /// Applies events; when it returns `Ok` they are committed.
    pub async fn apply(&self, events: &[AlarmEvent]) -> Result<Vec<ApplyOutcome>, StoreError> {
        self.store.apply(events).await
    }

    /// Records that `user` acknowledged `alarm` at `at`; idempotent.
    pub async fn acknowledge(&self, user: &UserId, alarm: &AlarmId, at: EventTime) -> Result<AckOutcome, StoreError> {
        self.store.acknowledge(user, alarm, at).await
    }

    /// Builds, publishes and records the user's next digest under the user's claim, so no
    /// two replicas deliver the same version; the claim is always given back. A request
    /// with an id already answered (a redelivery) is answered with `Ok(None)` and nothing
    /// is published.
    pub async fn send_digest(&self, user: &UserId, request: Option<&str>) -> Result<Option<DigestSent>, DigestError> {
        let started = Instant::now();
        let holder = format!("{}#{}", self.replica, self.next_claim.fetch_add(1, Ordering::Relaxed));
        let mut pause = Duration::from_millis(5);
        let mut claim = loop {
            if let Some(claim) = self
                .store
                .claim_digest(user, &holder, self.clock.now(), self.claims.ttl)
                .await?
            {
                break claim;
            }
            if started.elapsed() >= self.claims.wait {
                return Err(DigestError::ClaimBusy(user.clone()));
            }
            // Another process holds the claim and shares nothing else with us to wait on.
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(200));
        };
        let claim_wait = started.elapsed();
        let result = if request.is_some_and(|r| claim.answered.iter().any(|a| a == r)) {
            Ok(None)
        } else {
            self.build_and_publish(user, &mut claim, request)
                .await
                .map(|(digest, id)| Some(DigestSent { digest, id, claim_wait }))
        };
        if let Err(e) = self.store.release_digest(&claim).await {
            tracing::warn!(user = %user, error = %e, "could not release the digest claim; it will expire");
        }
        result
    }

    /// Finishes a digest a dead holder left prepared (same id, so the broker drops it if it
    /// was already published), then prepares, publishes and records this request's digest.
    async fn build_and_publish(
        &self,
        user: &UserId,
        claim: &mut DigestClaim,
        request: Option<&str>,
    ) -> Result<(Digest, DigestId), DigestError> {
        if let Some(left) = claim.pending.take() {
            tracing::warn!(user = %user, digest = %left.id, "finishing a digest a previous holder published but never recorded");
            let digest = Digest::new(user.clone(), left.alarms);
            self.publisher.publish(&digest, &DigestId::from_stored(left.id)).await?;
            self.store
                .record_delivery(claim, &digest.alarms, left.request.as_deref())
                .await?;
            claim.epoch += 1;
            if left.request.is_some() && left.request.as_deref() == request {
                return Ok((digest, DigestId::from_stored(String::new())));
            }
        }
        let digest = Digest::new(user.clone(), self.store.due_alarms(user).await?);
        let id = digest.id(claim.epoch);
        if !digest.alarms.is_empty() {
            let prepared = PreparedDigest {
                id: id.as_str().to_string(),
                alarms: digest.alarms.clone(),
                request: request.map(str::to_string),
            };
            if !self.store.prepare_digest(claim, &prepared).await? {
                return Err(DigestError::ClaimLost(user.clone()));
            }
        }
        self.publisher.publish(&digest, &id).await?;
        self.store.record_delivery(claim, &digest.alarms, request).await?;
        Ok((digest, id))
    }
}
