//! `AlarmAcknowledged` over NATS: recorded once, even when it overtakes its alarm's first
//! event; one for an alarm that never appears is dead-lettered after a few deliveries.

use super::{Stage, PATIENCE};
use crate::harness::{Replica, StoreKind, TestEvent};

const ACKED_AT: &str = "2026-03-01T10:00:00.000000007Z";

fn acknowledgement(alarm: &str) -> Vec<u8> {
    format!(r#"{{"UserID":"u","AlarmID":"{alarm}","AckedAt":"{ACKED_AT}"}}"#).into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledgements_are_recorded_once_even_when_they_overtake_their_alarm() {
    let stage = Stage::new(StoreKind::Sqlite).await;
    let replica = Replica::start(&stage.env).await;
    stage.bus.publish_raw("AlarmAcknowledged", acknowledgement("a1")).await;
    stage
        .bus
        .publish_raw("AlarmAcknowledged", acknowledgement("never"))
        .await;
    stage
        .bus
        .publish_events(&[TestEvent::new("u", "a1", "WARNING", 1_000)])
        .await;
    stage.bus.publish_raw("AlarmAcknowledged", acknowledgement("a1")).await;

    let letters = stage.bus.dead_letters(1, PATIENCE).await;
    let (origin, reason) = &letters[0];
    assert_eq!(origin, "AlarmAcknowledged");
    assert!(
        reason.contains("no alarm never of user u after 5 deliveries"),
        "{reason}"
    );
    stage.bus.wait_drained(PATIENCE).await;

    // Drained: every message, the deferred ones included, is settled.
    let (status, body) = replica.get("/v1/users/u/alarms/a1").await;
    assert_eq!(status, 200, "{body}");
    let alarm: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(alarm["Acknowledgements"], serde_json::json!([ACKED_AT]), "{alarm}");
    let count = |outcome: &str| {
        let sample = format!(r#"alarm_digest_messages_total{{subject="AlarmAcknowledged",outcome="{outcome}"}}"#);
        let replica = &replica;
        async move { replica.metric(&sample).await }
    };
    assert_eq!(count("recorded").await, 1.0);
    assert_eq!(count("duplicate").await, 1.0);
    assert_eq!(count("dead_lettered").await, 1.0);
    assert!(count("deferred").await >= 5.0, "a1 once, never four times");
}
