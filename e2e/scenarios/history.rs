//! History stays bounded while the service runs: the periodic trim drops the histories of
//! all but the most recently updated alarms, seen through the HTTP API.

use super::{Stage, PATIENCE};
use crate::harness::{Replica, StoreKind, TestEvent};
use std::time::{Duration, Instant};
use testkit::eventually;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_service_trims_histories_beyond_the_configured_alarm_count() {
    let stage = Stage::new(StoreKind::Sqlite).await;
    let env = stage
        .env
        .with("HISTORY_ALARMS", "2")
        .with("HISTORY_TRIM_INTERVAL", "200ms");
    let replica = Replica::start(&env).await;
    for a in 0..5 {
        stage
            .bus
            .publish_events(&[TestEvent::new("u", &format!("a{a}"), "WARNING", 1_000 + a)])
            .await;
        // Distinct update times, oldest first: wait until this one is stored.
        stage.bus.wait_drained(PATIENCE).await;
        let stamp = Instant::now();
        while stamp.elapsed() < Duration::from_millis(5) {
            tokio::task::yield_now().await;
        }
    }
    let events_of = |a: usize| format!("/v1/users/u/alarms/a{a}/events");
    // The trim runs on its own schedule; there is no event to await from outside.
    eventually("the histories of the two newest alarms alone", PATIENCE, || async {
        let mut kept = Vec::new();
        for a in 0..5 {
            let (status, body) = replica.get(&events_of(a)).await;
            assert_eq!(status, 200, "{body}");
            let items: serde_json::Value = serde_json::from_str(&body).unwrap();
            let count = items
                .as_array()
                .or_else(|| items["items"].as_array())
                .map_or(0, Vec::len);
            if count > 0 {
                kept.push(a);
            }
        }
        match kept == [3, 4] {
            true => Ok(()),
            false => Err(format!("histories kept: {kept:?}")),
        }
    })
    .await;
    let (status, _) = replica.get("/v1/users/u/alarms/a0").await;
    assert_eq!(status, 200, "the alarm state itself is kept");
}
