//! The stored form of pager state, outboxes and policies, shared by both adapters:
//! compact JSON text, times as integer nanoseconds.

use domain::pager::{
    Acknowledgement, Channel, EscalationPolicy, Incident, LastLevelTimeout, LevelSpec, Notification, ServiceState,
    Target,
};
use domain::ports::StoreError;
use domain::{EventTime, ServiceId};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct StoredState {
    incidents: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    open: Option<StoredIncident>,
}

#[derive(Serialize, Deserialize)]
struct StoredIncident {
    message: String,
    raised_at: i64,
    opened_at: i64,
    level: u32,
    repeats: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    acked_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    acked_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    timeout_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    held_until: Option<i64>,
}

#[derive(Serialize, Deserialize)]
struct StoredNotification {
    service: String,
    incident: u64,
    level: u32,
    repeat: u32,
    /// `[channel, address]`.
    target: (String, String),
    message: String,
}

#[derive(Serialize, Deserialize)]
struct StoredPolicy {
    /// Per level, `[channel, address]` per target.
    levels: Vec<Vec<(String, String)>>,
    last_level_timeout: String,
    /// Per level, its own timeout in milliseconds; absent when no level has one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    timeouts_ms: Vec<Option<u64>>,
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}").into())
}

fn target(channel: &str, address: &str) -> Result<Target, StoreError> {
    match channel {
        "email" => Target::email(address),
        "sms" => Target::sms(address),
        other => return Err(corrupt("target", format!("unknown channel {other:?}"))),
    }
    .map_err(|e| corrupt("target", e))
}

fn target_parts(t: &Target) -> (String, String) {
    (t.channel().as_str().to_string(), t.address().to_string())
}

/// Encodes a service state.
pub fn encode_state(state: &ServiceState) -> String {
    let stored = StoredState {
        incidents: state.incidents(),
        open: state.incident().map(|i| StoredIncident {
            message: i.message.clone(),
            raised_at: i.raised_at.as_nanos(),
            opened_at: i.opened_at.as_nanos(),
            level: i.level,
            repeats: i.repeats,
            acked_at: i.acknowledged.as_ref().map(|a| a.at.as_nanos()),
            acked_by: i.acknowledged.as_ref().and_then(|a| a.by.clone()),
            timeout_at: i.timeout_at.map(EventTime::as_nanos),
            held_until: i.held_until.map(EventTime::as_nanos),
        }),
    };
    serde_json::to_string(&stored).expect("a service state always serializes")
}

/// Decodes what [`encode_state`] wrote.
pub fn decode_state(text: &str) -> Result<ServiceState, StoreError> {
    let stored: StoredState = serde_json::from_str(text).map_err(|e| corrupt("service state", e))?;
    Ok(match stored.open {
        None => ServiceState::Healthy {
            incidents: stored.incidents,
        },
        Some(i) => ServiceState::Unhealthy(Incident {
            number: stored.incidents,
            message: i.message,
            raised_at: EventTime::from_nanos(i.raised_at),
            opened_at: EventTime::from_nanos(i.opened_at),
            level: i.level,
            repeats: i.repeats,
            acknowledged: i.acked_at.map(|at| Acknowledgement {
                by: i.acked_by,
                at: EventTime::from_nanos(at),
            }),
            timeout_at: i.timeout_at.map(EventTime::from_nanos),
            held_until: i.held_until.map(EventTime::from_nanos),
        }),
    })
}

fn stored_notification(n: &Notification) -> StoredNotification {
    StoredNotification {
        service: n.service_id.as_str().to_string(),
        incident: n.incident,
        level: n.level,
        repeat: n.repeat,
        target: target_parts(&n.target),
        message: n.message.clone(),
    }
}

fn notification(s: StoredNotification) -> Result<Notification, StoreError> {
    Ok(Notification {
        service_id: ServiceId::parse(s.service).map_err(|e| corrupt("notification service", e))?,
        incident: s.incident,
        level: s.level,
        repeat: s.repeat,
        target: target(&s.target.0, &s.target.1)?,
        message: s.message,
    })
}

/// Encodes one notification.
pub fn encode_notification(n: &Notification) -> String {
    serde_json::to_string(&stored_notification(n)).expect("a notification always serializes")
}

