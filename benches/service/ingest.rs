//! The service end to end: events published (JetStream, pipelined acks) until every one
//! is committed and acked by the replicas; the replicas' peak memory, where the CPU went
//! (per thread, per process) and, under `BENCH_PROFILE`, a perf profile.

use crate::cpu;
use crate::profile::{self, Profile};
use alarm_digest::config::LoadPublish;
use alarm_digest::load::traffic::{Traffic, TrafficShape};
use alarm_digest::load::{publish, Progress, Publishing};
use std::time::{Duration, Instant};
use testkit::NatsServer;
use testkit::{Replica, ServiceEnv, StoreKind, TestBus};

/// One ingest configuration.
pub struct Setup {
    pub label: &'static str,
    pub store: StoreKind,
    pub replicas: usize,
    pub env: &'static [(&'static str, &'static str)],
    pub events: u64,
    /// Whether `BENCH_PROFILE` profiles this setup (a second run under perf).
    pub profile: bool,
}

/// What one configuration achieved.
pub struct Ingest {
    pub events: u64,
    pub elapsed: Duration,
    /// Largest VmHWM of the replicas, bytes.
    pub peak_rss: u64,
    /// Cores used over the run.
    pub cpu: cpu::Usage,
    /// The perf profile of a second, profiled run of the same setup.
    pub profile: Option<Profile>,
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

/// The MongoDB-wire server's process, when it is the SecantusDB this run started.
fn mongo_server(url: &str) -> Option<u32> {
    let port = url.split("://").nth(1)?.split(['/', '?']).next()?.rsplit(':').next()?;
    cpu::find("secantusd", port)
}

/// Runs `setup` once, and once more under perf when `BENCH_PROFILE` is set.
pub async fn run(setup: &Setup) -> Ingest {
    let mut figure = once(setup, false).await;
    if setup.profile && profile::enabled() {
        figure.profile = once(setup, true).await.profile;
    }
    figure
}

async fn once(setup: &Setup, profiled: bool) -> Ingest {
    let nats = NatsServer::start();
    let nats_pid = cpu::child("nats-server");
    on_servers(setup, &nats.url(), &[("nats-server", nats_pid)], profiled).await
}

/// Runs `setup` once against NATS servers already running at `urls` (comma-separated, as
/// `NATS_URL` lists them), whose processes `servers` names for the CPU figures.
pub async fn on_servers(setup: &Setup, urls: &str, servers: &[(&str, Option<u32>)], profiled: bool) -> Ingest {
    let mut env = ServiceEnv::new(urls.to_string(), setup.store);
    for (k, v) in setup.env {
        env = env.with(k, v);
    }
    let mut replicas = Vec::new();
    for _ in 0..setup.replicas {
        replicas.push(Replica::start(&env).await);
    }
    let pids: Vec<u32> = replicas.iter().map(Replica::pid).collect();
    let mongo_pid = match setup.store {
        StoreKind::Mongo => mongo_server(&env.store_url),
        StoreKind::Sqlite => None,
    };
    let bus = TestBus::connect(urls).await;
    let how = Publishing {
        alarm_status_subject: "AlarmStatusChanged".into(),
        digest_request_subject: "SendAlarmDigest".into(),
        mode: LoadPublish::Jetstream,
        pipeline: 2048,
        rate: 0,
    };
    let recording = if profiled { profile::attach(&pids).await } else { None };
    let mut others = servers.to_vec();
    others.push(("MongoDB-wire server", mongo_pid));
    let usage = cpu::before(&pids, &others);
    let started = Instant::now();
    let published = publish(&bus.client, traffic(setup.events), &how, &Progress::Silent)
        .await
        .unwrap();
    assert_eq!(published.refused, 0, "{}: the input stream refused events", setup.label);
    bus.wait_drained(Duration::from_secs(600)).await;
    let elapsed = started.elapsed();
    let cpu = usage.usage();
    let profile = match recording {
        Some(r) => r.finish().await,
        None => None,
    };
    let peak_rss = pids.iter().map(|&p| peak_rss(p)).max().unwrap_or(0);
    Ingest {
        events: setup.events,
        elapsed,
        peak_rss,
        cpu,
        profile,
    }
}
