//! The service on a 3-node JetStream cluster with R3 streams: stream leaders killed, a
//! rolling restart, quorum lost and regained, a replica's own node lost. Each prints the
//! time without intake, the messages redelivered and the digests the duplicate window
//! dropped; the invariant checker judges every digest.

use super::{HEAVY, PATIENCE};
use crate::harness::bus::{DEAD_LETTER_STREAM, DIGEST_STREAM, INPUT_STREAM};
use crate::harness::{
    DigestLog, IntakeWatch, Model, Replica, ServiceEnv, SteadyTraffic, StoreKind, TestBus, TestEvent, Workload,
};
use crate::support::process::free_port;
use crate::support::{nats_server_version, NatsCluster, NatsServer};
use std::time::{Duration, Instant};

const USERS: usize = 40;
const ALARMS: usize = 10;
/// Events per second of the steady traffic: enough that an outage shows as a stall.
const RATE: u32 = 400;
/// A digest request after every this many events.
const REQUEST_EVERY: usize = 25;
/// Every stream the service creates in JetStream mode.
const STREAMS: [&str; 4] = [INPUT_STREAM, DIGEST_STREAM, DEAD_LETTER_STREAM, "PAGER_NOTIFICATIONS"];

/// A started cluster, the test's client on every node, and the replicas' settings.
struct ClusterStage {
    cluster: NatsCluster,
    bus: TestBus,
    env: ServiceEnv,
}

impl ClusterStage {
    async fn new(kind: StoreKind) -> Self {
        let cluster = NatsCluster::start(3).await;
        let bus = TestBus::connect(&cluster.urls()).await;
        let env = ServiceEnv::new(cluster.urls(), kind)
            .with("STREAM_REPLICAS", "3")
            .with("CLAIM_TTL", "5s");
        Self { cluster, bus, env }
    }

    async fn replicas_of(&self, stream: &str) -> usize {
        let mut stream = self.bus.js.get_stream(stream).await.unwrap();
        stream.info().await.unwrap().config.num_replicas
    }

    /// Asks every user of `model` for a last digest once everything is processed, and
    /// checks every digest against the model: each request answered once, every active
    /// version delivered exactly once, in order.
    async fn final_check(&self, digests: &DigestLog, model: &Model, requests: usize, seed: u64) -> usize {
        self.bus.wait_drained(PATIENCE * 2).await;
        for user in model.users() {
            self.bus.request_digest(&user).await;
        }
        self.bus.wait_drained(PATIENCE * 2).await;
        let all = digests.wait_caught_up(&self.bus, PATIENCE).await;
        model.check(&all).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        assert_eq!(
            all.len(),
            requests + model.users().len(),
            "each request answered exactly once (seed {seed})"
        );
        all.len()
    }
}

/// Seeded events over the scenarios' users and alarms, and the model that judges them.
fn seeded(name: &str, count: usize) -> (Workload, Vec<TestEvent>, Model) {
    let mut w = Workload::seeded(name);
    let events = w.events(USERS, ALARMS, count);
    let mut model = Model::default();
    model.record(&events);
    (w, events, model)
}

