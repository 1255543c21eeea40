//! API test bodies for the Alertmanager and Grafana webhooks: the mapping seen through the
//! API, recorded Grafana payloads, per-alert outcomes, and the answers the senders act on
//! (4xx: give up; 5xx: retry). Each runs once per store.

use crate::failing_store::FailingCommits;
use crate::server::{answer, Api};
use alarm_digest::domain::ports::AlarmStore;
use alarm_digest::http::auth::Tokens;
use serde_json::{json, Value};
use std::sync::Arc;

const ALERTMANAGER: &str = "/v1/intake/alertmanager";
const GRAFANA: &str = "/v1/intake/grafana";
const TEAM: &str = "team-storage";
/// What Alertmanager and Grafana send as the end of an alert that still fires.
const NEVER: &str = "0001-01-01T00:00:00Z";
const T0: &str = "2026-01-05T10:00:00Z";
const T1: &str = "2026-01-05T10:05:00Z";
const T2: &str = "2026-01-05T10:10:00Z";
const T3: &str = "2026-01-05T10:15:00Z";

/// Grafana's documented webhook payload, as recorded: two alerts firing.
const GRAFANA_FIRING: &str = include_str!("fixtures/grafana_firing.json");
/// The first of them resolved.
const GRAFANA_RESOLVED: &str = include_str!("fixtures/grafana_resolved.json");

/// One alert of an Alertmanager notification, about the disk of db-1.
fn alert(status: &str, severity: &str, starts: &str, ends: &str) -> Value {
    json!({
        "status": status,
        "labels": {"alertname": "DiskFull", "instance": "db-1", "job": "node", "service": "billing", "severity": severity},
        "annotations": {"summary": "disk of db-1 is 95% full", "description": "only 5% left"},
        "startsAt": starts,
        "endsAt": ends,
        "generatorURL": "http://prometheus:9090/graph?g0.expr=disk_used_ratio+%3E+0.9",
        "fingerprint": "4b7a9c0e2f1d3a55",
    })
}

