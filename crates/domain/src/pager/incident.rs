//! The health of a monitored service and its open incident.

use crate::EventTime;

/// Who acknowledged an incident, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acknowledgement {
    /// The person, when the acknowledgement named one.
    pub by: Option<String>,
    /// When the pager recorded it.
    pub at: EventTime,
}

/// What happens to a service while it is unhealthy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    /// The service's incident sequence number, from 1; part of every notification's key.
    pub number: u64,
    /// The message of the alert that opened it.
    pub message: String,
    /// When the alert says the problem was raised.
    pub raised_at: EventTime,
    /// When the pager opened the incident.
    pub opened_at: EventTime,
    /// The level last notified, from 1; 0 when the service had no policy.
    pub level: u32,
    /// How many times the last level was notified again (policy `repeat`).
    pub repeats: u32,
    /// Set once someone acknowledged; escalation stops.
    pub acknowledged: Option<Acknowledgement>,
    /// When the acknowledgement timeout fires, if one is pending.
    pub timeout_at: Option<EventTime>,
    /// Held by a maintenance window until then: nobody is paged, and when it ends (the
    /// timeout fires then) level 1 is paged if nobody acknowledged meanwhile.
    pub held_until: Option<EventTime>,
}

/// A monitored service as the pager sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceState {
    /// Nothing wrong; `incidents` counts the incidents it had, so the next one is numbered
    /// `incidents + 1`.
    Healthy {
        /// Incidents closed so far.
        incidents: u64,
    },
    /// One open incident.
    Unhealthy(Incident),
}

impl Default for ServiceState {
    /// A service never seen: healthy, no incident yet.
    fn default() -> Self {
        ServiceState::Healthy { incidents: 0 }
    }
}

impl ServiceState {
    /// The open incident, if any.
    pub fn incident(&self) -> Option<&Incident> {
        match self {
            ServiceState::Healthy { .. } => None,
            ServiceState::Unhealthy(incident) => Some(incident),
        }
    }

    /// Whether the service is healthy.
    pub fn is_healthy(&self) -> bool {
        matches!(self, ServiceState::Healthy { .. })
    }

    /// Incidents opened so far, the open one included.
    pub fn incidents(&self) -> u64 {
        match self {
            ServiceState::Healthy { incidents } => *incidents,
            ServiceState::Unhealthy(incident) => incident.number,
        }
    }

    /// When the pending acknowledgement timeout fires, if one is pending.
    pub fn timeout_at(&self) -> Option<EventTime> {
        self.incident().and_then(|i| i.timeout_at)
    }
}
