//! The ports: what the service needs from storage, the broker and the clock.

pub use super::failure::Failure;
use super::query::{AckOutcome, AlarmActivity, AlarmFilter, Counts, HistoryEntry, Page, PageRequest};
use super::retention::{Sweep, Swept};
use super::{
    AlarmEvent, AlarmId, AlarmMetadata, AlarmState, ApplyOutcome, Digest, DigestId, DueAlarm, EventTime, UserId,
};
use async_trait::async_trait;
use std::time::Duration;

/// Why a store operation failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The store could not be reached or timed out; the operation may be retried as is.
    #[error("store unavailable: {0}")]
    Unavailable(#[source] Failure),
    /// The store refused the operation; retrying the same call will fail again.
    #[error("store rejected the operation: {0}")]
    Rejected(#[source] Failure),
    /// Stored data could not be read back as a valid alarm.
    #[error("stored data is corrupt: {0}")]
    Corrupt(#[source] Failure),
}

impl StoreError {
    /// The kinds of store error, as metrics label them.
    pub const KINDS: [&'static str; 3] = ["unavailable", "rejected", "corrupt"];

    /// This error's kind, one of [`StoreError::KINDS`].
    pub fn kind(&self) -> &'static str {
        match self {
            StoreError::Unavailable(_) => Self::KINDS[0],
            StoreError::Rejected(_) => Self::KINDS[1],
            StoreError::Corrupt(_) => Self::KINDS[2],
        }
    }

    /// Whether retrying later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

/// The right to build and record the next digest of one user, held until released or
/// until it expires.
///
/// A holder can outlive its claim (a publish slower than the claim's lifetime), so the
/// claim is also a fencing token: a write made under it ([`AlarmStore::prepare_digest`],
/// [`AlarmStore::record_delivery`]) lands only while the stored claim still has this
/// `holder` and this `epoch`, and [`AlarmStore::release_digest`] only while it has this
/// `holder`. A claim that expired but that nobody took over still writes: nothing can have
/// been built on a newer claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestClaim {
    /// Whose digest.
    pub user_id: UserId,
    /// A token unique to this claim; it changes when another holder takes the claim over.
    pub holder: String,
    /// How many digests of this user were recorded: the count when the claim was taken,
    /// plus one for each digest the holder recorded under it since (the holder adds those),
    /// so it keeps matching the stored count while the claim is this holder's.
    pub epoch: u64,
    /// When the claim lapses if not released, in Unix milliseconds.
    pub expires_at_ms: i64,
    /// A digest a previous holder prepared and may have published, but never recorded.
    pub pending: Option<PreparedDigest>,
    /// Ids of the user's most recently answered digest requests (at most
    /// [`ANSWERED_REQUESTS_KEPT`]), so a redelivered request is not answered twice.
    pub answered: Vec<String>,
}

/// How many answered request ids a store keeps per user.
pub const ANSWERED_REQUESTS_KEPT: usize = 64;

/// How many of a user's sent digests a store remembers, for people to look at.
pub const SENT_DIGESTS_KEPT: usize = 10;

/// A digest that was published and recorded: what a person reviewing a user's digests sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentDigest {
    /// The id it was published under.
    pub id: String,
    /// When the store recorded it, Unix milliseconds.
    pub recorded_ms: i64,
    /// How many alarms it carried.
    pub alarms: usize,
}

/// A digest as the store writes it down: before it is published
/// ([`AlarmStore::prepare_digest`]), so a holder that dies between publishing and recording
/// leaves enough behind for the next one to finish its work exactly, and once published
/// ([`AlarmStore::record_delivery`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedDigest {
    /// The id it is (or was) published under.
    pub id: String,
    /// Exactly the versions it carries, in digest order.
    pub alarms: Vec<DueAlarm>,
    /// The request it answers, if the request has an id.
    pub request: Option<String>,
    /// What caused it, so a holder that finishes it publishes it as it was first meant.
    pub cause: crate::schedule::DigestCause,
}

/// An alarm as stored, for queries and checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmRecord {
    /// Whose alarm.
    pub user_id: UserId,
    /// Which alarm.
    pub alarm_id: AlarmId,
    /// The registers the rules work on.
    pub state: AlarmState,
    /// The latest descriptive fields seen.
    pub metadata: AlarmMetadata,
    /// When a digest last delivered it, Unix milliseconds.
    pub delivered_ms: Option<i64>,
    /// When its last event was received, Unix milliseconds.
    pub updated_ms: i64,
    /// Acknowledgement times recorded for it, oldest first.
    pub acknowledgements: Vec<EventTime>,
}

