//! Statistics: alarms by current status, and time to acknowledge and to resolve over the
//! alarm episodes that started in a window.

use super::Digests;
use crate::domain::episodes::{episodes, summarize, Episode, Summary};
use crate::domain::ports::StoreError;
use crate::domain::query::{AlarmFilter, PageRequest, SortOrder};
use crate::domain::{EventTime, Status, Version};
use std::collections::BTreeMap;

/// How many alarms one store read takes while the statistics walk them.
const PAGE: usize = 1000;

/// The window episodes must start in: `[since, until)`, open where `None`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    /// Earliest start, inclusive.
    pub since: Option<EventTime>,
    /// Latest start, exclusive.
    pub until: Option<EventTime>,
}

impl Window {
    /// Whether `t` falls in the window.
    pub fn contains(&self, t: EventTime) -> bool {
        self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t < u)
    }
}

/// What the statistics found.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmStats {
    /// Matching alarms by their current status; every status present, zero included.
    pub by_status: BTreeMap<&'static str, u64>,
    /// Episodes that started in the window.
    pub episodes: usize,
    /// Time to acknowledge over those episodes that were acknowledged.
    pub time_to_acknowledge: Option<Summary>,
    /// Time to resolve over those episodes that were resolved.
    pub time_to_resolve: Option<Summary>,
}

impl Digests {
    /// Alarms matching `filter` by current status, and response times over their episodes
    /// that started in `window`. Episodes are rebuilt from each alarm's retained history,
    /// its latest status per severity and its acknowledgements.
    pub async fn stats(&self, filter: &AlarmFilter, window: &Window) -> Result<AlarmStats, StoreError> {
        let mut by_status: BTreeMap<&'static str, u64> = Status::ALL.iter().map(|s| (s.as_str(), 0)).collect();
        let mut in_window: Vec<Episode> = Vec::new();
        let mut page = PageRequest {
            limit: PAGE,
            after: None,
            order: SortOrder::Asc,
        };
        loop {
            let listed = self.store.list_alarms(filter, &page).await?;
            for alarm in &listed.items {
                if let Some(latest) = alarm.state.latest() {
                    *by_status.entry(latest.status.as_str()).or_default() += 1;
                }
                let history = self.store.history(&alarm.user_id, &alarm.alarm_id).await?;
                let versions: Vec<Version> = history
                    .iter()
                    .map(|e| e.version)
                    .chain(alarm.state.seen.versions())
                    .collect();
                in_window.extend(
                    episodes(&versions, &alarm.acknowledgements)
                        .into_iter()
                        .filter(|e| window.contains(e.started_at)),
                );
            }
            match listed.next {
                Some(next) => page.after = Some(next),
                None => break,
            }
        }
        let acknowledge = in_window.iter().filter_map(Episode::time_to_acknowledge).collect();
        let resolve = in_window.iter().filter_map(Episode::time_to_resolve).collect();
        Ok(AlarmStats {
            by_status,
            episodes: in_window.len(),
            time_to_acknowledge: summarize(acknowledge),
            time_to_resolve: summarize(resolve),
        })
    }
}
