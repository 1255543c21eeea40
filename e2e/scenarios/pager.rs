//! The pager end to end: escalation on real short timeouts, acknowledgement and healthy
//! stopping it, racing alerts on two replicas, and a replica killed holding a due timeout.

use super::{Stage, PATIENCE};
use crate::harness::{levels_and_targets, NotificationLog, Replica, StoreKind, TestBus, TestEvent};
use futures::StreamExt;
use serde_json::{json, Value};

fn policy(levels: usize) -> Value {
    let all = [
        json!({"targets": [{"type": "email", "address": "a@example.com"}, {"type": "sms", "phone": "+33600000000"}]}),
        json!({"targets": [{"type": "email", "address": "b@example.com"}]}),
        json!({"targets": [{"type": "sms", "phone": "+15550000000"}]}),
    ];
    json!({ "levels": all[..levels] })
}

fn level_one() -> Vec<(u64, String)> {
    vec![(1, "email:a@example.com".into()), (1, "sms:+33600000000".into())]
}

fn through_level_two() -> Vec<(u64, String)> {
    let mut pairs = level_one();
    pairs.push((2, "email:b@example.com".into()));
    pairs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pager_escalates_level_by_level_on_a_short_ack_timeout_then_stops() {
    let stage = Stage::new(StoreKind::Sqlite).await;
    let env = stage.env.with("ACK_TIMEOUT", "1s").with("PAGER_TICK", "100ms");
    let replica = Replica::start(&env).await;
    let log = NotificationLog::from_stream(&stage.bus).await;
    replica.put_policy("payments", &policy(2)).await;
    stage.bus.alert("payments").await;

    // Level 1 is published before its timeout can fire, so it comes first in the stream.
    let first = log.wait_for("payments", 2, PATIENCE).await;
    let first = &first[..2];
    assert_eq!(levels_and_targets(first), level_one());
    let mut subjects: Vec<_> = first.iter().map(|n| n.subject.as_str()).collect();
    subjects.sort();
    assert_eq!(subjects, ["Notification.email", "Notification.sms"]);
    let all = log.wait_for("payments", 3, PATIENCE).await;
    assert_eq!(levels_and_targets(&all), through_level_two());
    replica
        .wait_for_service("payments", PATIENCE, "the last level's timeout to stop", |s| {
            s["Incident"]["Level"] == 2 && s["Incident"]["TimeoutAt"].is_null()
        })
        .await;
    assert_eq!(log.of("payments").len(), 3, "stop: nobody more is notified");
    assert_eq!(replica.metric("alarm_digest_escalations_total").await, 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pager_acknowledgement_and_healthy_over_nats_each_stop_the_escalation() {
    let stage = Stage::new(StoreKind::Sqlite).await;
    let env = stage.env.with("ACK_TIMEOUT", "3s").with("PAGER_TICK", "100ms");
    let replica = Replica::start(&env).await;
    let log = NotificationLog::from_stream(&stage.bus).await;
    for service in ["acked", "healed", "marker"] {
        replica.put_policy(service, &policy(2)).await;
    }
    // Each answer follows its alert on the stream; one replica takes a service's messages
    // in order, so the answer lands right after the alert, well within the timeout.
    stage.bus.alert("acked").await;
    stage.bus.alert("healed").await;
    let ack = json!({"ServiceID": "acked", "AcknowledgedBy": "ann"});
    stage.bus.publish_json("PagerAcknowledge", ack).await;
    stage
        .bus
        .publish_json("ServiceHealthy", json!({"ServiceID": "healed"}))
        .await;
    replica
        .wait_for_service("acked", PATIENCE, "the acknowledgement", |s| {
            s["Incident"]["AcknowledgedBy"] == "ann"
        })
        .await;
    replica
        .wait_for_service("healed", PATIENCE, "health", |s| s["Healthy"] == true)
        .await;

    log.wait_for("acked", 2, PATIENCE).await;
    log.wait_for("healed", 2, PATIENCE).await;

    // A later incident escalating proves the timer loop ran past both earlier deadlines.
    stage.bus.alert("marker").await;
    log.wait_for("marker", 3, PATIENCE).await;
    assert_eq!(levels_and_targets(&log.of("acked")), level_one());
    assert_eq!(levels_and_targets(&log.of("healed")), level_one());
    assert_eq!(replica.metric("alarm_digest_acknowledgements_total").await, 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pager_pages_the_service_of_an_alarm_turning_critical_when_page_on_critical_is_set() {
    let stage = Stage::new(StoreKind::Sqlite).await;
    let env = stage.env.with("PAGE_ON_CRITICAL", "true");
    let replica = Replica::start(&env).await;
    let log = NotificationLog::from_stream(&stage.bus).await;
    replica.put_policy("storage", &policy(2)).await;
    let event = TestEvent::new("u1", "disk-full", "CRITICAL", 1_700_000_000_000_000_000).to_json();
    let mut critical: Value = serde_json::from_str(&event).unwrap();
    critical["Service"] = json!("storage");
    stage.bus.publish_json("AlarmStatusChanged", critical).await;
    let paged = log.wait_for("storage", 2, PATIENCE).await;
    assert_eq!(levels_and_targets(&paged), level_one());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pager_racing_alerts_on_two_replicas_notify_each_level_one_target_once() {
    const SERVICES: usize = 6;
    const ALERTS_PER_SERVICE: usize = 4;
    let stage = Stage::new(StoreKind::Mongo).await;
    // One message per pull, so the shared consumer hands the alerts to both replicas.
    let env = stage.env.with("LANE_CAPACITY", "1");
    let replicas = [Replica::start(&env).await, Replica::start(&env).await];
    let log = NotificationLog::from_stream(&stage.bus).await;
    let services: Vec<String> = (0..SERVICES).map(|i| format!("svc-{i}")).collect();
    for service in &services {
        replicas[0].put_policy(service, &policy(2)).await;
    }
    let mut acks = Vec::new();
    for _ in 0..ALERTS_PER_SERVICE {
        for service in &services {
            let body = json!({"ServiceID": service, "Message": "down", "RaisedAt": "2024-01-01T00:00:00Z"});
            acks.push(
                stage
                    .bus
                    .js
                    .publish("PagerAlert", body.to_string().into())
                    .await
                    .unwrap(),
            );
        }
    }
    for ack in acks {
        ack.await.unwrap();
    }
    stage.bus.wait_drained(PATIENCE).await;
    for service in &services {
        let got = log.wait_for(service, 2, PATIENCE).await;
        assert_eq!(levels_and_targets(&got), level_one(), "{service}");
    }
    let mut stream = stage.bus.js.get_stream("PAGER_NOTIFICATIONS").await.unwrap();
    let stored = stream.info().await.unwrap().state.messages;
    assert_eq!(stored as usize, 2 * SERVICES, "no notification stored twice");
    let mut recorded = 0.0;
    for replica in &replicas {
        for channel in ["email", "sms"] {
            recorded += replica
                .metric(&format!("alarm_digest_pages_sent_total{{channel=\"{channel}\"}}"))
                .await;
        }
    }
    assert_eq!(recorded as usize, 2 * SERVICES, "each key recorded as sent once");
    let mut handled = Vec::new();
    for replica in &replicas {
        let mut alerts = 0.0;
        for outcome in ["opened", "already_open"] {
            let sample = format!("alarm_digest_messages_total{{subject=\"PagerAlert\",outcome=\"{outcome}\"}}");
            alerts += replica.metric(&sample).await;
        }
        handled.push(alerts as usize);
    }
    assert_eq!(handled.iter().sum::<usize>(), SERVICES * ALERTS_PER_SERVICE);
    assert!(handled.iter().all(|&n| n > 0), "both replicas took alerts: {handled:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pager_racing_alerts_on_a_core_queue_group_publish_each_level_one_notification_once() {
    const SERVICES: usize = 6;
    const ALERTS_PER_SERVICE: usize = 4;
    let stage = Stage::new(StoreKind::Mongo).await;
    let env = stage.env.with("INTAKE", "core");
    let replicas = [Replica::start(&env).await, Replica::start(&env).await];
    let client = &stage.bus.client;
    // Core NATS has no duplicate window: every publish a replica makes is seen here.
    let mut notifications = client.subscribe("Notification.>").await.unwrap();
    client.flush().await.unwrap();
    let services: Vec<String> = (0..SERVICES).map(|i| format!("svc-{i}")).collect();
    for service in &services {
        replicas[0].put_policy(service, &policy(2)).await;
    }
    let alerts = (0..ALERTS_PER_SERVICE).flat_map(|_| &services).map(|service| {
        let body = json!({"ServiceID": service, "Message": "down", "RaisedAt": "2024-01-01T00:00:00Z"});
        client.request("PagerAlert", body.to_string().into())
    });
    for reply in futures::future::join_all(alerts).await {
        let reply: Value = serde_json::from_slice(&reply.expect("a reply after commit").payload).unwrap();
        assert_eq!(reply["ok"], true, "{reply}");
    }
    let mut keys = Vec::new();
    while keys.len() < 2 * SERVICES {
        let msg = tokio::time::timeout(PATIENCE, notifications.next())
            .await
            .expect("one notification per level-1 target")
            .unwrap();
        let body: Value = serde_json::from_slice(&msg.payload).unwrap();
        keys.push(body["IdempotencyKey"].as_str().unwrap().to_string());
    }
    // A replica publishes (and flushes) a page before it replies, and the connection hands
    // messages over in order: anything sent twice is already buffered here.
    while let Some(Some(msg)) = futures::FutureExt::now_or_never(notifications.next()) {
        let body: Value = serde_json::from_slice(&msg.payload).unwrap();
        keys.push(body["IdempotencyKey"].as_str().unwrap().to_string());
    }
    let mut distinct = keys.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), keys.len(), "a key published twice: {keys:?}");
    assert_eq!(keys.len(), 2 * SERVICES);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pager_replica_killed_holding_a_due_timeout_leaves_it_to_the_next_to_fire_once() {
    let mut stage = Stage::new(StoreKind::Mongo).await;
    let env = stage
        .env
        .with("ACK_TIMEOUT", "8s")
        .with("PAGER_CLAIM_TTL", "3s")
        .with("PAGER_TICK", "100ms");
    let mut first = Replica::start(&env).await;
    let log = NotificationLog::from_stream(&stage.bus).await;
    first.put_policy("payments", &policy(2)).await;
    stage.bus.alert("payments").await;
    log.wait_for("payments", 2, PATIENCE).await;
    first
        .wait_for_service("payments", PATIENCE, "level 1 recorded as sent", |s| {
            s["PendingNotifications"] == 0
        })
        .await;

    // With the broker gone, the replica claims the due timeout, decides level 2 and stores
    // it with its notification, but cannot publish: it dies holding the claim.
    stage.nats.stop();
    first
        .wait_for_service("payments", PATIENCE, "level 2 decided and not sent", |s| {
            s["Incident"]["Level"] == 2 && s["PendingNotifications"] == 1
        })
        .await;
    first.kill9();
    stage.nats.restart();

    let second = Replica::start(&env).await;
    let bus = TestBus::connect(&stage.nats.url()).await;
    let log = NotificationLog::from_stream(&bus).await;
    let all = log.wait_for("payments", 3, PATIENCE).await;
    assert_eq!(levels_and_targets(&all), through_level_two());
    second
        .wait_for_service("payments", PATIENCE, "the outbox sent and the escalation over", |s| {
            s["PendingNotifications"] == 0 && s["Incident"]["TimeoutAt"].is_null()
        })
        .await;
    assert_eq!(log.of("payments").len(), 3, "level 2 notified exactly once");
    let sent = second.metric("alarm_digest_pages_sent_total{channel=\"email\"}").await;
    assert_eq!(sent, 1.0, "the second replica recorded level 2 once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pager_in_core_mode_answers_alerts_after_commit_and_publishes_keyed_notifications() {
    let stage = Stage::new(StoreKind::Sqlite).await;
    let env = stage.env.with("INTAKE", "core");
    let replica = Replica::start(&env).await;
    replica.put_policy("payments", &policy(1)).await;
    let client = &stage.bus.client;
    let mut emails = client.subscribe("Notification.email").await.unwrap();
    client.flush().await.unwrap();
    let alert = json!({"ServiceID": "payments", "Message": "down", "RaisedAt": "2024-01-01T00:00:00Z"});
    let reply = client
        .request("PagerAlert", alert.to_string().into())
        .await
        .expect("a reply after commit");
    let reply: Value = serde_json::from_slice(&reply.payload).unwrap();
    assert_eq!(
        (&reply["ok"], &reply["outcome"]),
        (&json!(true), &json!("opened")),
        "{reply}"
    );
    let email = tokio::time::timeout(PATIENCE, emails.next())
        .await
        .expect("the level-1 e-mail")
        .unwrap();
    let key = "payments/1/1/email:a@example.com";
    let body: Value = serde_json::from_slice(&email.payload).unwrap();
    assert_eq!(body["IdempotencyKey"], key);
    let header = email
        .headers
        .as_ref()
        .and_then(|h| h.get("Nats-Msg-Id"))
        .map(|v| v.as_str().to_string());
    assert_eq!(header.as_deref(), Some(key));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pager_garbage_is_dead_lettered_with_its_reason_and_valid_alerts_still_page() {
    let stage = Stage::new(StoreKind::Sqlite).await;
    let replica = Replica::start(&stage.env).await;
    let log = NotificationLog::from_stream(&stage.bus).await;
    replica.put_policy("payments", &policy(1)).await;
    let garbage: [(&str, &[u8], &str); 6] = [
        ("PagerAlert", b"not json", "not valid JSON"),
        (
            "PagerAlert",
            br#"{"ServiceID":"payments","RaisedAt":"2024-01-01T00:00:00Z"}"#,
            "field Message: is missing",
        ),
        (
            "PagerAlert",
            br#"{"ServiceID":"payments","Message":"x","RaisedAt":"soon"}"#,
            "field RaisedAt",
        ),
        (
            "PagerAcknowledge",
            br#"{"ServiceID":7}"#,
            "field ServiceID: must be a string",
        ),
        (
            "PagerAcknowledge",
            br#"{"ServiceID":"payments","AcknowledgedBy":[]}"#,
            "field AcknowledgedBy",
        ),
        ("ServiceHealthy", b"[]", "not a JSON object"),
    ];
    for (subject, body, _) in &garbage {
        stage.bus.publish_raw(subject, body.to_vec()).await;
    }
    stage.bus.alert("payments").await;
    log.wait_for("payments", 2, PATIENCE).await;

    let reasons = stage.bus.dead_letters(garbage.len(), PATIENCE).await;
    for (subject, _, needle) in &garbage {
        assert!(
            reasons
                .iter()
                .any(|(origin, reason)| origin == subject && reason.contains(needle)),
            "no dead letter of {subject} says {needle:?}: {reasons:#?}"
        );
    }
    let invalid = replica
        .metric(r#"alarm_digest_messages_total{subject="PagerAlert",outcome="invalid"}"#)
        .await;
    assert_eq!(invalid, 3.0);
}
