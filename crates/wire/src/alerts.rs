//! Alerts from the Prometheus stack into alarm status changes: the webhook payloads of
//! Alertmanager (version "4", `send_resolved: true`) and of Grafana Alerting's webhook
//! contact point (version "1"), and the one mapping both go through.
//!
//! The mapping decides identity, status and recipient, and nothing else:
//! - **Identity.** The alarm is the alert's label set without its severity label, hashed:
//!   stable across Alertmanager restarts and regroupings (labels do not change), and the
//!   `warning` and `critical` alerts two rules fire for one thing are one alarm, so an
//!   escalation changes the same alarm.
//! - **Status.** A firing alert is CRITICAL when its severity is one of the critical
//!   values, else WARNING, at its `startsAt`. A resolved alert is CLEARED at its `endsAt`,
//!   unless another alert of the same alarm in the same payload still fires then: the
//!   alarm is then that alert's status at the resolved one's `endsAt` (a thing is never
//!   shown CLEARED while one of its alerts fires; Alertmanager sends every alert of a
//!   group in each notification, so the alerts of one thing meet when the route does not
//!   group by severity). A re-sent alert maps to the same event: a duplicate.
//! - **Recipient.** The receiver URL's `user`, else the alert's user label; neither is an
//!   error naming both.

use crate::{optional, WireError};
use domain::{AlarmEvent, AlarmId, AlarmMetadata, EventTime, Status, UserId, Version};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;

/// The two payloads this module reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertSource {
    /// Alertmanager's webhook, version "4".
    Alertmanager,
    /// Grafana Alerting's webhook contact point, version "1".
    Grafana,
}

impl AlertSource {
    /// The payload version this source sends.
    fn version(self) -> &'static str {
        match self {
            AlertSource::Alertmanager => "4",
            AlertSource::Grafana => "1",
        }
    }

    /// The prefix of the alarm ids it makes, so two sources never share an alarm.
    fn prefix(self) -> &'static str {
        match self {
            AlertSource::Alertmanager => "am",
            AlertSource::Grafana => "grafana",
        }
    }
}

/// Which labels carry what, and which severities are critical.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertMapping {
    /// The label holding the severity (`severity`); left out of the identity.
    pub severity_label: String,
    /// Severity values that map to CRITICAL (`critical`, `page`, …); any other, or none,
    /// maps to WARNING.
    pub critical: Vec<String>,
    /// The label naming the recipient when the URL does not (`team`).
    pub user_label: String,
    /// The label naming the service (`service`).
    pub service_label: String,
}

impl Default for AlertMapping {
    fn default() -> Self {
        Self {
            severity_label: "severity".into(),
            critical: vec!["critical".into(), "page".into(), "error".into(), "emergency".into()],
            user_label: "team".into(),
            service_label: "service".into(),
        }
    }
}

/// One alert of a payload, as both sources send it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Alert {
    status: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    starts_at: String,
    #[serde(default)]
    ends_at: Option<String>,
}

/// The envelope of both payloads: what this module needs of it. Each alert is read on its
/// own, so one malformed alert is refused alone.
#[derive(Debug, Deserialize)]
struct Payload {
    version: String,
    alerts: Vec<serde_json::Value>,
}

/// Reads a webhook payload of `source`: a malformed envelope is an error of the whole
/// payload; each alert then maps to its event or to the reason it cannot, in order, so
/// one bad alert never drops the valid ones beside it.
pub fn map_alerts(
    source: AlertSource,
    body: &[u8],
    mapping: &AlertMapping,
    user: Option<&str>,
) -> Result<Vec<Result<AlarmEvent, WireError>>, WireError> {
    let payload: Payload = serde_json::from_slice(body).map_err(|e| WireError::NotJson(e.to_string()))?;
    if payload.version != source.version() {
        return Err(WireError::Field {
            field: "version",
            reason: format!("is {:?}, expected {:?}", payload.version, source.version()),
        });
    }
    let alerts: Vec<Result<Alert, WireError>> = payload
        .alerts
        .into_iter()
        .map(|value| {
            serde_json::from_value(value).map_err(|e| WireError::Field {
                field: "alert",
                reason: e.to_string(),
            })
        })
        .collect();
    let alarms: Vec<Option<String>> = alerts
        .iter()
        .map(|a| a.as_ref().ok().and_then(|a| identity(source, a, mapping)))
        .collect();
    Ok(alerts
        .iter()
        .enumerate()
        .map(|(i, alert)| {
            let alert = alert.as_ref().map_err(Clone::clone)?;
            let alarm = alarms[i].clone().ok_or_else(|| WireError::Field {
                field: "labels",
                reason: "the alert has no labels to tell it apart".into(),
            })?;
            let others: Vec<&Alert> = alerts
                .iter()
                .zip(&alarms)
                .enumerate()
                .filter(|(j, (_, other))| *j != i && other.as_deref() == Some(alarm.as_str()))
                .filter_map(|(_, (a, _))| a.as_ref().ok())
                .collect();
            event(alert, alarm, others.into_iter(), mapping, user)
        })
        .collect())
}

