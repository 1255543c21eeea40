//! A user's digest schedule: their digest sent at the times of a recurrence in their own
//! time zone, without anyone asking; and the port that keeps schedules with their timer,
//! claimed like the pager's so each occurrence fires once across replicas.

use crate::ports::StoreError;
use crate::recurrence::Recurrence;
use crate::{EventTime, UserId};
use async_trait::async_trait;

/// When a user's digest is sent on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestSchedule {
    /// Whose digest.
    pub user_id: UserId,
    /// When, in the user's zone.
    pub recurrence: Recurrence,
    /// Whether an occurrence with nothing due still sends an (empty) digest.
    pub send_empty: bool,
}

/// A stored schedule and its timer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleRecord {
    /// The schedule.
    pub schedule: DigestSchedule,
    /// The occurrence the timer waits for; `None` when the recurrence has no more.
    pub next_due: Option<EventTime>,
    /// Changes with every write of the schedule (not of its timer), so a claim taken on
    /// an older version of it cannot move the timer of the new one.
    pub revision: u64,
}

/// A schedule whose occurrence came, claimed by one replica.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueSchedule {
    /// The schedule as claimed.
    pub schedule: DigestSchedule,
    /// The occurrence that fell due (the earliest not yet fired).
    pub occurrence: EventTime,
    /// The schedule's revision when claimed.
    pub revision: u64,
    /// Which claim of the schedule this is: every claim, and a claim taken over once the
    /// previous one lapsed, gets a new one, so only the latest claimer moves the timer.
    pub claim: u64,
    /// Another replica had claimed this occurrence and its claim lapsed (it died while
    /// firing): replicas were running, so the occurrences after it are fired one by one,
    /// not folded into this one as occurrences missed while none ran are.
    pub lapsed: bool,
}

/// What caused a digest: the request of another service, or a schedule's occurrence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestCause {
    /// A `SendAlarmDigest` (or the services API's send) asked for it.
    Requested,
    /// The user's schedule: the occurrence it was sent for.
    Scheduled {
        /// The occurrence.
        occurrence: EventTime,
    },
}

impl DigestCause {
    /// `requested` or `scheduled`, as the digest's header says it.
    pub fn as_str(&self) -> &'static str {
        match self {
            DigestCause::Requested => "requested",
            DigestCause::Scheduled { .. } => "scheduled",
        }
    }
}

/// Where schedules and their timers live. Finding the due ones reads an index of the next
/// occurrence, never every schedule.
#[async_trait]
pub trait ScheduleStore: Send + Sync {
    /// Creates or replaces the user's schedule with its timer set to `next_due`; `true`
    /// when it was created. A claim taken on the schedule before is left without effect.
    ///
    /// Errors: `Unavailable` when the store could not be reached.
    async fn put_schedule(&self, schedule: &DigestSchedule, next_due: Option<EventTime>) -> Result<bool, StoreError>;

    /// The user's schedule, if any.
    async fn schedule(&self, user: &UserId) -> Result<Option<ScheduleRecord>, StoreError>;

    /// Removes the user's schedule; `false` when there was none.
    async fn delete_schedule(&self, user: &UserId) -> Result<bool, StoreError>;

    /// Claims, until `claim_until`, up to `limit` schedules whose timer is at or before
    /// `now` and whose claim is free or lapsed, earliest first; with one conditional write
    /// each, so two replicas never claim the same one.
    async fn claim_due_schedules(
        &self,
        now: EventTime,
        claim_until: EventTime,
        limit: usize,
    ) -> Result<Vec<DueSchedule>, StoreError>;

    /// Sets a claimed schedule's timer to `next_due` and frees its claim; `false`, and
    /// nothing is written, when the schedule was changed, deleted or its timer moved since
    /// the claim, or when the claim lapsed and another replica claimed it since.
    async fn advance_schedule(&self, due: &DueSchedule, next_due: Option<EventTime>) -> Result<bool, StoreError>;
}