/// Decodes what [`encode_notification`] wrote.
pub fn decode_notification(text: &str) -> Result<Notification, StoreError> {
    notification(serde_json::from_str(text).map_err(|e| corrupt("notification", e))?)
}

/// Encodes an outbox.
pub fn encode_outbox(outbox: &[Notification]) -> String {
    let stored: Vec<StoredNotification> = outbox.iter().map(stored_notification).collect();
    serde_json::to_string(&stored).expect("an outbox always serializes")
}

/// Decodes what [`encode_outbox`] wrote.
pub fn decode_outbox(text: &str) -> Result<Vec<Notification>, StoreError> {
    let stored: Vec<StoredNotification> = serde_json::from_str(text).map_err(|e| corrupt("outbox", e))?;
    stored.into_iter().map(notification).collect()
}

/// Encodes a policy (the service is the record's key).
pub fn encode_policy(policy: &EscalationPolicy) -> String {
    let stored = StoredPolicy {
        levels: policy
            .levels()
            .iter()
            .map(|l| l.targets().iter().map(target_parts).collect())
            .collect(),
        last_level_timeout: policy.last_level_timeout().as_str().to_string(),
        timeouts_ms: if policy.levels().iter().any(|l| l.timeout().is_some()) {
            policy
                .levels()
                .iter()
                .map(|l| l.timeout().map(|t| t.as_millis() as u64))
                .collect()
        } else {
            Vec::new()
        },
    };
    serde_json::to_string(&stored).expect("a policy always serializes")
}

/// Decodes what [`encode_policy`] wrote for `service`.
pub fn decode_policy(service: &ServiceId, text: &str) -> Result<EscalationPolicy, StoreError> {
    let stored: StoredPolicy = serde_json::from_str(text).map_err(|e| corrupt("policy", e))?;
    let levels = stored
        .levels
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let targets = l
                .iter()
                .map(|(c, a)| {
                    Ok((
                        Channel::parse(c).ok_or_else(|| corrupt("target", format!("unknown channel {c:?}")))?,
                        a.clone(),
                    ))
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            let timeout = stored
                .timeouts_ms
                .get(i)
                .copied()
                .flatten()
                .map(std::time::Duration::from_millis);
            Ok(LevelSpec { targets, timeout })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let last = match stored.last_level_timeout.as_str() {
        "repeat" => LastLevelTimeout::Repeat,
        _ => LastLevelTimeout::Stop,
    };
    EscalationPolicy::parse(service.clone(), levels, last).map_err(|e| corrupt("policy", e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::pager::decide::{acknowledge, raise, Alert};
    use std::time::Duration;

    #[test]
    fn pager_states_outboxes_and_policies_round_trip() {
        let service = ServiceId::parse("db").unwrap();
        let policy = EscalationPolicy::new(
            service.clone(),
            vec![
                vec![
                    Target::email("a@example.com").unwrap(),
                    Target::sms("+33600000000").unwrap(),
                ],
                vec![Target::email("b@example.com").unwrap()],
            ],
            LastLevelTimeout::Repeat,
        )
        .unwrap();
        assert_eq!(decode_policy(&service, &encode_policy(&policy)).unwrap(), policy);
        let mut specs = policy.specs();
        specs[1].timeout = Some(Duration::from_secs(90));
        let timed = EscalationPolicy::parse(service.clone(), specs, LastLevelTimeout::Stop).unwrap();
        assert_eq!(decode_policy(&service, &encode_policy(&timed)).unwrap(), timed);
        let alert = Alert {
            service_id: service.clone(),
            message: "down".into(),
            raised_at: EventTime::from_nanos(1),
        };
        let opened = raise(
            &ServiceState::default(),
            Some(&policy),
            &alert,
            EventTime::from_nanos(5),
            Duration::from_secs(1),
            None,
        );
        let outbox: Vec<_> = opened.notifications().cloned().collect();
        assert_eq!(decode_outbox(&encode_outbox(&outbox)).unwrap(), outbox);
        let acked = acknowledge(&opened.state, Some("ann"), EventTime::from_nanos(9)).state;
        for state in [ServiceState::default(), opened.state, acked] {
            assert_eq!(decode_state(&encode_state(&state)).unwrap(), state);
        }
    }
}
