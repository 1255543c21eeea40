//! A bounded soak: rounds of the load generator's traffic (flapping alarms, late and
//! duplicated events, digest requests from many users) for `SOAK_SECONDS` (default 120),
//! with the replica restarted half way. Prints events/s, digest latency, peak RSS and the
//! invariant checker's verdict.

use super::{Stage, HEAVY, PATIENCE};
use crate::harness::{DigestLog, Model, Replica, StoreKind, TestEvent, Workload};
use alarm_digest::domain::EventTime;
use alarm_digest::load::traffic::{Message, Traffic, TrafficShape};
use std::time::{Duration, Instant};

const USERS: usize = 300;
const ALARMS: usize = 10;
const MESSAGES_PER_ROUND: usize = 2_000;

/// The round's events as the checker sees them, and the users whose digests were asked for.
fn decode(messages: &[Message]) -> (Vec<TestEvent>, Vec<String>) {
    let (mut events, mut requests) = (Vec::new(), Vec::new());
    for m in messages {
        let v: serde_json::Value = serde_json::from_slice(&m.payload).unwrap();
        let user = v["UserID"].as_str().unwrap();
        if !m.kind.is_event() {
            requests.push(user.to_string());
            continue;
        }
        let status = match v["Status"].as_str().unwrap() {
            "CLEARED" => "CLEARED",
            "WARNING" => "WARNING",
            _ => "CRITICAL",
        };
        let at = EventTime::parse_rfc3339(v["ChangedAt"].as_str().unwrap()).unwrap();
        events.push(TestEvent::new(
            user,
            v["AlarmID"].as_str().unwrap(),
            status,
            at.as_nanos(),
        ));
    }
    (events, requests)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bounded_soak_with_a_restart_keeps_every_guarantee() {
    let seconds: u64 = std::env::var("SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(120);
    let _one_at_a_time = HEAVY.lock().await;
    let stage = Stage::new(StoreKind::Sqlite).await;
    let mut replica = Replica::start(&stage.env).await;
    let digests = DigestLog::from_stream(&stage.bus).await;
    let w = Workload::seeded("soak");
    let mut traffic = Traffic::new(TrafficShape {
        users: USERS,
        alarms_per_user: ALARMS,
        events: u64::MAX / 2,
        duplicate_percent: 10,
        late_percent: 10,
        digest_every: 200,
        seed: w.seed,
        ..TrafficShape::default()
    });
    let mut model = Model::default();
    let mut latencies = Vec::new();
    let mut peak_rss_kib = 0;
    let mut restarted = false;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut probes = 0;
    while Instant::now() < deadline {
        let round: Vec<Message> = traffic.by_ref().take(MESSAGES_PER_ROUND).collect();
        let (events, requests) = decode(&round);
        model.record(&events);
        stage.bus.publish_events(&events).await;
        for user in requests {
            stage.bus.request_digest(&user).await;
        }
        // Latency under load: one probe request, timed from publish to its digest.
        let asked = Instant::now();
        stage.bus.request_digest("probe").await;
        probes += 1;
        digests.wait_for_user("probe", probes, PATIENCE).await;
        latencies.push(asked.elapsed());
        if !restarted && started.elapsed() * 2 >= deadline - started {
            peak_rss_kib = peak_rss_kib.max(replica.peak_rss_kib());
            let (status, took) = replica.terminate().await;
            assert!(status.success(), "SIGTERM exit: {status}");
            println!(
                "soak: replica restarted after {:.0} s (stopped in {took:?})",
                started.elapsed().as_secs_f64()
            );
            replica = Replica::start(&stage.env).await;
            restarted = true;
        }
    }
    stage.bus.wait_drained(PATIENCE * 3).await;
    let elapsed = started.elapsed();
    peak_rss_kib = peak_rss_kib.max(replica.peak_rss_kib());
    for user in model.users() {
        stage.bus.request_digest(&user).await;
    }
    stage.bus.wait_drained(PATIENCE).await;
    let all = digests.wait_caught_up(&stage.bus, PATIENCE).await;
    let all: Vec<_> = all.into_iter().filter(|d| d.user != "probe").collect();
    let verdict = model.check(&all);
    latencies.sort();
    let events = model.events_len();
    println!(
        "soak: {events} events in {:.0} s ({:.0} events/s), {} digests; digest latency p50 {:?} \
         p99 {:?} over {probes} probes; peak RSS {} MiB; invariants: {}",
        elapsed.as_secs_f64(),
        events as f64 / elapsed.as_secs_f64(),
        all.len(),
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0),
        peak_rss_kib / 1024,
        if verdict.is_ok() { "hold" } else { "BROKEN" }
    );
    assert!(restarted, "the soak ran long enough to restart the replica");
    verdict.unwrap_or_else(|e| panic!("seed {}: {e}", w.seed));
}
