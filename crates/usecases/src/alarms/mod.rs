//! Writing alarm state: apply status changes (paging a service whose alarm turns
//! CRITICAL, when asked) and record acknowledgements, for every entrance (NATS, HTTP).

mod paging;

use crate::observer::{unobserved, Observer};
use crate::pager::PagerService;
use domain::ports::{AlarmStore, Clock, StoreError};
use domain::query::AckOutcome;
use domain::skew::ahead_of_clock;
use domain::{AlarmEvent, AlarmId, ApplyOutcome, EventTime, UserId};
use std::sync::Arc;
use std::time::Duration;

/// How far ahead of the service's clock an event may be stamped, by default.
pub const DEFAULT_MAX_CLOCK_SKEW: Duration = Duration::from_secs(300);

/// What became of one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventOutcome {
    /// The store took it: applied, stale or a duplicate.
    Stored(ApplyOutcome),
    /// Refused before the store, for good; the reason (e.g. stamped too far ahead).
    Refused(String),
}

/// What applying a batch of events did.
#[derive(Debug, Clone)]
pub struct Applied {
    /// Each event's outcome, in order.
    pub outcomes: Vec<EventOutcome>,
}

/// The writers of alarm state every intake calls.
pub struct AlarmUpdates {
    store: Arc<dyn AlarmStore>,
    clock: Arc<dyn Clock>,
    /// How far ahead of the clock an event may be stamped (`MAX_CLOCK_SKEW`).
    max_clock_skew: Duration,
    /// The pager, when an alarm of a service turning CRITICAL raises a `PagerAlert`.
    page_on_critical: Option<Arc<PagerService>>,
    observer: Arc<dyn Observer>,
}

impl AlarmUpdates {
    /// Applies events to `store`, refusing those stamped too far ahead of `clock`.
    pub fn new(store: Arc<dyn AlarmStore>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            max_clock_skew: DEFAULT_MAX_CLOCK_SKEW,
            page_on_critical: None,
            observer: unobserved(),
        }
    }

    /// Reports every committed batch to `observer`.
    pub fn observed_by(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observer = observer;
        self
    }

    /// Refuses events stamped more than `skew` ahead of the clock (`MAX_CLOCK_SKEW`).
    pub fn with_max_clock_skew(mut self, skew: Duration) -> Self {
        self.max_clock_skew = skew;
        self
    }

    /// Pages through `pager` for the service of every alarm that turns CRITICAL
    /// (`PAGE_ON_CRITICAL`), whichever entrance the event came through.
    pub fn paging_on_critical(mut self, pager: Arc<PagerService>) -> Self {
        self.page_on_critical = Some(pager);
        self
    }

    /// Applies events; when it returns `Ok` they are committed, except those refused for
    /// being stamped more than `MAX_CLOCK_SKEW` ahead of the clock. With paging on, the
    /// alert of each applied CRITICAL event of a service was raised (or given up on after
    /// retries, logged).
    pub async fn apply(&self, events: &[AlarmEvent]) -> Result<Applied, StoreError> {
        let started = std::time::Instant::now();
        let now = self.clock.now();
        let refusals: Vec<Option<String>> = events
            .iter()
            .map(|ev| ahead_of_clock(ev.version.changed_at, now, self.max_clock_skew))
            .collect();
        // Events are copied only when some are refused, which is rare.
        let accepted: std::borrow::Cow<'_, [AlarmEvent]> = if refusals.iter().all(Option::is_none) {
            std::borrow::Cow::Borrowed(events)
        } else {
            events
                .iter()
                .zip(&refusals)
                .filter(|(_, refused)| refused.is_none())
                .map(|(ev, _)| ev.clone())
                .collect()
        };
        let stored = if accepted.is_empty() {
            Vec::new()
        } else {
            self.store.apply(&accepted).await?
        };
        if !accepted.is_empty() {
            self.observer.events_applied(accepted.len(), started.elapsed());
        }
        if let Some(pager) = &self.page_on_critical {
            paging::page_critical(pager, &accepted, &stored).await;
        }
        let mut stored = stored.into_iter();
        let outcomes = refusals
            .into_iter()
            .map(|refused| match refused {
                Some(reason) => EventOutcome::Refused(reason),
                None => EventOutcome::Stored(stored.next().expect("one outcome per accepted event")),
            })
            .collect();
        Ok(Applied { outcomes })
    }

    /// Records that `user` acknowledged `alarm` at `at`; idempotent.
    pub async fn acknowledge(&self, user: &UserId, alarm: &AlarmId, at: EventTime) -> Result<AckOutcome, StoreError> {
        self.store.acknowledge(user, alarm, at).await
    }
}
