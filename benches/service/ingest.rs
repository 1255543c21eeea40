//! The service end to end: events published (JetStream, pipelined acks) until every one
//! is committed and acked by the replicas, and the replicas' peak memory.

use crate::harness::{Replica, ServiceEnv, StoreKind, TestBus};
use crate::support::NatsServer;
use alarm_digest::config::LoadPublish;
use alarm_digest::load::traffic::{Traffic, TrafficShape};
use alarm_digest::load::{publish, Progress, Publishing};
use std::time::{Duration, Instant};

/// One ingest configuration.
pub struct Setup {
    pub label: &'static str,
    pub store: StoreKind,
    pub replicas: usize,
    pub env: &'static [(&'static str, &'static str)],
    pub events: u64,
}

/// What one configuration achieved.
pub struct Ingest {
    pub events: u64,
    pub elapsed: Duration,
    /// Largest VmHWM of the replicas, bytes.
    pub peak_rss: u64,
}

impl Ingest {
    pub fn per_second(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// The high-water mark of a process's resident memory (VmHWM), in bytes.
pub fn peak_rss(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// The traffic of the ingest runs: 1,000 users x 20 alarms, 10% duplicates, 10% late.
pub fn traffic(events: u64) -> Traffic {
    Traffic::new(TrafficShape {
        users: 1000,
        alarms_per_user: 20,
        events,
        digest_every: 0,
        seed: 42,
        ..TrafficShape::default()
    })
}

pub async fn run(setup: &Setup) -> Ingest {
    let nats = NatsServer::start();
    let mut env = ServiceEnv::new(nats.url(), setup.store);
    for (k, v) in setup.env {
        env = env.with(k, v);
    }
    let mut replicas = Vec::new();
    for _ in 0..setup.replicas {
        replicas.push(Replica::start(&env).await);
    }
    let bus = TestBus::connect(&nats.url()).await;
    let how = Publishing {
        alarm_status_subject: "AlarmStatusChanged".into(),
        digest_request_subject: "SendAlarmDigest".into(),
        mode: LoadPublish::Jetstream,
        pipeline: 2048,
        rate: 0,
    };
    let started = Instant::now();
    let published = publish(&bus.client, traffic(setup.events), &how, &Progress::Silent)
        .await
        .unwrap();
    assert_eq!(published.refused, 0, "{}: the input stream refused events", setup.label);
    bus.wait_drained(Duration::from_secs(600)).await;
    let elapsed = started.elapsed();
    let peak_rss = replicas.iter().map(|r| peak_rss(r.pid())).max().unwrap_or(0);
    Ingest {
        events: setup.events,
        elapsed,
        peak_rss,
    }
}
