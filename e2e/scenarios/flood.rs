//! A flood much larger than a replica's concurrency: 200k events at one lane of 64. What is
//! in flight stays bounded by the consumer's ack window, memory stays flat, and every event
//! is eventually applied. Prints the peak RSS.

use super::{Stage, HEAVY, PATIENCE};
use crate::harness::{Replica, StoreKind, TestEvent};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const EVENTS: usize = 200_000;
const USERS: usize = 2_000;
const ALARMS: usize = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_at_a_narrow_replica_stays_bounded_and_is_all_applied() {
    let _one_at_a_time = HEAVY.lock().await;
    let stage = Stage::new(StoreKind::Sqlite).await;
    let env = stage
        .env
        .with("INTAKE_LANES", "1")
        .with("LANE_CAPACITY", "64")
        .with("MAX_BATCH", "64");
    let replica = Replica::start(&env).await;
    let started = Instant::now();

    // Sample the consumer while the flood goes in: how much was ever delivered but unacked.
    let most_unacked = Arc::new(AtomicU64::new(0));
    let flooding = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (most_unacked, flooding) = (Arc::clone(&most_unacked), Arc::clone(&flooding));
        let bus = crate::harness::TestBus::connect(&stage.nats.url()).await;
        tokio::spawn(async move {
            while flooding.load(Ordering::Relaxed) {
                let (_, unacked) = bus.consumer_state().await;
                most_unacked.fetch_max(unacked, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let statuses = ["WARNING", "CRITICAL", "CLEARED"];
    let events: Vec<TestEvent> = (0..EVENTS)
        .map(|i| {
            let (user, alarm) = (i % USERS, (i / USERS) % ALARMS);
            TestEvent::new(
                &format!("u{user}"),
                &format!("a{alarm}"),
                statuses[i % 3],
                1_000 + i as i64,
            )
        })
        .collect();
    for chunk in events.chunks(10_000) {
        stage.bus.publish_events(chunk).await;
    }
    let published = started.elapsed();
    stage.bus.wait_drained(PATIENCE * 5).await;
    flooding.store(false, Ordering::Relaxed);
    sampler.await.unwrap();
    let drained = started.elapsed();

    let (_, counts) = replica.get("/v1/counts").await;
    let counts: serde_json::Value = serde_json::from_str(&counts).unwrap();
    assert_eq!(counts["EventsReceived"], EVENTS, "{counts}");
    assert_eq!(counts["Alarms"], USERS * ALARMS, "{counts}");
    let applied = replica
        .metric(r#"alarm_digest_messages_total{subject="AlarmStatusChanged",outcome="applied"}"#)
        .await;
    assert_eq!(applied as usize, EVENTS, "every event is new, so every one is applied");
    let most_unacked = most_unacked.load(Ordering::Relaxed);
    assert!(
        most_unacked <= 1_000,
        "in flight is bounded by max_ack_pending: {most_unacked}"
    );
    println!(
        "flood: {EVENTS} events published in {:.1} s, all applied after {:.1} s ({:.0} events/s); \
         at most {most_unacked} unacked; replica peak RSS {} MiB",
        published.as_secs_f64(),
        drained.as_secs_f64(),
        EVENTS as f64 / drained.as_secs_f64(),
        replica.peak_rss_kib() / 1024
    );
}