/// What every cluster scenario reports of delivery, summed over the replicas: messages
/// redelivered, and digest messages the duplicate window dropped.
async fn delivery_figures(replicas: &[&Replica]) -> String {
    let (mut redelivered, mut duplicates) = (0.0, 0.0);
    for r in replicas {
        redelivered += r.metric("alarm_digest_redelivered_messages_total").await;
        duplicates += r.metric("alarm_digest_digest_duplicates_total").await;
    }
    format!("{redelivered} messages redelivered; {duplicates} digest messages dropped as duplicates")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_cluster_killing_the_input_and_digest_stream_leaders_loses_nothing_and_doubles_nothing() {
    let _one_at_a_time = HEAVY.lock().await;
    let mut stage = ClusterStage::new(StoreKind::Mongo).await;
    // First as a user coming from a single server: streams with one replica each ...
    let mut first = Replica::start_with(&stage.env, &[("STREAM_REPLICAS", "1")]).await;
    first.terminate().await;
    assert_eq!(stage.replicas_of(INPUT_STREAM).await, 1);
    // ... then STREAM_REPLICAS=3: every stream is brought to three replicas at start.
    let a = Replica::start(&stage.env).await;
    let b = Replica::start(&stage.env).await;
    for stream in STREAMS {
        assert_eq!(stage.replicas_of(stream).await, 3, "{stream} has 3 replicas");
    }
    let digests = DigestLog::from_stream(&stage.bus).await;
    let (w, events, model) = seeded("cluster leaders", 3_000);
    let watch = IntakeWatch::start(vec![a.http_port, b.http_port]);
    let traffic = SteadyTraffic::start(
        stage.bus.js.clone(),
        events,
        model.users(),
        REQUEST_EVERY,
        RATE,
        PATIENCE,
    );
    let started = Instant::now();

    let mut kills = Vec::new();
    for (at, stream) in [(1_000, INPUT_STREAM), (2_000, DIGEST_STREAM)] {
        traffic.wait_published(at, PATIENCE).await;
        let leader = stage.cluster.wait_stream_current(&stage.bus.js, stream, PATIENCE).await;
        let killed = Instant::now();
        stage.cluster.kill(leader);
        let next = stage.cluster.wait_leader(&stage.bus.js, stream, PATIENCE).await;
        let election = killed.elapsed();
        stage.cluster.restart(leader);
        stage.cluster.wait_stream_current(&stage.bus.js, stream, PATIENCE).await;
        println!(
            "cluster leaders: killed {} leading {stream}; {} leads after {:.1}s; the node caught up after {:.1}s",
            stage.cluster.name(leader),
            stage.cluster.name(next),
            election.as_secs_f64(),
            killed.elapsed().as_secs_f64()
        );
        kills.push((stream, killed));
    }
    let report = traffic.finish().await;
    // Stalls count while traffic flows: after it, intake has nothing to do.
    let ended = Instant::now();
    let digest_count = stage.final_check(&digests, &model, report.requests, w.seed).await;
    let marks: Vec<Instant> = kills.iter().map(|(_, at)| *at).collect();
    let stalls: Vec<String> = kills
        .iter()
        .zip(watch.stalls_after(&marks, ended))
        .map(|((stream, _), stall)| format!("{:.1}s after killing the {stream} leader", stall.as_secs_f64()))
        .collect();
    println!(
        "cluster leaders (nats-server {}): {} events and {} requests in {:.1}s, {} digests; \
         longest without intake: {}; {} publishes retried (longest {:.1}s); \
         {}",
        nats_server_version(),
        report.events,
        report.requests,
        started.elapsed().as_secs_f64(),
        digest_count,
        stalls.join(", "),
        report.retries,
        report.longest_publish.as_secs_f64(),
        delivery_figures(&[&a, &b]).await,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_of_every_node_under_load_loses_nothing_and_readiness_returns_after_each() {
    let _one_at_a_time = HEAVY.lock().await;
    let mut stage = ClusterStage::new(StoreKind::Sqlite).await;
    let replica = Replica::start(&stage.env).await;
    let digests = DigestLog::from_stream(&stage.bus).await;
    let (w, events, model) = seeded("cluster rolling restart", 4_000);
    let watch = IntakeWatch::start(vec![replica.http_port]);
    let traffic = SteadyTraffic::start(
        stage.bus.js.clone(),
        events,
        model.users(),
        REQUEST_EVERY,
        RATE,
        PATIENCE,
    );
    let mut figures = Vec::new();
    for node in 0..stage.cluster.len() {
        traffic.wait_published(1_000 * (node + 1), PATIENCE).await;
        let stopped = Instant::now();
        stage.cluster.terminate(node);
        stage.cluster.restart(node);
        stage
            .cluster
            .wait_stream_current(&stage.bus.js, INPUT_STREAM, PATIENCE)
            .await;
        let rejoined = stopped.elapsed();
        replica.wait_readiness(true, PATIENCE).await;
        figures.push((
            stage.cluster.name(node).to_string(),
            stopped,
            rejoined,
            stopped.elapsed(),
        ));
    }
    let report = traffic.finish().await;
    let ended = Instant::now();
    let digest_count = stage.final_check(&digests, &model, report.requests, w.seed).await;
    let marks: Vec<Instant> = figures.iter().map(|f| f.1).collect();
    let per_node: Vec<String> = figures
        .iter()
        .zip(watch.stalls_after(&marks, ended))
        .map(|((name, _, rejoined, ready), stall)| {
            format!(
                "{name}: rejoined {:.1}s, replica ready {:.1}s, longest without intake {:.1}s",
                rejoined.as_secs_f64(),
                ready.as_secs_f64(),
                stall.as_secs_f64()
            )
        })
        .collect();
    println!(
        "cluster rolling restart (nats-server {}): {} events, {} requests, {} digests; {}; \
         {} publishes retried (the longest confirmed after {:.1}s); {}",
        nats_server_version(),
        report.events,
        report.requests,
        digest_count,
        per_node.join("; "),
        report.retries,
        report.longest_publish.as_secs_f64(),
        delivery_figures(&[&replica]).await,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_two_of_three_nodes_refuses_publishes_holds_work_and_resumes_with_quorum() {
    let _one_at_a_time = HEAVY.lock().await;
    let mut stage = ClusterStage::new(StoreKind::Sqlite).await;
    let replica = Replica::start(&stage.env).await;
    let digests = DigestLog::from_stream(&stage.bus).await;
    let (w, events, model) = seeded("cluster quorum", 3_000);
    let (before, after) = events.split_at(2_000);
    stage.bus.publish_events(&before[..1_000]).await;
    stage.bus.wait_drained(PATIENCE).await;
    // Stored but perhaps not yet processed when quorum goes.
    stage.bus.publish_events(&before[1_000..]).await;
    let lost = Instant::now();
    stage.cluster.kill(1);
    stage.cluster.kill(2);

    let probe = &after[0];
    let refused = async {
        stage
            .bus
            .js
            .publish("AlarmStatusChanged", probe.to_json().into())
            .await?
            .await
            .map_err(async_nats::Error::from)
    };
    let refused = tokio::time::timeout(Duration::from_secs(20), refused).await;
    assert!(
        matches!(refused, Ok(Err(_))),
        "a publish without quorum is refused or times out, not confirmed: {refused:?}"
    );
    // A consumer leader keeps answering from its own state for a few seconds before it
    // steps down for want of quorum; then the replica reports JetStream unavailable.
    replica
        .wait_readyz("not ready for want of JetStream", PATIENCE, |status, body| {
            status == 503 && body.contains("\"jetstream\":\"unavailable\"")
        })
        .await;
    let not_ready = lost.elapsed();

    let back = Instant::now();
    stage.cluster.restart(1);
    stage.cluster.restart(2);
    stage
        .cluster
        .wait_stream_current(&stage.bus.js, INPUT_STREAM, PATIENCE)
        .await;
    replica.wait_readiness(true, PATIENCE).await;
    let ready_after = back.elapsed();
    let outage = lost.elapsed();
    // The refused event is published again (it may also have landed: a duplicate is harmless).
    stage.bus.publish_events_through_outages(after, PATIENCE).await;
    let digest_count = stage.final_check(&digests, &model, 0, w.seed).await;
    println!(
        "cluster quorum (nats-server {}): not ready {:.1}s after losing 2 of 3 nodes; ready again {:.1}s \
         after restarting them ({:.1}s from loss to ready); {} events, {} digests; \
         {}",
        nats_server_version(),
        not_ready.as_secs_f64(),
        ready_after.as_secs_f64(),
        outage.as_secs_f64(),
        model.events_len(),
        digest_count,
        delivery_figures(&[&replica]).await,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_whose_node_is_lost_reconnects_to_a_node_the_cluster_advertised_and_resumes() {
    let _one_at_a_time = HEAVY.lock().await;
    let mut stage = ClusterStage::new(StoreKind::Sqlite).await;
    // Its only seed is node 1: the others it knows from what the cluster advertises.
    let replica = Replica::start_with(&stage.env, &[("NATS_URL", &stage.cluster.url(0))]).await;
    let producers = TestBus::connect(&format!("{},{}", stage.cluster.url(1), stage.cluster.url(2))).await;
    let digests = DigestLog::from_stream(&producers).await;
    let (w, events, model) = seeded("cluster partition", 2_000);
    let watch = IntakeWatch::start(vec![replica.http_port]);
    let traffic = SteadyTraffic::start(
        producers.js.clone(),
        events,
        model.users(),
        REQUEST_EVERY,
        RATE,
        PATIENCE,
    );
    traffic.wait_published(700, PATIENCE).await;
    let cut = Instant::now();
    stage.cluster.kill(0);
    let reconnected = loop {
        if replica.metric("alarm_digest_nats_reconnects_total").await >= 1.0 {
            break cut.elapsed();
        }
        assert!(
            cut.elapsed() < PATIENCE,
            "the replica never reconnected to a surviving node"
        );
        // The reconnect shows only in the replica's metrics; poll them.
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    traffic.wait_published(1_400, PATIENCE).await;
    let ready = replica.wait_readiness(true, PATIENCE).await + cut.elapsed();
    let resumed_by = Instant::now();
    let report = traffic.finish().await;
    stage.cluster.restart(0);
    stage.bus = producers;
    let digest_count = stage.final_check(&digests, &model, report.requests, w.seed).await;
    println!(
        "cluster partition (nats-server {}): the replica's node lost; reconnected after {:.2}s, ready \
         (checked) {:.1}s after; longest without intake {:.1}s; {} events, {} requests, {} digests; \
         {} NATS reconnects; {}",
        nats_server_version(),
        reconnected.as_secs_f64(),
        ready.as_secs_f64(),
        watch
            .longest_stall(cut, resumed_by.max(cut + Duration::from_secs(1)))
            .as_secs_f64(),
        report.events,
        report.requests,
        digest_count,
        replica.metric("alarm_digest_nats_reconnects_total").await,
        delivery_figures(&[&replica]).await,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_replicas_beyond_the_cluster_stop_the_service_at_start_with_a_clear_error() {
    let nats = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_alarm-digest"));
    cmd.arg("serve")
        .env("NATS_URL", nats.url())
        .env("STORE_URL", format!("sqlite://{}", dir.path().join("a.db").display()))
        .env("HTTP_ADDR", format!("127.0.0.1:{}", free_port()))
        .env("STREAM_REPLICAS", "3")
        .env("NO_COLOR", "1")
        .kill_on_drop(true);
    let out = tokio::time::timeout(PATIENCE, cmd.output())
        .await
        .expect("the service stops by itself instead of retrying forever")
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "a failed start exits non-zero: {text}");
    assert!(
        text.contains("STREAM_REPLICAS=3 needs a JetStream cluster of at least 3 servers"),
        "{text}"
    );
}