/// The alarm id of an alert: the source's prefix, the alert's name, and a hash of its
/// labels without the severity label (sorted, so their order does not matter).
fn identity(source: AlertSource, alert: &Alert, mapping: &AlertMapping) -> Option<String> {
    let labels: Vec<(&String, &String)> = alert
        .labels
        .iter()
        .filter(|(k, _)| **k != mapping.severity_label)
        .collect();
    if labels.is_empty() {
        return None;
    }
    let mut hash = Sha256::new();
    for (k, v) in &labels {
        hash.update(k.as_bytes());
        hash.update([0]);
        hash.update(v.as_bytes());
        hash.update([0]);
    }
    let digest: String = hash.finalize()[..8].iter().map(|b| format!("{b:02x}")).collect();
    let name: String = alert
        .labels
        .get("alertname")
        .map(|n| n.chars().take(100).collect())
        .unwrap_or_default();
    Some(format!("{}:{name}:{digest}", source.prefix()))
}

/// The status a firing alert gives its alarm.
fn firing_status(alert: &Alert, mapping: &AlertMapping) -> Status {
    let severity = alert.labels.get(&mapping.severity_label);
    if severity.is_some_and(|s| mapping.critical.iter().any(|c| c.eq_ignore_ascii_case(s))) {
        Status::Critical
    } else {
        Status::Warning
    }
}

/// When an alert is still firing at `t`: it fired at or before `t` and has not ended by then.
fn fires_at(alert: &Alert, t: EventTime) -> bool {
    let started = EventTime::parse_rfc3339(&alert.starts_at).is_ok_and(|s| s <= t);
    let ended = alert.status == "resolved"
        && alert
            .ends_at
            .as_deref()
            .and_then(|e| EventTime::parse_rfc3339(e).ok())
            .is_some_and(|e| e <= t);
    started && !ended
}

