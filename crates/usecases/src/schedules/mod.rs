//! Digest schedules: each user's digest sent at the occurrences of their own recurrence,
//! in their time zone, exactly as a `SendAlarmDigest` would send it (the same claim, the
//! same rule, the same exactly-once record), from a timer kept in the store and claimed
//! like the pager's, so each occurrence fires once across replicas and survives restarts.

pub mod timer;

use crate::digests::{DigestError, DigestRequest, Digests};
use crate::observer::{unobserved, Observer};
use domain::failure::Chain;
use domain::ports::{Clock, StoreError, ANSWERED_REQUESTS_KEPT};
use domain::recurrence::{Occurrence, Recurrence};
use domain::schedule::{DigestCause, DigestSchedule, DueSchedule, ScheduleRecord, ScheduleStore};
use domain::{EventTime, UserId};
use futures::StreamExt;
use std::sync::Arc;
use std::time::Duration;

/// The most occurrences one firing sends one by one, when the timer fell behind while
/// replicas ran; the next claim sends the rest. Half the request ids a user's claim
/// remembers: a firing that fails part way and fires again finds every occurrence it sent
/// already answered, beside the user's own requests.
const MAX_CATCH_UP: usize = ANSWERED_REQUESTS_KEPT / 2;

/// How schedules are claimed.
#[derive(Debug, Clone, Copy)]
pub struct ScheduleSettings {
    /// How long a claimed occurrence is this replica's; past it another replica fires it.
    pub claim_ttl: Duration,
    /// How many due schedules one claim takes, all fired at once: their digests are
    /// different users' and share nothing but the store, which commits concurrent work
    /// together. Replicas share a burst batch by batch, and a batch is fired well within
    /// its claim's lifetime.
    pub batch: usize,
}

impl Default for ScheduleSettings {
    fn default() -> Self {
        Self {
            claim_ttl: Duration::from_secs(60),
            batch: 32,
        }
    }
}

/// Why a schedule operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What firing one occurrence did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fired {
    /// Whose schedule.
    pub user_id: UserId,
    /// The occurrence fired (the earliest of those missed, when several were).
    pub occurrence: EventTime,
    /// How many occurrences this one firing stands for (more than one when every
    /// replica was down across several).
    pub occurrences: u64,
    /// How late it fired.
    pub late_by: Duration,
    /// The digest's id, when one was published.
    pub digest: Option<String>,
}

/// The digest schedules use case.
pub struct DigestSchedules {
    store: Arc<dyn ScheduleStore>,
    digests: Arc<Digests>,
    clock: Arc<dyn Clock>,
    settings: ScheduleSettings,
    observer: Arc<dyn Observer>,
    /// When this replica's schedules began: occurrences that fell due since, a timer ran
    /// for (this one at least); those before may have fallen due while none ran.
    running_since: EventTime,
}

impl DigestSchedules {
    /// Schedules kept in `store`, sent through `digests`.
    pub fn new(
        store: Arc<dyn ScheduleStore>,
        digests: Arc<Digests>,
        clock: Arc<dyn Clock>,
        settings: ScheduleSettings,
    ) -> Self {
        Self {
            running_since: clock.now(),
            store,
            digests,
            clock,
            settings,
            observer: unobserved(),
        }
    }

    /// Reports every occurrence fired to `observer`.
    pub fn observed_by(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observer = observer;
        self
    }

    /// Creates or replaces the user's schedule; `true` when created. It takes effect from
    /// its next occurrence after now.
    pub async fn put(&self, schedule: &DigestSchedule) -> Result<bool, ScheduleError> {
        let next = schedule.recurrence.next_after(self.clock.now()).map(|o| o.at);
        Ok(self.store.put_schedule(schedule, next).await?)
    }

    /// The user's schedule and its next occurrence.
    pub async fn get(&self, user: &UserId) -> Result<Option<ScheduleRecord>, ScheduleError> {
        Ok(self.store.schedule(user).await?)
    }

    /// Removes the user's schedule; `false` when there was none.
    pub async fn delete(&self, user: &UserId) -> Result<bool, ScheduleError> {
        Ok(self.store.delete_schedule(user).await?)
    }

    /// The next `count` occurrences of `recurrence` after `after` (now when `None`), for a
    /// person to check a schedule before trusting it.
    pub fn next_occurrences(&self, recurrence: &Recurrence, after: Option<EventTime>, count: usize) -> Vec<Occurrence> {
        recurrence.occurrences_after(after.unwrap_or_else(|| self.clock.now()), count)
    }

