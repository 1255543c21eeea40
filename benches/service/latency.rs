//! Digest latency: from publishing a SendAlarmDigest to receiving the whole AlarmDigest
//! (every part), for users with 10 to 10,000 due alarms, one request at a time.

use crate::harness::{Replica, ServiceEnv, StoreKind, TestBus, TestEvent};
use crate::ingest::peak_rss;
use crate::support::NatsServer;
use futures::StreamExt;
use std::time::{Duration, Instant};

/// Latencies of one size of digest.
pub struct Latency {
    pub alarms: usize,
    pub samples: Vec<Duration>,
    /// Messages the largest digest came in.
    pub parts: usize,
}

impl Latency {
    /// The `q`-quantile (nearest rank).
    pub fn quantile(&self, q: f64) -> Duration {
        let mut s = self.samples.clone();
        s.sort();
        let rank = ((q * s.len() as f64).ceil() as usize).clamp(1, s.len());
        s[rank - 1]
    }
}

/// What the latency run measured, and the replica's peak memory.
pub struct LatencyRun {
    pub sizes: Vec<Latency>,
    pub peak_rss: u64,
}

/// `sizes`: (due alarms per user, requests measured).
pub async fn run(sizes: &[(usize, usize)]) -> LatencyRun {
    let nats = NatsServer::start();
    let env = ServiceEnv::new(nats.url(), StoreKind::Sqlite);
    let replica = Replica::start(&env).await;
    let bus = TestBus::connect(&nats.url()).await;

    // Every user gets `alarms` active alarms; each measured request is for a fresh user.
    let base = 1_704_067_200_000_000_000i64;
    for &(alarms, samples) in sizes {
        for j in 0..samples {
            let user = format!("lat-{alarms}-{j}");
            let events: Vec<TestEvent> = (0..alarms)
                .map(|a| {
                    let status = if a % 3 == 0 { "CRITICAL" } else { "WARNING" };
                    TestEvent::new(&user, &format!("alarm-{a:05}"), status, base + a as i64 * 1_000)
                })
                .collect();
            bus.publish_events(&events).await;
        }
    }
    bus.wait_drained(Duration::from_secs(600)).await;

    let mut digests = bus.client.subscribe("AlarmDigest").await.unwrap();
    bus.client.flush().await.unwrap();
    let mut results = Vec::new();
    for &(alarms, samples) in sizes {
        let mut latency = Latency {
            alarms,
            samples: Vec::with_capacity(samples),
            parts: 0,
        };
        for j in 0..samples {
            let user = format!("lat-{alarms}-{j}");
            let started = Instant::now();
            bus.request_digest(&user).await;
            let (mut got, mut parts) = (0usize, usize::MAX);
            let mut received = 0;
            while got < parts {
                let msg = tokio::time::timeout(Duration::from_secs(60), digests.next())
                    .await
                    .unwrap_or_else(|_| panic!("no digest for {user} within 60 s"))
                    .unwrap();
                let headers = msg.headers.as_ref();
                parts = headers
                    .and_then(|h| h.get("Alarm-Digest-Parts"))
                    .and_then(|v| v.as_str().parse().ok())
                    .unwrap_or(1);
                let v: serde_json::Value = serde_json::from_slice(&msg.payload).unwrap();
                assert_eq!(v["UserID"], user.as_str(), "one request at a time");
                received += v["ActiveAlarms"].as_array().unwrap().len();
                got += 1;
            }
            latency.samples.push(started.elapsed());
            assert_eq!(received, alarms, "the digest of {user} lists every due alarm");
            latency.parts = latency.parts.max(parts);
        }
        results.push(latency);
    }
    LatencyRun {
        sizes: results,
        peak_rss: peak_rss(replica.pid()),
    }
}
