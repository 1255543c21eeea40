//! Scenario 8: core NATS mode, a queue group of two replicas; each message is processed by
//! one of them, and request/reply producers get their reply after the commit.

use super::{Stage, PATIENCE};
use crate::harness::{DigestLog, Replica, StoreKind, TestEvent};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn core_queue_group_processes_each_message_once_and_replies_after_commit() {
    let stage = Stage::new(StoreKind::Mongo).await;
    let env = stage.env.with("INTAKE", "core");
    let replicas = [Replica::start(&env).await, Replica::start(&env).await];
    let digests = DigestLog::from_core(&stage.bus).await;
    let client = &stage.bus.client;

    const N: usize = 400;
    for i in 0..N {
        let ev = TestEvent::new(&format!("u{}", i % 40), &format!("a{i}"), "WARNING", 1_000 + i as i64);
        let reply = client
            .request("AlarmStatusChanged", ev.to_json().into())
            .await
            .expect("a reply after commit");
        let reply: serde_json::Value = serde_json::from_slice(&reply.payload).unwrap();
        assert_eq!(reply["ok"], true, "{reply}");
    }
    let mut per_replica = Vec::new();
    for r in &replicas {
        per_replica.push(
            r.metric(r#"alarm_digest_messages_total{subject="AlarmStatusChanged",outcome="applied"}"#)
                .await as usize,
        );
    }
    assert_eq!(
        per_replica.iter().sum::<usize>(),
        N,
        "each message processed exactly once: {per_replica:?}"
    );
    assert!(
        per_replica.iter().all(|&n| n > 0),
        "the queue group spreads work: {per_replica:?}"
    );

    // Replies came after commit: a digest asked for right after holds every alarm.
    let reply = client
        .request("SendAlarmDigest", r#"{"UserID":"u7"}"#.into())
        .await
        .unwrap();
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&reply.payload).unwrap()["ok"],
        true
    );
    let got = digests.wait_for_user("u7", 1, PATIENCE).await;
    assert_eq!(got[0].alarms.len(), N / 40);

    let bad = client.request("AlarmStatusChanged", "{}".into()).await.unwrap();
    let bad: serde_json::Value = serde_json::from_slice(&bad.payload).unwrap();
    assert_eq!(bad["ok"], false);
    assert!(bad["error"].as_str().unwrap().contains("UserID"), "{bad}");
}