    /// Fires every due occurrence, a batch at a time, until none is due; what each did.
    /// An occurrence whose digest could not be sent keeps its claim until it lapses, and
    /// is fired again then.
    pub async fn fire_due(&self) -> Result<Vec<Fired>, ScheduleError> {
        let mut fired = Vec::new();
        loop {
            let now = self.clock.now();
            let claimed = self
                .store
                .claim_due_schedules(now, now.after(self.settings.claim_ttl), self.settings.batch)
                .await?;
            let full = claimed.len() >= self.settings.batch;
            let results: Vec<_> = futures::stream::iter(claimed)
                .map(|due| async move {
                    let result = self.fire(&due).await;
                    (due, result)
                })
                .buffer_unordered(self.settings.batch.max(1))
                .collect()
                .await;
            for (due, result) in results {
                match result {
                    Ok(done) => fired.extend(done),
                    Err(e) => tracing::warn!(
                        user = %due.schedule.user_id, error = %Chain(&e),
                        "a scheduled digest was not sent; it fires again when its claim lapses"
                    ),
                }
            }
            if !full {
                return Ok(fired);
            }
        }
    }

    /// Sends the digests of one claimed schedule and moves its timer on. Usually that is
    /// one occurrence. A timer that fell behind while replicas ran (a replica died holding
    /// the claim, or a burst kept this one busy) sends every occurrence it fell behind on,
    /// one digest each, as it would have been: falling behind skips nothing. Only the
    /// occurrences that fell due before this replica began, while no replica may have run,
    /// are sent as one digest, the earliest standing for them all.
    async fn fire(&self, due: &DueSchedule) -> Result<Vec<Fired>, DigestError> {
        let now = self.clock.now();
        let schedule = &due.schedule;
        let recurrence = &schedule.recurrence;
        let since = EventTime::from_nanos(due.occurrence.as_nanos() - 1);
        // A lapsed claim means a replica ran when these fell due: none of them folds.
        let ran_from = if due.lapsed { since } else { self.running_since };
        let mut occurrences: Vec<(EventTime, u64)> = Vec::new();
        let mut covered = since;
        let fold_until = EventTime::from_nanos(ran_from.as_nanos().saturating_sub(1)).min(now);
        if let Some(missed) = recurrence.missed_between(since, fold_until) {
            occurrences.push((missed.first.at, missed.count));
            covered = missed.last.at;
        }
        let behind = recurrence
            .occurrences_after(covered, MAX_CATCH_UP)
            .into_iter()
            .map(|o| o.at)
            .take_while(|at| *at <= now);
        for at in behind {
            occurrences.push((at, 1));
            covered = at;
        }
        // Beyond MAX_CATCH_UP the next occurrence is still due: the next claim goes on.
        let next = recurrence.next_after(covered);
        let mut fired = Vec::with_capacity(occurrences.len());
        for (occurrence, count) in occurrences {
            fired.push(self.send(schedule, occurrence, count, now).await?);
        }
        if !self.store.advance_schedule(due, next.map(|o| o.at)).await? {
            tracing::info!(user = %schedule.user_id, "the schedule changed while its occurrence fired; its new timer stands");
        }
        Ok(fired)
    }

    /// Sends the digest of one occurrence, standing for `occurrences` of them.
    async fn send(
        &self,
        schedule: &DigestSchedule,
        occurrence: EventTime,
        occurrences: u64,
        now: EventTime,
    ) -> Result<Fired, DigestError> {
        let late_by = Duration::from_nanos(now.as_nanos().saturating_sub(occurrence.as_nanos()).max(0) as u64);
        // The occurrence's id answers it once, however often its claim lapses.
        let id = format!("schedule:{}", occurrence.as_nanos());
        let request = DigestRequest {
            id: Some(&id),
            cause: DigestCause::Scheduled { occurrence },
            send_empty: schedule.send_empty,
        };
        let sent = self.digests.send(&schedule.user_id, &request).await?;
        if occurrences > 1 {
            tracing::warn!(
                user = %schedule.user_id, occurrences, late_by = ?late_by,
                "occurrences missed while no replica ran were sent as one digest"
            );
        }
        self.observer.schedule_fired(late_by, occurrences);
        Ok(Fired {
            user_id: schedule.user_id.clone(),
            occurrence,
            occurrences,
            late_by,
            digest: sent.map(|s| s.id.as_str().to_string()),
        })
    }
}