/// The statistics' read: every alarm a filter matches, with what its episodes and
/// lifecycle are rebuilt from, in one store query. Every [`AlarmStore`] is one; it is a
/// trait of its own so that each adapter implements it beside its other API queries.
#[async_trait]
pub trait AlarmActivityStore: Send + Sync {
    /// Every alarm matching `filter`, in (ChangedAt, AlarmID, UserID) order, each with its
    /// registers, retained history and acknowledgements. One query (SQLite: one statement;
    /// MongoDB: one find), so each alarm is read whole, at one moment, however many match.
    ///
    /// Errors: `Unavailable` when the store cannot be read (retrying may succeed);
    /// `Corrupt` when a stored alarm cannot be read back.
    async fn activity(&self, filter: &AlarmFilter) -> Result<Vec<AlarmActivity>, StoreError>;
}

/// Where alarm state lives. Every method is atomic on its own: decisions that depend on
/// stored state are taken inside the store, never by reading, deciding and writing back.
#[async_trait]
pub trait AlarmStore: AlarmActivityStore + Send + Sync + 'static {
    /// Applies each event with the rules of [`AlarmState::apply`], returning one outcome per
    /// event in order. When it returns `Ok`, every event is durably committed.
    ///
    /// Errors: `Unavailable` when nothing or only part of the batch may have been
    /// committed; applying the same events again is always safe.
    async fn apply(&self, events: &[AlarmEvent]) -> Result<Vec<ApplyOutcome>, StoreError>;

    /// The user's alarms that are due now ([`AlarmState::is_due`]), in digest order.
    async fn due_alarms(&self, user: &UserId) -> Result<Vec<DueAlarm>, StoreError>;

    /// Writes down the digest about to be published under `claim`; `Ok(false)` when the
    /// claim was lost (another holder took it over, or the user's epoch is no longer
    /// `claim.epoch`): nothing is written then, and the digest must not be published.
    async fn prepare_digest(&self, claim: &DigestClaim, digest: &PreparedDigest) -> Result<bool, StoreError>;

    /// Drops the digest prepared under `claim`: the broker refused it for good, so it was
    /// never published and no later holder may finish it; its alarms stay due. `Ok(false)`,
    /// and nothing is changed, when the claim was lost (as for
    /// [`AlarmStore::prepare_digest`]).
    ///
    /// Errors: `Unavailable` when the store could not be reached; the prepared digest may
    /// still be there, and a later holder tries it again.
    async fn abandon_digest(&self, claim: &DigestClaim) -> Result<bool, StoreError>;

    /// Records that exactly `digest.alarms` were published under `claim` as `digest.id` in
    /// answer to `digest.request`, counts the digest in the user's epoch, remembers the
    /// request id and the digest among the user's [`SENT_DIGESTS_KEPT`] latest, and clears
    /// the prepared digest. Delivery records only move forward.
    ///
    /// `Ok(false)` when the claim was lost (as for [`AlarmStore::prepare_digest`]): the
    /// user's epoch, prepared digest and answered requests are left to the holder that has
    /// the claim, which finishes the prepared digest itself. The versions' delivery records
    /// may still have moved forward (an adapter that cannot write them in one transaction
    /// with the claim writes them first); that is safe, since they were published.
    ///
    /// Errors: `Unavailable` when the record may or may not have landed. The caller retries
    /// the digest under a new claim, which finds the request answered or the digest still
    /// prepared.
    async fn record_delivery(&self, claim: &DigestClaim, digest: &PreparedDigest) -> Result<bool, StoreError>;

    /// The user's latest recorded digests, newest first, at most [`SENT_DIGESTS_KEPT`].
    async fn sent_digests(&self, user: &UserId) -> Result<Vec<SentDigest>, StoreError>;

    /// Takes the user's digest claim for `ttl` if nobody holds it or the holder's claim
    /// expired; `Ok(None)` when another holder has it. At most one claim of a user is live.
    async fn claim_digest(
        &self,
        user: &UserId,
        holder: &str,
        now: EventTime,
        ttl: Duration,
    ) -> Result<Option<DigestClaim>, StoreError>;

    /// Gives the claim back; `Ok(false)`, and nothing is changed, when it is no longer this
    /// holder's (it expired and was taken by another, or was already given back). Only the
    /// holder is compared: the holder's own records move the epoch on before it releases.
    async fn release_digest(&self, claim: &DigestClaim) -> Result<bool, StoreError>;

    /// One stored alarm, if any event for it was applied.
    async fn alarm(&self, user: &UserId, alarm: &AlarmId) -> Result<Option<AlarmRecord>, StoreError>;

    /// Alarms matching `filter`, one page in (ChangedAt, AlarmID, UserID) order.
    async fn list_alarms(&self, filter: &AlarmFilter, page: &PageRequest) -> Result<Page<AlarmRecord>, StoreError>;

    /// The retained status changes of one alarm in ChangedAt order (then severity, then
    /// arrival); empty when unknown or trimmed.
    async fn history(&self, user: &UserId, alarm: &AlarmId) -> Result<Vec<HistoryEntry>, StoreError>;

    /// Records an acknowledgement time of an alarm; recording the same time again is a no-op.
    async fn acknowledge(&self, user: &UserId, alarm: &AlarmId, at: EventTime) -> Result<AckOutcome, StoreError>;

    /// Totals over the store.
    async fn counts(&self) -> Result<Counts, StoreError>;

    /// Drops the histories of all but the alarms that changed last (latest ChangedAt; the
    /// per-alarm cap is kept on every write); returns how much was dropped, for the logs.
    async fn trim_history(&self) -> Result<u64, StoreError>;

    /// Removes up to `sweep.batch` alarms whose latest status is CLEARED and whose clear
    /// the store applied before `sweep.cleared_before_ms` (its own clock at apply time, not
    /// the event's ChangedAt), with their history, metadata and acknowledgements. Each
    /// leaves a tombstone: its key, the ChangedAt of the clear and when it was removed.
    /// Then removes up to `sweep.batch` tombstones removed before
    /// `sweep.tombstones_before_ms`. Active alarms are never removed, and an alarm that
    /// changed since it was found is left alone, so several sweepers may run at once.
    ///
    /// Applying an event to an alarm that has a tombstone starts from
    /// [`state_after_tombstone`](super::retention::state_after_tombstone): an event older
    /// than the clear is stale and stores nothing; a newer one brings the alarm back (with
    /// that clear in its registers) and drops the tombstone.
    async fn sweep(&self, sweep: &Sweep) -> Result<Swept, StoreError>;

    /// Checks that the store answers.
    async fn ping(&self) -> Result<(), StoreError>;
}

