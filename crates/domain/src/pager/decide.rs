//! The pager's rules as pure functions: from a service's state, its policy, an input and
//! the time, the next state (with its next timeout) and the notifications to send.

use super::incident::{Acknowledgement, Incident, ServiceState};
use super::policy::{EscalationPolicy, LastLevelTimeout, Target};
use crate::{EventTime, ServiceId};
use std::time::Duration;

/// An alert about a service: something is wrong and someone must act.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// The service.
    pub service_id: ServiceId,
    /// What is wrong, as the people paged will read it.
    pub message: String,
    /// When the problem was raised.
    pub raised_at: EventTime,
}

/// One notification to one target, for one reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The service it is about.
    pub service_id: ServiceId,
    /// The service's incident number.
    pub incident: u64,
    /// The level notified, from 1.
    pub level: u32,
    /// 0 the first time a level is notified; n for its n-th repeat (policy `repeat`).
    pub repeat: u32,
    /// Who is notified.
    pub target: Target,
    /// The incident's message.
    pub message: String,
}

impl Notification {
    /// The idempotency key `(service, incident, level, target)`: the store records each key
    /// once and the broker drops a re-publish of it. `/` and `%` in the service id are
    /// escaped so keys of different services never collide; a repeat of a level is written
    /// `level.repeat`.
    pub fn key(&self) -> String {
        let service = self.service_id.as_str().replace('%', "%25").replace('/', "%2F");
        let level = match self.repeat {
            0 => self.level.to_string(),
            r => format!("{}.{r}", self.level),
        };
        format!("{service}/{}/{level}/{}", self.incident, self.target)
    }
}

/// What a decision did, for callers and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A healthy service became unhealthy; level 1 is notified.
    Opened,
    /// The service already had an open incident; nothing happens.
    AlreadyOpen,
    /// A timeout moved the incident to the next level.
    Escalated,
    /// A timeout of the last level notified it again (policy `repeat`).
    Repeated,
    /// A timeout of the last level ended the escalation (policy `stop`).
    Exhausted,
    /// Nothing was due: no incident, acknowledged, or the timeout not reached.
    NotDue,
    /// The open incident is now acknowledged.
    Acknowledged,
    /// It was acknowledged before.
    AlreadyAcknowledged,
    /// No open incident to act on.
    NoIncident,
    /// An unhealthy service became healthy.
    Recovered,
    /// A healthy service became unhealthy during a maintenance window: the incident is
    /// held, nobody is notified until the window ends.
    Held,
    /// A held incident's window ended and nobody acknowledged it: level 1 is notified.
    Released,
}

impl Outcome {
    /// What an alert can decide ([`raise`]).
    pub const OF_ALERT: [Outcome; 3] = [Outcome::Opened, Outcome::AlreadyOpen, Outcome::Held];
    /// What an acknowledgement can decide ([`acknowledge`]).
    pub const OF_ACKNOWLEDGE: [Outcome; 3] = [Outcome::Acknowledged, Outcome::AlreadyAcknowledged, Outcome::NoIncident];
    /// What a recovery can decide ([`recover`]).
    pub const OF_HEALTHY: [Outcome; 2] = [Outcome::Recovered, Outcome::NoIncident];

    /// A stable lower-case name, for logs and responses.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Opened => "opened",
            Outcome::AlreadyOpen => "already_open",
            Outcome::Escalated => "escalated",
            Outcome::Repeated => "repeated",
            Outcome::Exhausted => "exhausted",
            Outcome::NotDue => "not_due",
            Outcome::Acknowledged => "acknowledged",
            Outcome::AlreadyAcknowledged => "already_acknowledged",
            Outcome::NoIncident => "no_incident",
            Outcome::Recovered => "recovered",
            Outcome::Held => "held_in_maintenance",
            Outcome::Released => "released_after_maintenance",
        }
    }
}

/// The next state and the effects that go with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The state to store.
    pub state: ServiceState,
    /// The notifications to send once it is stored (once each: a key says which one it
    /// is). The next timeout, if any, is the state's own (`timeout_at`).
    pub notifications: Vec<Notification>,
    /// What happened.
    pub outcome: Outcome,
}

