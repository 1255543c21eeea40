//! Answering a digest request: claim the user, finish what a previous holder left
//! prepared, prepare, publish, record; every write under the claim is fenced.

use super::Digests;
use backon::{BackoffBuilder, ExponentialBuilder};
use domain::failure::Chain;
use domain::ports::{DigestClaim, PreparedDigest, PublishError, StoreError};
use domain::schedule::DigestCause;
use domain::{Digest, DigestId, UserId};
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::time::Instant;

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

/// One digest to send: the request it answers (its id, when it has one), what caused it,
/// and whether a digest with nothing due is still published.
#[derive(Debug, Clone, Copy)]
pub struct DigestRequest<'a> {
    /// The request's id: a request with an id is answered once.
    pub id: Option<&'a str>,
    /// What caused it.
    pub cause: DigestCause,
    /// Publish it even when nothing is due.
    pub send_empty: bool,
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

impl Digests {
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
    /// twice. An empty digest is prepared too: it delivers nothing, but it answers a request,
    /// and a request is answered by one message.
    ///
    /// A digest the broker refused for good ([`PublishError::Refused`]) was never stored, so
    /// it is dropped from the claim: its alarms stay due and go out in the user's next
    /// digest, built anew, instead of every later request retrying the refused one.
    pub async fn send_digest(&self, user: &UserId, request: Option<&str>) -> Result<Option<DigestSent>, DigestError> {
        let asked = DigestRequest {
            id: request,
            cause: DigestCause::Requested,
            send_empty: true,
        };
        self.send(user, &asked).await
    }

    /// Sends the user's digest as [`Digests::send_digest`] does, for `request`: its id
    /// answers it once, its cause goes with the digest, and without `send_empty` a digest
    /// with nothing due is not published (`Ok(None)`).
    pub async fn send(&self, user: &UserId, request: &DigestRequest<'_>) -> Result<Option<DigestSent>, DigestError> {
        let started = Instant::now();
        // The incarnation tells apart two live processes given one replica name (a restarted
        // container whose old instance still runs), so a claim names exactly one holder.
        let holder = format!(
            "{}#{:016x}#{}",
            self.replica,
            self.incarnation,
            self.next_claim.fetch_add(1, Ordering::Relaxed)
        );
        // Another process holds the claim and shares nothing else with us to wait on: ask
        // again after a pause growing from 5 ms to 200 ms.
        let mut pauses = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(5))
            .with_max_delay(Duration::from_millis(200))
            .with_factor(2.0)
            .with_jitter()
            .without_max_times()
            .build();
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
            tokio::time::sleep(pauses.next().unwrap_or(Duration::from_millis(200))).await;
        };
        let claim_wait = started.elapsed();
        let result = if request.id.is_some_and(|r| claim.answered.iter().any(|a| a == r)) {
            Ok(None)
        } else {
            self.build_and_publish(user, &mut claim, request)
                .await
                .map(|built| built.map(|(digest, id)| DigestSent { digest, id, claim_wait }))
        };
        match self.store.release_digest(&claim).await {
            Ok(true) => {}
            Ok(false) => tracing::info!(user = %user, "the digest claim was already taken over; nothing to give back"),
            Err(e) => {
                tracing::warn!(user = %user, error = %Chain(&e), "could not release the digest claim; it will expire")
            }
        }
        if let Ok(Some(sent)) = &result {
            self.observer
                .digest_sent(sent.digest.alarms.len(), started.elapsed(), sent.claim_wait);
        }
        result
    }

    /// Finishes a digest a dead holder left prepared (same id, so the broker drops it if it
    /// was already published), then prepares, publishes and records this request's digest.
    async fn build_and_publish(
        &self,
        user: &UserId,
        claim: &mut DigestClaim,
        asked: &DigestRequest<'_>,
    ) -> Result<Option<(Digest, DigestId)>, DigestError> {
        let request = asked.id;
        if let Some(left) = claim.pending.take() {
            tracing::warn!(user = %user, digest = %left.id, "finishing a digest a previous holder published but never recorded");
            let digest = Digest::new(user.clone(), left.alarms.clone()).caused_by(left.cause);
            let id = DigestId::from_stored(left.id.clone());
            match self.publisher.publish(&digest, &id).await {
                Ok(()) => {
                    self.record(claim, &left, &id).await?;
                    if left.request.is_some() && left.request.as_deref() == request {
                        return Ok(Some((digest, id)));
                    }
                }
                Err(refused @ PublishError::Refused(_)) => {
                    tracing::warn!(user = %user, digest = %left.id, error = %refused, "the broker refuses a digest left prepared; its alarms go out in this one");
                    self.abandon(claim).await?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        let mut digest = Digest::new(user.clone(), self.store.due_alarms(user).await?).caused_by(asked.cause);
        if digest.alarms.is_empty() && !asked.send_empty {
            return Ok(None);
        }
        let id = digest.id(claim.epoch);
        let written = |alarms| PreparedDigest {
            id: id.as_str().to_string(),
            alarms,
            request: request.map(str::to_string),
            cause: asked.cause,
        };
        if !self
            .store
            .prepare_digest(claim, &written(digest.alarms.clone()))
            .await?
        {
            return Err(DigestError::ClaimLost(user.clone()));
        }
        if let Err(e) = self.publisher.publish(&digest, &id).await {
            if matches!(e, PublishError::Refused(_)) {
                self.abandon(claim).await?;
            }
            return Err(e.into());
        }
        // The alarms move into the record and back rather than being copied: a digest of
        // 100,000 alarms is held once while it is published and recorded.
        let sent = written(std::mem::take(&mut digest.alarms));
        let recorded = self.record(claim, &sent, &id).await;
        digest.alarms = sent.alarms;
        recorded?;
        Ok(Some((digest, id)))
    }

    /// Drops the digest prepared under `claim`, which the broker refused for good.
    async fn abandon(&self, claim: &DigestClaim) -> Result<(), DigestError> {
        if !self.store.abandon_digest(claim).await? {
            return Err(DigestError::ClaimLost(claim.user_id.clone()));
        }
        Ok(())
    }

    /// Records a published digest under `claim` and counts it in the claim's epoch, which
    /// fences the claim's next write on the user's new count.
    async fn record(&self, claim: &mut DigestClaim, digest: &PreparedDigest, id: &DigestId) -> Result<(), DigestError> {
        if !self.store.record_delivery(claim, digest).await? {
            return Err(DigestError::ClaimLostAfterPublish {
                user: claim.user_id.clone(),
                digest: id.clone(),
            });
        }
        claim.epoch += 1;
        Ok(())
    }
}