/// Why a digest could not be published.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PublishError {
    /// The broker did not confirm the digest; nothing may be recorded as delivered.
    #[error("digest not confirmed by the broker: {0}")]
    NotConfirmed(#[source] Failure),
    /// The digest cannot be encoded or is refused outright.
    #[error("digest refused: {0}")]
    Refused(#[source] Failure),
}

/// Sends digests to the people who act on them.
#[async_trait]
pub trait DigestPublisher: Send + Sync + 'static {
    /// Publishes `digest` under `id` and returns once the broker has it durably, or, for
    /// brokers without persistence, once it was flushed.
    ///
    /// Errors: `NotConfirmed` when the digest may or may not have been stored; the caller
    /// records nothing and publishing the same id again is safe.
    async fn publish(&self, digest: &Digest, id: &DigestId) -> Result<(), PublishError>;
}

/// Where "now" comes from, so tests can control it.
pub trait Clock: Send + Sync + 'static {
    /// The current wall-clock instant.
    fn now(&self) -> EventTime;
}

/// A clock that moves only when told, for tests: claims, timeouts and the clock-skew rule
/// are judged on its time.
#[derive(Debug)]
pub struct ManualClock(std::sync::Mutex<EventTime>);

impl ManualClock {
    /// A clock standing at `now`.
    pub fn at(now: EventTime) -> Self {
        Self(std::sync::Mutex::new(now))
    }

    /// Moves the clock `by` forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *now = now.after(by);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> EventTime {
        *self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> EventTime {
        EventTime::from_datetime(chrono::Utc::now()).unwrap_or(EventTime::from_nanos(i64::MAX))
    }
}