impl Decision {
    fn unchanged(state: &ServiceState, outcome: Outcome) -> Self {
        Self {
            state: state.clone(),
            notifications: Vec::new(),
            outcome,
        }
    }

    /// The notifications to send.
    pub fn notifications(&self) -> impl Iterator<Item = &Notification> {
        self.notifications.iter()
    }
}

/// When `level`, paged at `now`, times out: after its own timeout, or `ack_timeout`.
fn level_timeout_at(policy: Option<&EscalationPolicy>, level: u32, now: EventTime, ack_timeout: Duration) -> EventTime {
    let own = policy.and_then(|p| p.level(level)).and_then(|l| l.timeout());
    now.after(own.unwrap_or(ack_timeout))
}

/// Notifies every target of `level` of `incident` and sets the next timeout.
fn page(
    service_id: &ServiceId,
    policy: Option<&EscalationPolicy>,
    mut incident: Incident,
    level: u32,
    repeat: u32,
    timeout_at: EventTime,
    outcome: Outcome,
) -> Decision {
    let targets = policy.and_then(|p| p.level(level)).map(|l| l.targets()).unwrap_or(&[]);
    let notifications: Vec<Notification> = targets
        .iter()
        .map(|target| Notification {
            service_id: service_id.clone(),
            incident: incident.number,
            level,
            repeat,
            target: target.clone(),
            message: incident.message.clone(),
        })
        .collect();
    incident.level = if notifications.is_empty() {
        incident.level
    } else {
        level
    };
    incident.repeats = repeat;
    incident.timeout_at = (!notifications.is_empty()).then_some(timeout_at);
    Decision {
        state: ServiceState::Unhealthy(incident),
        notifications,
        outcome,
    }
}

/// An alert: a healthy service opens an incident and its first level is notified, with
/// a timeout `ack_timeout` from now (behaviour 1); an unhealthy one ignores it
/// (behaviour 4). Without a policy the incident opens and nobody is notified. During a
/// maintenance window ending at `maintenance`, the incident opens held: nobody is
/// notified, and its timeout is the window's end, when [`fire_timeout`] releases it.
pub fn raise(
    state: &ServiceState,
    policy: Option<&EscalationPolicy>,
    alert: &Alert,
    now: EventTime,
    ack_timeout: Duration,
    maintenance: Option<EventTime>,
) -> Decision {
    match state {
        ServiceState::Unhealthy(_) => Decision::unchanged(state, Outcome::AlreadyOpen),
        ServiceState::Healthy { incidents } => {
            let incident = Incident {
                number: incidents + 1,
                message: alert.message.clone(),
                raised_at: alert.raised_at,
                opened_at: now,
                level: 0,
                repeats: 0,
                acknowledged: None,
                timeout_at: None,
                held_until: None,
            };
            if let Some(end) = maintenance {
                return hold(incident, end, Outcome::Held);
            }
            page(
                &alert.service_id,
                policy,
                incident,
                1,
                0,
                level_timeout_at(policy, 1, now, ack_timeout),
                Outcome::Opened,
            )
        }
    }
}

/// The incident held by maintenance until `end`, its timeout then.
fn hold(incident: Incident, end: EventTime, outcome: Outcome) -> Decision {
    Decision {
        state: ServiceState::Unhealthy(Incident {
            held_until: Some(end),
            timeout_at: Some(end),
            ..incident
        }),
        notifications: Vec::new(),
        outcome,
    }
}