/// An Alertmanager webhook notification (version 4) of `alerts`.
fn notification(alerts: Vec<Value>) -> Value {
    let firing = alerts.iter().any(|a| a["status"] == "firing");
    json!({
        "version": "4",
        "groupKey": "{}:{alertname=\"DiskFull\", instance=\"db-1\"}",
        "truncatedAlerts": 0,
        "status": if firing { "firing" } else { "resolved" },
        "receiver": "alarm-digest",
        "groupLabels": {"alertname": "DiskFull", "instance": "db-1"},
        "commonLabels": {"alertname": "DiskFull", "instance": "db-1"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": alerts,
    })
}

/// POSTs `body` (raw) to `path` with `content_type` and, when given, `authorization`.
async fn post_raw(api: &Api, path: &str, body: &str, content_type: &str, authorization: Option<&str>) -> (u16, Value) {
    let mut request = api
        .client
        .post(format!("{}{path}", api.base))
        .header("content-type", content_type)
        .body(body.to_string());
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    answer(request.send().await.unwrap()).await
}

/// The alarms of `user`, in AlarmID order.
async fn alarms_of(api: &Api, user: &str) -> Vec<Value> {
    let (status, body) = api.get(&format!("/v1/users/{user}/alarms")).await;
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().unwrap().clone()
}

/// The `outcome` of each item of a webhook's answer.
fn outcomes(body: &Value) -> Vec<&str> {
    body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items: {body}"))
        .iter()
        .map(|i| i["outcome"].as_str().unwrap())
        .collect()
}

pub async fn alertmanager_alerts_fire_escalate_and_clear_one_alarm_and_a_resent_alert_is_a_duplicate(
    store: Arc<dyn AlarmStore>,
) {
    let api = Api::start(store, Tokens::default()).await;
    let hook = format!("{ALERTMANAGER}?user={TEAM}");

    let warning = notification(vec![alert("firing", "warning", T0, NEVER)]);
    let (status, body) = api.post(&hook, &warning).await;
    assert_eq!((status, outcomes(&body)), (202, vec!["applied"]), "{body}");
    let listed = alarms_of(&api, TEAM).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    let alarm = &listed[0];
    let id = alarm["AlarmID"].as_str().unwrap().to_string();
    assert!(id.starts_with("am:DiskFull:"), "{id}");
    assert_eq!(
        (&alarm["Status"], &alarm["ChangedAt"]),
        (&json!("WARNING"), &json!("2026-01-05T10:00:00Z"))
    );
    assert_eq!(
        (&alarm["Name"], &alarm["Service"], &alarm["Summary"]),
        (
            &json!("DiskFull"),
            &json!("billing"),
            &json!("disk of db-1 is 95% full")
        )
    );
    assert!(alarm.get("ServiceName").is_none(), "no service name to show: {alarm}");

    let (status, body) = api.post(&hook, &warning).await;
    assert_eq!(
        (status, outcomes(&body)),
        (202, vec!["duplicate"]),
        "repeat_interval re-sends: {body}"
    );

    let escalated = notification(vec![
        alert("firing", "warning", T0, NEVER),
        alert("firing", "critical", T1, NEVER),
    ]);
    let (status, body) = api.post(&hook, &escalated).await;
    assert_eq!((status, outcomes(&body)), (202, vec!["duplicate", "applied"]), "{body}");
    let alarm = &alarms_of(&api, TEAM).await[0];
    assert_eq!((&alarm["AlarmID"], &alarm["Status"]), (&json!(id), &json!("CRITICAL")));

    let critical_resolved = notification(vec![
        alert("resolved", "critical", T1, T2),
        alert("firing", "warning", T0, NEVER),
    ]);
    let (status, body) = api.post(&hook, &critical_resolved).await;
    assert_eq!(status, 202, "{body}");
    let alarm = &alarms_of(&api, TEAM).await[0];
    assert_eq!(
        (&alarm["Status"], &alarm["ChangedAt"]),
        (&json!("WARNING"), &json!(T2)),
        "never CLEARED while its warning fires"
    );

    let all_resolved = notification(vec![
        alert("resolved", "critical", T1, T2),
        alert("resolved", "warning", T0, T3),
    ]);
    let (status, body) = api.post(&hook, &all_resolved).await;
    assert_eq!(status, 202, "{body}");
    let listed = alarms_of(&api, TEAM).await;
    assert_eq!(listed.len(), 1, "one alarm for the thing: {listed:?}");
    assert_eq!(
        (&listed[0]["Status"], &listed[0]["ChangedAt"]),
        (&json!("CLEARED"), &json!(T3))
    );
}

pub async fn grafana_recorded_payloads_fire_and_resolve_alarms_of_the_team_their_label_names(
    store: Arc<dyn AlarmStore>,
) {
    let api = Api::start(store, Tokens::default()).await;
    let (status, body) = post_raw(&api, GRAFANA, GRAFANA_FIRING, "application/json", None).await;
    assert_eq!((status, outcomes(&body)), (202, vec!["applied", "applied"]), "{body}");
    let listed = alarms_of(&api, "blue").await;
    let by_name = |name: &str| {
        listed
            .iter()
            .find(|a| a["Name"] == name)
            .unwrap_or_else(|| panic!("no alarm {name}: {listed:?}"))
            .clone()
    };
    let memory = by_name("High memory usage");
    assert!(memory["AlarmID"]
        .as_str()
        .unwrap()
        .starts_with("grafana:High memory usage:"));
    assert_eq!(
        (&memory["Status"], &memory["ChangedAt"]),
        (&json!("WARNING"), &json!("2021-10-12T07:51:03.157076Z")),
        "firing from startsAt, whatever the 0001 endsAt"
    );
    assert_eq!(
        (&memory["Service"], &memory["Summary"]),
        (&json!("checkout"), &json!("This alert was triggered for zone us-1"))
    );
    assert_eq!(by_name("High CPU usage")["Status"], "CRITICAL");

    let (status, body) = post_raw(&api, GRAFANA, GRAFANA_RESOLVED, "application/json", None).await;
    assert_eq!((status, outcomes(&body)), (202, vec!["applied"]), "{body}");
    let (_, memory) = api
        .get(&format!(
            "/v1/users/blue/alarms/{}",
            memory["AlarmID"].as_str().unwrap().replace(' ', "%20")
        ))
        .await;
    assert_eq!(
        (&memory["Status"], &memory["ChangedAt"]),
        (&json!("CLEARED"), &json!("2021-10-12T08:06:03.157076Z"))
    );

    let (status, problem) = post_raw(&api, ALERTMANAGER, GRAFANA_FIRING, "application/json", None).await;
    assert_eq!(status, 422, "a Grafana payload is not Alertmanager's: {problem}");
    assert!(problem["detail"].as_str().unwrap().contains("version"), "{problem}");
}

pub async fn one_bad_alert_in_a_webhook_is_rejected_beside_the_valid_ones_it_came_with(store: Arc<dyn AlarmStore>) {
    let api = Api::start(store, Tokens::default()).await;
    let mut unlabelled = alert("firing", "warning", T0, NEVER);
    unlabelled["labels"] = json!({"severity": "critical"});
    let mut pending = alert("pending", "warning", T0, NEVER);
    pending["labels"]["instance"] = json!("db-2");
    let mut undated = alert("firing", "warning", "yesterday", NEVER);
    undated["labels"]["instance"] = json!("db-3");
    let payload = notification(vec![
        json!(42),
        alert("firing", "warning", T0, NEVER),
        unlabelled,
        pending,
        undated,
    ]);
    let (status, body) = api.post(&format!("{ALERTMANAGER}?user={TEAM}"), &payload).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(
        outcomes(&body),
        ["rejected", "applied", "rejected", "rejected", "rejected"]
    );
    assert_eq!((&body["applied"], &body["rejected"]), (&json!(1), &json!(4)));
    let reasons: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["reason"].as_str())
        .collect();
    for (reason, names) in reasons.iter().zip(["alert", "labels", "status", "startsAt"]) {
        assert!(reason.contains(names), "{reason:?} should name {names}");
    }
    assert_eq!(alarms_of(&api, TEAM).await.len(), 1);
}

