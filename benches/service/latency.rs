//! Digest latency: from publishing a SendAlarmDigest to receiving the whole AlarmDigest
//! (every part), for users with 10 to 10,000 due alarms, one request at a time, beside the
//! same server's transport floor for a digest of that size; then one digest of 100,000
//! due alarms (split into parts) and the replica's peak memory while it is made.

use crate::ingest::peak_rss;
use futures::StreamExt;
use std::time::{Duration, Instant};
use testkit::NatsServer;
use testkit::{Replica, ServiceEnv, StoreKind, TestBus, TestEvent};

/// Latencies of one size of digest.
pub struct Latency {
    pub alarms: usize,
    pub samples: Vec<Duration>,
    /// Messages the largest digest came in.
    pub parts: usize,
    /// Bytes of the largest digest, every part's payload.
    pub bytes: usize,
    /// The transport floor for a digest of `bytes`, measured in the same run.
    pub floor: Vec<Duration>,
}

impl Latency {
    /// The `q`-quantile (nearest rank).
    pub fn quantile(&self, q: f64) -> Duration {
        crate::floor::quantile(&self.samples, q)
    }

    /// The `q`-quantile of the floor.
    pub fn floor_quantile(&self, q: f64) -> Duration {
        crate::floor::quantile(&self.floor, q)
    }

    /// p99 as a multiple of the floor's median: the floor is what the transport costs when
    /// nothing else gets in the way, and its own p99 on a shared machine is mostly noise.
    pub fn p99_over_floor(&self) -> f64 {
        self.quantile(0.99).as_secs_f64() / self.floor_quantile(0.50).as_secs_f64().max(1e-9)
    }
}

/// The digest of many due alarms.
pub struct Huge {
    pub alarms: usize,
    pub elapsed: Duration,
    pub parts: usize,
    /// The replica's VmHWM, reset just before the request: the digest's own peak.
    pub peak_rss: u64,
}

/// What the latency run measured, and the replica's peak memory.
pub struct LatencyRun {
    pub sizes: Vec<Latency>,
    /// The replica's cores while it answered the largest size's requests.
    pub cpu: crate::cpu::Usage,
    pub huge: Huge,
    pub peak_rss: u64,
}

fn events_of(user: &str, alarms: usize) -> Vec<TestEvent> {
    let base = 1_704_067_200_000_000_000i64;
    (0..alarms)
        .map(|a| {
            let status = if a % 3 == 0 { "CRITICAL" } else { "WARNING" };
            TestEvent::new(user, &format!("alarm-{a:06}"), status, base + a as i64 * 1_000)
        })
        .collect()
}

/// One request for `user`'s digest, until its last part: (elapsed, parts, alarms, bytes).
async fn digest_of(bus: &TestBus, digests: &mut async_nats::Subscriber, user: &str) -> (Duration, usize, usize, usize) {
    let started = Instant::now();
    bus.request_digest(user).await;
    let (mut got, mut parts, mut alarms, mut bytes) = (0usize, usize::MAX, 0usize, 0usize);
    while got < parts {
        let msg = tokio::time::timeout(Duration::from_secs(120), digests.next())
            .await
            .unwrap_or_else(|_| panic!("no digest for {user} within 120 s"))
            .unwrap();
        parts = msg
            .headers
            .as_ref()
            .and_then(|h| h.get("Alarm-Digest-Parts"))
            .and_then(|v| v.as_str().parse().ok())
            .unwrap_or(1);
        let v: serde_json::Value = serde_json::from_slice(&msg.payload).unwrap();
        assert_eq!(v["UserID"], user, "one request at a time");
        alarms += v["ActiveAlarms"].as_array().unwrap().len();
        bytes += msg.payload.len();
        got += 1;
    }
    (started.elapsed(), parts, alarms, bytes)
}

/// Resets a process's VmHWM to its current RSS (Linux `clear_refs` 5); false if refused.
fn reset_peak_rss(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// `sizes`: (due alarms per user, requests measured); `huge`: due alarms of the big digest.
pub async fn run(sizes: &[(usize, usize)], huge: usize) -> LatencyRun {
    let nats = NatsServer::start();
    let env = ServiceEnv::new(nats.url(), StoreKind::Sqlite);
    let replica = Replica::start(&env).await;
    let bus = TestBus::connect(&nats.url()).await;

    // Every user gets `alarms` active alarms; each measured request is for a fresh user.
    for &(alarms, samples) in sizes {
        for j in 0..samples {
            bus.publish_events(&events_of(&format!("lat-{alarms}-{j}"), alarms))
                .await;
        }
    }
    bus.wait_drained(Duration::from_secs(600)).await;

    let mut digests = bus.client.subscribe("AlarmDigest").await.unwrap();
    bus.client.flush().await.unwrap();
    let mut results = Vec::new();
    let mut cpu = crate::cpu::Usage::default();
    for (i, &(alarms, samples)) in sizes.iter().enumerate() {
        let reading = crate::cpu::before(&[replica.pid()], &[]);
        let mut latency = Latency {
            alarms,
            samples: Vec::with_capacity(samples),
            parts: 0,
            bytes: 0,
            floor: Vec::new(),
        };
        for j in 0..samples {
            let user = format!("lat-{alarms}-{j}");
            let (elapsed, parts, received, bytes) = digest_of(&bus, &mut digests, &user).await;
            assert_eq!(received, alarms, "the digest of {user} lists every due alarm");
            latency.samples.push(elapsed);
            latency.parts = latency.parts.max(parts);
            latency.bytes = latency.bytes.max(bytes);
        }
        if i + 1 == sizes.len() {
            cpu = reading.usage();
        }
        results.push(latency);
    }
    for latency in &mut results {
        latency.floor = crate::floor::measure(&nats.url(), latency.bytes, latency.samples.len().max(50)).await;
    }
    let peak = peak_rss(replica.pid());

    let user = format!("lat-huge-{huge}");
    bus.publish_events(&events_of(&user, huge)).await;
    bus.wait_drained(Duration::from_secs(600)).await;
    let reset = reset_peak_rss(replica.pid());
    let (elapsed, parts, received, _) = digest_of(&bus, &mut digests, &user).await;
    assert_eq!(received, huge, "the digest of {user} lists every due alarm");
    let huge = Huge {
        alarms: huge,
        elapsed,
        parts,
        peak_rss: if reset { peak_rss(replica.pid()) } else { 0 },
    };
    LatencyRun {
        sizes: results,
        cpu,
        huge,
        peak_rss: peak.max(peak_rss(replica.pid())),
    }
}