/// The acknowledgement timeout fires: an unacknowledged incident whose timeout is reached
/// escalates to the next level (behaviour 2); at the last level the policy says whether
/// to notify it again or stop (behaviour 6). Anything else does nothing (behaviours 3, 5).
///
/// Maintenance: while a window ending at `maintenance` holds the service, a timeout
/// notifies nobody and waits for the window's end instead; a held incident whose window
/// is over and that nobody acknowledged is paged then, at level 1 (or its next level when
/// it was paged before the window began).
pub fn fire_timeout(
    service_id: &ServiceId,
    state: &ServiceState,
    policy: Option<&EscalationPolicy>,
    now: EventTime,
    ack_timeout: Duration,
    maintenance: Option<EventTime>,
) -> Decision {
    let Some(incident) = state.incident() else {
        return Decision::unchanged(state, Outcome::NotDue);
    };
    let due = incident.timeout_at.is_some_and(|at| at <= now);
    if !due || incident.acknowledged.is_some() {
        return Decision::unchanged(state, Outcome::NotDue);
    }
    if let Some(end) = maintenance {
        return hold(incident.clone(), end, Outcome::NotDue);
    }
    let released = incident.held_until.is_some();
    let incident = Incident {
        held_until: None,
        ..incident.clone()
    };
    if released && incident.level == 0 {
        let next = level_timeout_at(policy, 1, now, ack_timeout);
        return page(service_id, policy, incident, 1, 0, next, Outcome::Released);
    }
    let last = policy.map_or(0, EscalationPolicy::last_level);
    if incident.level < last {
        let level = incident.level + 1;
        let next = level_timeout_at(policy, level, now, ack_timeout);
        return page(service_id, policy, incident, level, 0, next, Outcome::Escalated);
    }
    match policy.map(EscalationPolicy::last_level_timeout) {
        Some(LastLevelTimeout::Repeat) => {
            let repeat = incident.repeats + 1;
            let next = level_timeout_at(policy, last, now, ack_timeout);
            page(service_id, policy, incident, last, repeat, next, Outcome::Repeated)
        }
        Some(LastLevelTimeout::Stop) | None => Decision {
            state: ServiceState::Unhealthy(Incident {
                timeout_at: None,
                ..incident
            }),
            notifications: Vec::new(),
            outcome: Outcome::Exhausted,
        },
    }
}

/// Someone acknowledges: the open incident stops escalating (its timeout is dropped).
pub fn acknowledge(state: &ServiceState, by: Option<&str>, now: EventTime) -> Decision {
    match state {
        ServiceState::Healthy { .. } => Decision::unchanged(state, Outcome::NoIncident),
        ServiceState::Unhealthy(i) if i.acknowledged.is_some() => {
            Decision::unchanged(state, Outcome::AlreadyAcknowledged)
        }
        ServiceState::Unhealthy(incident) => Decision {
            state: ServiceState::Unhealthy(Incident {
                acknowledged: Some(Acknowledgement {
                    by: by.map(str::to_string),
                    at: now,
                }),
                timeout_at: None,
                held_until: None,
                ..incident.clone()
            }),
            notifications: Vec::new(),
            outcome: Outcome::Acknowledged,
        },
    }
}

/// The service is healthy again: the incident closes and nothing more is sent for it.
pub fn recover(state: &ServiceState) -> Decision {
    match state {
        ServiceState::Healthy { .. } => Decision::unchanged(state, Outcome::NoIncident),
        ServiceState::Unhealthy(incident) => Decision {
            state: ServiceState::Healthy {
                incidents: incident.number,
            },
            notifications: Vec::new(),
            outcome: Outcome::Recovered,
        },
    }
}

/// A maintenance window holding the service changed (ended early, extended, removed):
/// its held incident, if nobody acknowledged it, is held until `maintenance` (the end of
/// what still holds the service), or falls due at `now` to be released when nothing does.
pub fn rehold(state: &ServiceState, maintenance: Option<EventTime>, now: EventTime) -> Decision {
    match state.incident() {
        Some(incident) if incident.held_until.is_some() && incident.acknowledged.is_none() => match maintenance {
            Some(end) => hold(incident.clone(), end, Outcome::NotDue),
            None => Decision {
                state: ServiceState::Unhealthy(Incident {
                    timeout_at: Some(now),
                    ..incident.clone()
                }),
                notifications: Vec::new(),
                outcome: Outcome::NotDue,
            },
        },
        _ => Decision::unchanged(state, Outcome::NotDue),
    }
}