/// The event one alert makes, given the other alerts of its alarm in the payload.
fn event<'a>(
    alert: &Alert,
    alarm: String,
    others: impl Iterator<Item = &'a Alert>,
    mapping: &AlertMapping,
    user: Option<&str>,
) -> Result<AlarmEvent, WireError> {
    let time = |field: &'static str, text: Option<&str>| {
        let text = text.ok_or_else(|| WireError::Field {
            field,
            reason: "is missing".into(),
        })?;
        EventTime::parse_rfc3339(text).map_err(|e| WireError::Field {
            field,
            reason: e.to_string(),
        })
    };
    let version = match alert.status.as_str() {
        "firing" => Version {
            changed_at: time("startsAt", Some(&alert.starts_at))?,
            status: firing_status(alert, mapping),
        },
        "resolved" => {
            let changed_at = time("endsAt", alert.ends_at.as_deref())?;
            let still = others
                .filter(|o| fires_at(o, changed_at))
                .map(|o| firing_status(o, mapping))
                .max();
            Version {
                changed_at,
                status: still.unwrap_or(Status::Cleared),
            }
        }
        other => {
            return Err(WireError::Field {
                field: "status",
                reason: format!("is {other:?}, expected \"firing\" or \"resolved\""),
            })
        }
    };
    let user = user
        .map(str::to_string)
        .or_else(|| alert.labels.get(&mapping.user_label).cloned())
        .ok_or_else(|| WireError::Field {
            field: "user",
            reason: format!(
                "no recipient: neither the receiver URL's ?user= nor the alert's {:?} label names one",
                mapping.user_label
            ),
        })?;
    let label = |name: &str| alert.labels.get(name).map(|v| std::borrow::Cow::Borrowed(v.as_str()));
    let annotation = |name: &str| {
        alert
            .annotations
            .get(name)
            .map(|v| std::borrow::Cow::Borrowed(v.as_str()))
    };
    Ok(AlarmEvent {
        user_id: UserId::parse(user).map_err(|e| WireError::Field {
            field: "user",
            reason: e.to_string(),
        })?,
        alarm_id: AlarmId::parse(alarm).map_err(|e| WireError::Field {
            field: "labels",
            reason: e.to_string(),
        })?,
        version,
        metadata: AlarmMetadata {
            name: optional("alertname", label("alertname"))?,
            service: optional("service", label(&mapping.service_label))?,
            summary: optional("summary", annotation("summary"))?,
            ..Default::default()
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    const T0: &str = "2026-01-05T10:00:00Z";
    const T1: &str = "2026-01-05T10:05:00Z";
    const T2: &str = "2026-01-05T10:10:00Z";
    const NEVER: &str = "0001-01-01T00:00:00Z";

    fn alert(status: &str, severity: &str, starts: &str, ends: &str) -> Value {
        json!({
            "status": status,
            "labels": {"alertname": "DiskFull", "instance": "db-1", "severity": severity, "service": "billing"},
            "annotations": {"summary": "disk is 95% full"},
            "startsAt": starts,
            "endsAt": ends,
            "fingerprint": "ignored"
        })
    }

    fn payload(version: &str, alerts: Vec<Value>) -> Vec<u8> {
        json!({"version": version, "status": "firing", "receiver": "alarm-digest", "groupKey": "{}", "alerts": alerts})
            .to_string()
            .into_bytes()
    }

    fn mapped(alerts: Vec<Value>) -> Vec<AlarmEvent> {
        map_alerts(
            AlertSource::Alertmanager,
            &payload("4", alerts),
            &AlertMapping::default(),
            Some("team-storage"),
        )
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect()
    }

    fn at(t: &str) -> EventTime {
        EventTime::parse_rfc3339(t).unwrap()
    }

    #[test]
    fn a_firing_alert_is_its_severity_at_its_start_with_name_service_and_summary() {
        let events = mapped(vec![alert("firing", "warning", T0, NEVER)]);
        let e = &events[0];
        assert_eq!(e.user_id.as_str(), "team-storage");
        assert_eq!(
            e.version,
            Version {
                changed_at: at(T0),
                status: Status::Warning
            }
        );
        assert_eq!(e.metadata.name.as_deref(), Some("DiskFull"));
        assert_eq!(e.metadata.service.as_deref(), Some("billing"));
        assert_eq!(e.metadata.summary.as_deref(), Some("disk is 95% full"));
        assert!(e.alarm_id.as_str().starts_with("am:DiskFull:"), "{}", e.alarm_id);
    }

    #[test]
    fn the_warning_and_critical_alerts_of_one_thing_are_one_alarm_and_its_escalation_is_critical() {
        let events = mapped(vec![
            alert("firing", "warning", T0, NEVER),
            alert("firing", "critical", T1, NEVER),
        ]);
        assert_eq!(events[0].alarm_id, events[1].alarm_id);
        assert_eq!(
            events[1].version,
            Version {
                changed_at: at(T1),
                status: Status::Critical
            }
        );
    }

    #[test]
    fn a_resolved_critical_leaves_the_alarm_warning_while_its_warning_fires_and_cleared_after() {
        let events = mapped(vec![
            alert("resolved", "critical", T1, T2),
            alert("firing", "warning", T0, NEVER),
        ]);
        assert_eq!(
            events[0].version,
            Version {
                changed_at: at(T2),
                status: Status::Warning
            }
        );
        let both = mapped(vec![
            alert("resolved", "critical", T1, T2),
            alert("resolved", "warning", T0, T2),
        ]);
        assert!(both.iter().all(|e| e.version
            == Version {
                changed_at: at(T2),
                status: Status::Cleared
            }));
    }

    #[test]
    fn the_same_alert_sent_again_maps_to_the_same_event() {
        assert_eq!(
            mapped(vec![alert("firing", "warning", T0, NEVER)]),
            mapped(vec![alert("firing", "warning", T0, NEVER)])
        );
    }

    #[test]
    fn the_identity_leaves_out_the_severity_but_no_other_label() {
        let mut other = alert("firing", "warning", T0, NEVER);
        other["labels"]["instance"] = json!("db-2");
        let events = mapped(vec![alert("firing", "warning", T0, NEVER), other]);
        assert_ne!(events[0].alarm_id, events[1].alarm_id);
    }

    #[test]
    fn severities_map_by_the_configured_values_and_anything_else_is_warning() {
        let mapping = AlertMapping {
            critical: vec!["P1".into()],
            ..AlertMapping::default()
        };
        let events = map_alerts(
            AlertSource::Alertmanager,
            &payload(
                "4",
                vec![alert("firing", "p1", T0, NEVER), alert("firing", "critical", T1, NEVER)],
            ),
            &mapping,
            Some("u"),
        )
        .unwrap();
        assert_eq!(events[0].as_ref().unwrap().version.status, Status::Critical);
        assert_eq!(events[1].as_ref().unwrap().version.status, Status::Warning);
    }

    #[test]
    fn without_a_user_in_the_url_the_team_label_names_the_recipient_and_without_either_the_alert_is_refused() {
        let mut labelled = alert("firing", "warning", T0, NEVER);
        labelled["labels"]["team"] = json!("storage");
        let out = map_alerts(
            AlertSource::Alertmanager,
            &payload("4", vec![labelled, alert("firing", "warning", T0, NEVER)]),
            &AlertMapping::default(),
            None,
        )
        .unwrap();
        assert_eq!(out[0].as_ref().unwrap().user_id.as_str(), "storage");
        let refused = out[1].as_ref().unwrap_err().to_string();
        assert!(refused.contains("?user=") && refused.contains("\"team\""), "{refused}");
    }

    #[test]
    fn one_bad_alert_is_refused_beside_the_valid_ones() {
        let mut bad = alert("firing", "warning", "yesterday", NEVER);
        bad["labels"]["instance"] = json!("db-9");
        let out = map_alerts(
            AlertSource::Alertmanager,
            &payload("4", vec![bad, alert("firing", "warning", T0, NEVER)]),
            &AlertMapping::default(),
            Some("u"),
        )
        .unwrap();
        assert!(out[0].as_ref().unwrap_err().to_string().contains("startsAt"));
        assert!(out[1].is_ok());
    }

    #[test]
    fn a_malformed_alert_is_refused_alone_and_the_others_still_map() {
        let out = map_alerts(
            AlertSource::Alertmanager,
            &payload(
                "4",
                vec![
                    json!(42),
                    json!({"status": "firing"}),
                    alert("firing", "warning", T0, NEVER),
                ],
            ),
            &AlertMapping::default(),
            Some("u"),
        )
        .unwrap();
        assert!(out[0].as_ref().unwrap_err().to_string().contains("alert"));
        assert!(
            out[1].as_ref().unwrap_err().to_string().contains("startsAt"),
            "{:?}",
            out[1]
        );
        assert!(out[2].is_ok());
    }

    #[test]
    fn a_payload_of_another_version_or_not_json_is_refused_whole() {
        let wrong = map_alerts(
            AlertSource::Grafana,
            &payload("4", vec![]),
            &AlertMapping::default(),
            Some("u"),
        );
        assert!(wrong.unwrap_err().to_string().contains("version"));
        assert!(map_alerts(AlertSource::Alertmanager, b"{", &AlertMapping::default(), Some("u")).is_err());
    }

    #[test]
    fn grafana_alerts_map_the_same_way_under_their_own_prefix() {
        let out = map_alerts(
            AlertSource::Grafana,
            &payload("1", vec![alert("firing", "critical", T0, NEVER)]),
            &AlertMapping::default(),
            Some("u"),
        )
        .unwrap();
        let e = out[0].as_ref().unwrap();
        assert!(e.alarm_id.as_str().starts_with("grafana:DiskFull:"));
        assert_eq!(e.version.status, Status::Critical);
    }
}
