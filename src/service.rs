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
    /// This holder's claim expired and was taken over before the digest was prepared;
    /// nothing was published.
    #[error("the digest claim of user {0} expired before the digest was prepared")]
    ClaimLost(UserId),
    /// This holder's claim expired and was taken over after the digest was published and
    /// before it was recorded; nothing was recorded. A digest with alarms is still prepared
    /// under the user's claim, so the claim's next holder re-publishes it under the same id
    /// (the broker drops the copy) and records it, with its request.
    #[error("the digest claim of user {user} was taken over before digest {digest} was recorded; its next holder records it")]
    ClaimLostAfterPublish {
        /// Whose digest.
        user: UserId,
        /// The digest published but not recorded.
        digest: DigestId,
    },
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
            | DigestError::ClaimLost(_)
            | DigestError::ClaimLostAfterPublish { .. } => true,
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
    ///
    /// A holder can outlive its claim (a publish slower than the claim's lifetime). The
    /// store fences every write made under the claim, so a holder that lost it overwrites
    /// nothing of the next holder's and gets [`DigestError::ClaimLost`] (before publishing)
    /// or [`DigestError::ClaimLostAfterPublish`] (published, not recorded). Neither is a
    /// success, so the request is not acked: both are transient and the request is retried
    /// under a new claim. After a lost record, a digest with alarms is still prepared, so
    /// the retry either finds its request answered by the holder that finished that digest
    /// (`Ok(None)`) or finds the digest still prepared and finishes it itself, under the
    /// same id: the request is answered once and no alarm is left unrecorded or delivered
    /// twice. An empty digest is not prepared (it delivers nothing); its retry answers with
    /// an empty digest under the id of the epoch it then finds.
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
        match self.store.release_digest(&claim).await {
            Ok(true) => {}
            Ok(false) => tracing::info!(user = %user, "the digest claim was already taken over; nothing to give back"),
            Err(e) => tracing::warn!(user = %user, error = %e, "could not release the digest claim; it will expire"),
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
            let id = DigestId::from_stored(left.id);
            self.publisher.publish(&digest, &id).await?;
            self.record(claim, &digest, &id, left.request.as_deref()).await?;
            if left.request.is_some() && left.request.as_deref() == request {
                return Ok((digest, id));
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
        self.record(claim, &digest, &id, request).await?;
        Ok((digest, id))
    }

    /// Records a published digest under `claim` and counts it in the claim's epoch, which
    /// fences the claim's next write on the user's new count.
    async fn record(
        &self,
        claim: &mut DigestClaim,
        digest: &Digest,
        id: &DigestId,
        request: Option<&str>,
    ) -> Result<(), DigestError> {
        if !self.store.record_delivery(claim, &digest.alarms, request).await? {
            return Err(DigestError::ClaimLostAfterPublish {
                user: claim.user_id.clone(),
                digest: id.clone(),
            });
        }
        claim.epoch += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ports::SystemClock;
    use crate::domain::{AlarmMetadata, Status, Version};
    use crate::store::sqlite::SqliteStore;
    use async_trait::async_trait;
    use std::sync::Mutex;

    /// Publishes into a list. During its first publish, the publishing holder's claim
    /// lapses and another holder takes it over, then gives it back (having finished the
    /// digest left prepared, or not).
    struct OutlivedClaim {
        store: Arc<dyn AlarmStore>,
        next_holder_finishes: bool,
        published: Mutex<Vec<DigestId>>,
    }

    #[async_trait]
    impl DigestPublisher for OutlivedClaim {
        async fn publish(&self, digest: &Digest, id: &DigestId) -> Result<(), PublishError> {
            let first = {
                let mut published = self.published.lock().unwrap();
                published.push(id.clone());
                published.len() == 1
            };
            if first {
                let later = EventTime::from_nanos(SystemClock.now().as_nanos() + 3_600_000_000_000);
                let ttl = Duration::from_secs(30);
                let next = self
                    .store
                    .claim_digest(&digest.user_id, "next", later, ttl)
                    .await
                    .unwrap();
                let mut next = next.expect("the lapsed claim is taken over");
                if self.next_holder_finishes {
                    let left = next.pending.take().expect("the published digest is prepared");
                    self.published
                        .lock()
                        .unwrap()
                        .push(DigestId::from_stored(left.id.clone()));
                    assert!(self
                        .store
                        .record_delivery(&next, &left.alarms, left.request.as_deref())
                        .await
                        .unwrap());
                }
                assert!(self.store.release_digest(&next).await.unwrap());
            }
            Ok(())
        }
    }

    async fn outlived_claim(next_holder_finishes: bool) -> (AlarmService, Arc<OutlivedClaim>, UserId) {
        let store: Arc<dyn AlarmStore> = Arc::new(SqliteStore::open_in_memory(Default::default()).unwrap());
        let user = UserId::parse("u1").unwrap();
        let event = AlarmEvent {
            user_id: user.clone(),
            alarm_id: AlarmId::parse("disk").unwrap(),
            version: Version {
                changed_at: EventTime::from_nanos(1_000),
                status: Status::Critical,
            },
            metadata: AlarmMetadata::default(),
        };
        store.apply(&[event]).await.unwrap();
        let publisher = Arc::new(OutlivedClaim {
            store: Arc::clone(&store),
            next_holder_finishes,
            published: Mutex::default(),
        });
        let service = AlarmService::new(
            store,
            Arc::clone(&publisher) as Arc<dyn DigestPublisher>,
            Arc::new(SystemClock),
            "test",
            ClaimSettings::default(),
        );
        (service, publisher, user)
    }

    #[tokio::test]
    async fn a_record_refused_for_a_lost_claim_is_retried_and_the_retry_finishes_the_same_digest() {
        let (service, publisher, user) = outlived_claim(false).await;
        let lost = service.send_digest(&user, Some("req-1")).await.unwrap_err();
        assert!(matches!(lost, DigestError::ClaimLostAfterPublish { .. }), "{lost}");
        assert!(lost.is_transient(), "the request is not acked but retried");
        assert_eq!(
            service.store().due_alarms(&user).await.unwrap().len(),
            1,
            "nothing was recorded"
        );

        let sent = service
            .send_digest(&user, Some("req-1"))
            .await
            .unwrap()
            .expect("the retry answers");
        assert_eq!(sent.digest.alarms.len(), 1);
        let published = publisher.published.lock().unwrap().clone();
        assert_eq!(
            published,
            [sent.id.clone(), sent.id],
            "re-published under the same id only"
        );
        assert!(service.store().due_alarms(&user).await.unwrap().is_empty());
        assert!(
            service.send_digest(&user, Some("req-1")).await.unwrap().is_none(),
            "answered once"
        );
    }

    #[tokio::test]
    async fn a_record_refused_for_a_lost_claim_is_retried_and_finds_the_next_holder_answered_it() {
        let (service, publisher, user) = outlived_claim(true).await;
        let lost = service.send_digest(&user, Some("req-1")).await.unwrap_err();
        assert!(matches!(lost, DigestError::ClaimLostAfterPublish { .. }), "{lost}");
        assert!(
            service.send_digest(&user, Some("req-1")).await.unwrap().is_none(),
            "answered once"
        );
        let published = publisher.published.lock().unwrap().clone();
        assert_eq!(published.len(), 2);
        assert_eq!(
            published[0], published[1],
            "the next holder re-published under the same id"
        );
        assert!(service.store().due_alarms(&user).await.unwrap().is_empty());
    }
}
