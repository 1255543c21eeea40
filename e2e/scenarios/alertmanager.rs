//! The Prometheus stack in: a real Alertmanager (0.25, Debian's) routes to the service's
//! Alertmanager intake with a bearer token, and alerts posted to Alertmanager's own API
//! become one alarm that fires, escalates and clears; a real Prometheus evaluating a real
//! rule fires into that Alertmanager, from a PromQL expression to an AlarmDigest on NATS.

use super::{Stage, PATIENCE};
use crate::harness::prometheus_stack::{Alertmanager, Prometheus};
use crate::harness::{DigestLog, Replica, StoreKind};
use serde_json::{json, Value};
use testkit::eventually;

const TOKEN: &str = "am-write-token";
const USER: &str = "team-storage";

/// The alarms of `USER` the API lists now.
async fn alarms(replica: &Replica) -> Vec<Value> {
    let body: Value = reqwest::Client::new()
        .get(format!(
            "http://127.0.0.1:{}/v1/users/{USER}/alarms?limit=100",
            replica.http_port
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["items"].as_array().cloned().unwrap_or_default()
}

/// Waits until the alarm named `name` shows `status`; the alarm. Alertmanager's delivery
/// has no event the test can await: the API is asked until it shows it.
async fn alarm_turns(replica: &Replica, name: &str, status: &str) -> Value {
    eventually(format!("{name} to turn {status}"), PATIENCE, || async {
        let listed = alarms(replica).await;
        listed
            .iter()
            .find(|a| a["Name"] == name && a["Status"] == status)
            .cloned()
            .ok_or_else(|| format!("the API lists {listed:?}"))
    })
    .await
}

/// One alert as Prometheus posts it to Alertmanager: resolved when it has ended.
fn alert(severity: &str, starts: chrono::DateTime<chrono::Utc>, ended: Option<chrono::DateTime<chrono::Utc>>) -> Value {
    let mut alert = json!({
        "labels": {"alertname": "DiskFull", "instance": "db-1", "service": "billing", "severity": severity},
        "annotations": {"summary": "disk of db-1 is 95% full"},
        "startsAt": starts.to_rfc3339(),
    });
    if let Some(ended) = ended {
        alert["endsAt"] = json!(ended.to_rfc3339());
    }
    alert
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_through_a_real_alertmanager_fire_escalate_and_clear_one_alarm_and_reach_a_digest() {
    let stage = Stage::new(StoreKind::Sqlite).await;
    let env = stage.env.with("API_TOKEN", TOKEN);
    let replica = Replica::start(&env).await;
    let digests = DigestLog::from_stream(&stage.bus).await;
    let hook = format!(
        "http://127.0.0.1:{}/v1/intake/alertmanager?user={USER}",
        replica.http_port
    );
    let alertmanager = Alertmanager::start(&hook, Some(TOKEN));

    let fired = chrono::Utc::now() - chrono::Duration::seconds(30);
    alertmanager.post_alerts(json!([alert("warning", fired, None)])).await;
    let warning = alarm_turns(&replica, "DiskFull", "WARNING").await;
    assert_eq!(warning["Service"], "billing");
    assert_eq!(warning["Summary"], "disk of db-1 is 95% full");
    stage.bus.request_digest(USER).await;
    let digest = digests.wait_for_user(USER, 1, PATIENCE).await;
    assert_eq!(digest[0].alarms[0].status, "WARNING", "{digest:?}");
    assert_eq!(digest[0].alarms[0].alarm, warning["AlarmID"].as_str().unwrap());

    let escalated = fired + chrono::Duration::seconds(10);
    alertmanager
        .post_alerts(json!([
            alert("warning", fired, None),
            alert("critical", escalated, None)
        ]))
        .await;
    let critical = alarm_turns(&replica, "DiskFull", "CRITICAL").await;
    assert_eq!(
        critical["AlarmID"], warning["AlarmID"],
        "the escalation changes the same alarm"
    );

    let ended = chrono::Utc::now() - chrono::Duration::seconds(1);
    alertmanager
        .post_alerts(json!([
            alert("warning", fired, Some(ended)),
            alert("critical", escalated, Some(ended))
        ]))
        .await;
    let cleared = alarm_turns(&replica, "DiskFull", "CLEARED").await;
    assert_eq!(cleared["AlarmID"], warning["AlarmID"]);
    assert_eq!(
        alarms(&replica).await.len(),
        1,
        "one alarm for the thing, whatever its alerts did"
    );

    // A real rule: Prometheus evaluates it every second and fires into Alertmanager.
    let rules = "groups:\n- name: stack\n  rules:\n  - alert: QueueTooLong\n    expr: vector(42) > 10\n    \
                 labels:\n      severity: critical\n      service: ingest\n    annotations:\n      \
                 summary: the queue holds {{ $value }} messages\n";
    let _prometheus = Prometheus::start(rules, alertmanager.port);
    let fired = alarm_turns(&replica, "QueueTooLong", "CRITICAL").await;
    assert_eq!(fired["Summary"], "the queue holds 42 messages");
    stage.bus.request_digest(USER).await;
    let digests_now = digests.wait_for_user(USER, 2, PATIENCE).await;
    let last = digests_now.last().unwrap();
    assert!(
        last.alarms
            .iter()
            .any(|a| a.alarm == fired["AlarmID"].as_str().unwrap() && a.status == "CRITICAL"),
        "the PromQL rule's alert reached a digest on NATS: {last:?}"
    );
}