pub async fn a_webhook_without_a_recipient_is_a_422_naming_the_url_parameter_and_the_label(store: Arc<dyn AlarmStore>) {
    let api = Api::start(store, Tokens::default()).await;
    let payload = notification(vec![alert("firing", "warning", T0, NEVER)]);
    for path in [ALERTMANAGER, GRAFANA] {
        let mut payload = payload.clone();
        if path == GRAFANA {
            payload["version"] = json!("1");
        }
        let (status, problem) = api.post(path, &payload).await;
        assert_eq!(status, 422, "{path}: {problem}");
        let detail = problem["detail"].as_str().unwrap();
        assert!(
            detail.contains("?user=") && detail.contains("\"team\""),
            "{path}: {detail}"
        );
    }
    let (_, counts) = api.get("/v1/counts").await;
    assert_eq!(counts["Alarms"], 0, "nothing taken: {counts}");

    let mut labelled = alert("firing", "warning", T0, NEVER);
    labelled["labels"]["team"] = json!("storage");
    labelled["labels"]["instance"] = json!("db-2");
    let (status, body) = api
        .post(
            ALERTMANAGER,
            &notification(vec![labelled, alert("firing", "warning", T0, NEVER)]),
        )
        .await;
    assert_eq!((status, outcomes(&body)), (202, vec!["applied", "rejected"]), "{body}");
    assert_eq!(alarms_of(&api, "storage").await.len(), 1);
}

pub async fn malformed_webhook_payloads_are_400_or_422_problems(store: Arc<dyn AlarmStore>) {
    let api = Api::start(store, Tokens::default()).await;
    let good = notification(vec![alert("firing", "warning", T0, NEVER)]).to_string();
    let user = format!("{ALERTMANAGER}?user={TEAM}");
    let cases: [(&str, &str, &str, u16); 9] = [
        (&user, "{\"version\":", "application/json", 400),
        (&user, "\u{1}", "application/json", 400),
        (&user, "[]", "application/json", 422),
        (&user, r#"{"version":"4"}"#, "application/json", 422),
        (&user, r#"{"version":"5","alerts":[]}"#, "application/json", 422),
        (&user, r#"{"version":"4","alerts":{}}"#, "application/json", 422),
        (&user, &good, "text/plain", 415),
        (&format!("{ALERTMANAGER}?user="), &good, "application/json", 400),
        (&format!("{ALERTMANAGER}?team={TEAM}"), &good, "application/json", 400),
    ];
    for (path, body, media, expected) in cases {
        let (status, problem) = post_raw(&api, path, body, media, None).await;
        assert_eq!(status, expected, "POST {path} {body}: {problem}");
        assert!(
            problem["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "POST {path} {body}: {problem}"
        );
    }
    let (_, counts) = api.get("/v1/counts").await;
    assert_eq!(counts["Alarms"], 0, "{counts}");
}

pub async fn webhooks_need_the_write_token_sent_as_alertmanager_sends_it(store: Arc<dyn AlarmStore>) {
    let tokens = Tokens {
        write: Some("am-secret".into()),
        read: Some("reader".into()),
    };
    let api = Api::start(store, tokens).await;
    let mut grafana = notification(vec![alert("firing", "warning", T0, NEVER)]);
    grafana["version"] = json!("1");
    let payloads = [
        (ALERTMANAGER, notification(vec![alert("firing", "warning", T0, NEVER)])),
        (GRAFANA, grafana),
    ];
    for (path, payload) in payloads {
        let path = format!("{path}?user={TEAM}");
        let body = payload.to_string();
        for refused in [None, Some("Bearer wrong"), Some("Bearer reader"), Some("am-secret")] {
            let (status, _) = post_raw(&api, &path, &body, "application/json", refused).await;
            assert_eq!(status, 401, "{path} with {refused:?}");
        }
        let (status, body) = post_raw(&api, &path, &body, "application/json", Some("Bearer am-secret")).await;
        assert_eq!(status, 202, "{path}: {body}");
    }
}

pub async fn a_store_that_cannot_commit_is_a_503_so_the_sender_retries_and_the_retry_is_taken(
    store: Arc<dyn AlarmStore>,
) {
    let failing = FailingCommits::wrap(store);
    let api = Api::start(failing.clone(), Tokens::default()).await;
    let hook = format!("{ALERTMANAGER}?user={TEAM}");
    let payload = notification(vec![alert("firing", "critical", T0, NEVER)]);
    failing.set_down(true);
    let (status, problem) = api.post(&hook, &payload).await;
    assert_eq!(status, 503, "{problem}");
    assert_eq!(problem["status"], 503);
    failing.set_down(false);
    let (status, body) = api.post(&hook, &payload).await;
    assert_eq!((status, outcomes(&body)), (202, vec!["applied"]), "{body}");
    assert_eq!(alarms_of(&api, TEAM).await[0]["Status"], "CRITICAL");
}
