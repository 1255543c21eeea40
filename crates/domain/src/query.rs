//! What the API asks of stored alarms: filters, keyset pages, history and counts.

use super::episodes::Lifecycle;
use super::{AlarmId, ApplyOutcome, EventTime, Status, StatusRegisters, UserId, Version};

/// Which alarms to list; every set field must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlarmFilter {
    /// Only this user's alarms.
    pub user_id: Option<UserId>,
    /// Only alarms whose latest status is one of these (any when empty).
    pub statuses: Vec<Status>,
    /// Only active (true) or only cleared (false) alarms.
    pub active: Option<bool>,
    /// Only alarms in one of these lifecycles ([`Lifecycle::of`]; any when empty).
    pub lifecycles: Vec<Lifecycle>,
    /// Exact alarm name.
    pub name: Option<String>,
    /// Exact service: its id or its display name (`AlarmMetadata::service_name`).
    pub service: Option<String>,
    /// Exact user display name.
    pub user_name: Option<String>,
    /// Case-insensitive substring of name, service, service name, user name or summary.
    pub text: Option<String>,
    /// Latest change strictly after this instant.
    pub changed_after: Option<EventTime>,
    /// Latest change strictly before this instant.
    pub changed_before: Option<EventTime>,
}

/// Listing direction over (ChangedAt, AlarmID, UserID).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SortOrder {
    /// Oldest first.
    #[default]
    Asc,
    /// Newest first.
    Desc,
}

/// Where a page ends: the sort key of its last alarm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageKey {
    /// Latest change of the last alarm.
    pub changed_at: EventTime,
    /// Its alarm.
    pub alarm_id: AlarmId,
    /// Its user.
    pub user_id: UserId,
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// Most items returned.
    pub limit: usize,
    /// Continue strictly after this key.
    pub after: Option<PageKey>,
    /// Direction.
    pub order: SortOrder,
}

/// A page of items and the key to ask for the next, if there may be more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items, in order.
    pub items: Vec<T>,
    /// Set when more items follow.
    pub next: Option<PageKey>,
}

/// One status change as received, kept in the alarm's bounded history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// The status and its event time.
    pub version: Version,
    /// What applying it did: stale and duplicate events were ignored.
    pub outcome: ApplyOutcome,
    /// When it was received, Unix milliseconds.
    pub received_ms: i64,
}

/// What the statistics need of one alarm, read with every other matching alarm in one
/// store query: its registers, its retained status changes and its acknowledgements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmActivity {
    /// Whose alarm.
    pub user_id: UserId,
    /// Which alarm.
    pub alarm_id: AlarmId,
    /// The latest event time seen per status; the greatest is the current status.
    pub seen: StatusRegisters,
    /// The retained status changes, in any order, duplicates allowed.
    pub history: Vec<Version>,
    /// Acknowledgement times, oldest first.
    pub acknowledgements: Vec<EventTime>,
}

impl AlarmActivity {
    /// The alarm's current status and when it changed; `None` before any event.
    pub fn latest(&self) -> Option<Version> {
        self.seen.versions().max()
    }

    /// Where the alarm stands in its current episode; `None` before any event.
    pub fn lifecycle(&self) -> Option<Lifecycle> {
        Lifecycle::of(&self.seen, &self.acknowledgements)
    }

    /// Every version known of the alarm, what its episodes are rebuilt from: the retained
    /// history and the latest version of each status (which outlive a trimmed history).
    pub fn versions(&self) -> Vec<Version> {
        self.history.iter().copied().chain(self.seen.versions()).collect()
    }
}

/// How much history is kept, so nothing grows without bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryLimits {
    /// Newest events kept per alarm.
    pub events_per_alarm: usize,
    /// Histories kept only for this many most recently updated alarms.
    pub alarms: usize,
}

impl Default for HistoryLimits {
    fn default() -> Self {
        Self {
            events_per_alarm: 100,
            alarms: 1000,
        }
    }
}

/// Totals over the whole store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Alarms active now.
    pub active: u64,
    /// Alarms stored (cleared ones included, removed ones not).
    pub alarms: u64,
    /// Status changes received by the stored alarms, duplicates and stale ones included.
    pub events_received: u64,
    /// Tombstones of removed alarms kept now.
    pub tombstones: u64,
    /// Alarms removed by retention since the store was created.
    pub removed: u64,
}

/// What an acknowledgement did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckOutcome {
    /// Stored.
    Recorded,
    /// The same acknowledgement was already stored.
    AlreadyRecorded,
    /// No such alarm.
    UnknownAlarm,
}

/// Cuts a listing fetched with one row more than `limit` into a page whose `next` key is
/// the last item's, present only when that extra row showed more follow.
pub fn page_from(mut items: Vec<crate::ports::AlarmRecord>, limit: usize) -> Page<crate::ports::AlarmRecord> {
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().and_then(|r| {
            Some(PageKey {
                changed_at: r.state.latest()?.changed_at,
                alarm_id: r.alarm_id.clone(),
                user_id: r.user_id.clone(),
            })
        })
    } else {
        None
    };
    Page { items, next }
}
