//! The service on a 3-node JetStream cluster with R3 streams: stream leaders killed or
//! paused, a rolling restart, quorum lost and regained, a replica's own node lost. Each
//! prints the time without intake, the messages redelivered and the digests the duplicate
//! window dropped; the invariant checker judges every digest.

mod broker;
mod leaders;
mod nodes;

use super::{HEAVY, PATIENCE};
use crate::harness::bus::{
    stored_messages, stored_range, stream_bounds, DEAD_LETTER_STREAM, DIGEST_STREAM, INPUT_STREAM,
};
use crate::harness::trail::judge;
use crate::harness::{
    DigestLog, IntakeWatch, Model, Replica, ServiceEnv, SteadyTraffic, StoreKind, TestBus, TestEvent, Workload,
};
use std::time::{Duration, Instant};
use testkit::eventually;
use testkit::nats_cluster::stream_views;
use testkit::process::free_port;
use testkit::{nats_server_version, NatsCluster, NatsServer};

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
    /// judges every digest the stream holds against the model: each request answered
    /// once, every active version delivered exactly once, in order. A broken guarantee
    /// prints the trail of the alarm at fault, asked of the replicas on `ports`.
    async fn final_check(
        &self,
        digests: &DigestLog,
        model: &Model,
        requests: usize,
        seed: u64,
        ports: &[u16],
    ) -> usize {
        self.bus.wait_drained(PATIENCE * 2).await;
        // The consumer's word is not enough: after a leader loss it has said "nothing
        // pending, nothing unacked" while some events were still to be delivered, and the final
        // digests were then built before them. A work queue holds a message until it is
        // acknowledged, so an empty input stream is the barrier.
        self.assert_input_consumed().await;
        for user in model.users() {
            self.bus.request_digest(&user).await;
        }
        self.bus.wait_drained(PATIENCE * 2).await;
        self.assert_input_consumed().await;
        self.wait_every_request_answered(requests + model.users().len()).await;
        let seen = digests.wait_caught_up(&self.bus, PATIENCE).await;
        let all = judge(&self.bus, ports, model, &seen, seed).await;
        assert_eq!(
            all.len(),
            requests + model.users().len(),
            "each request answered exactly once (seed {seed})"
        );
        all.len()
    }
}

impl ClusterStage {
    /// Waits until the digest stream holds `expected` messages, one per request. Once the
    /// input is drained and consumed it should already, since a request is acknowledged
    /// only after its digest is stored; a quorum-loss run once found 2 of 40 there, the
    /// rest stored later (seed 1796301694017955558), so a shortfall is printed as evidence
    /// of which signal came early, and a digest that never comes fails the scenario.
    async fn wait_every_request_answered(&self, expected: usize) {
        let first = stored_messages(&self.bus, DIGEST_STREAM, PATIENCE).await as usize;
        if first >= expected {
            return;
        }
        let (drained, consumed) = self.bus.consumer_state().await;
        let input = stored_messages(&self.bus, INPUT_STREAM, PATIENCE).await;
        // Each node's own view at this moment, to place the answer that came early.
        let monitors = self.cluster.monitor_urls();
        let views = format!(
            "{}\n{}",
            stream_views(&monitors, INPUT_STREAM).await,
            stream_views(&monitors, DIGEST_STREAM).await
        );
        let started = Instant::now();
        // The stream's count has no event a client can await; ask until it is whole.
        eventually(format!("{expected} digests in the digest stream"), PATIENCE, || async {
            match stored_messages(&self.bus, DIGEST_STREAM, PATIENCE).await as usize {
                n if n >= expected => Ok(()),
                n => Err(format!("{n} stored")),
            }
        })
        .await;
        println!(
            "cluster: with the input reported drained and consumed, the digest stream held {first} of \
             {expected} digests (consumer now: {drained} pending, {consumed} unacked; input stream: {input} \
             messages); the rest were stored within {:.1}s; what each node held when the digests were short:\n{views}",
            started.elapsed().as_secs_f64()
        );
    }

    /// The input stream is a work queue: once the consumer reports nothing pending and
    /// nothing unacknowledged, it must soon hold nothing. Messages still there are printed
    /// with how long they took to go (a redelivery after the ack wait is one); a message
    /// left past `PATIENCE` was never delivered although the consumer counts it done, and
    /// each one is printed in the failure.
    async fn assert_input_consumed(&self) {
        let said = Instant::now();
        let deadline = said + PATIENCE;
        let held = stored_messages(&self.bus, INPUT_STREAM, PATIENCE).await;
        // Each node's own view while the consumer's word and the stream disagree.
        let views = if held > 0 {
            stream_views(&self.cluster.monitor_urls(), INPUT_STREAM).await
        } else {
            String::new()
        };
        // An acknowledged message leaves the stream once the consumer's leader told the
        // stream's: no event a client can await, so ask until it is empty.
        let mut left = held;
        while Instant::now() < deadline {
            if left == 0 {
                if held > 0 {
                    println!(
                        "cluster: the consumer reported nothing pending or unacked while the input stream held \
                         {held} messages; it was empty {:.1}s later; what each node held then:\n{views}",
                        said.elapsed().as_secs_f64()
                    );
                }
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            left = stored_messages(&self.bus, INPUT_STREAM, PATIENCE).await;
        }
        let (first, last) = stream_bounds(&self.bus, INPUT_STREAM, PATIENCE).await;
        let left: Vec<String> = stored_range(&self.bus, INPUT_STREAM, first, last, PATIENCE)
            .await
            .iter()
            .map(|m| format!("#{} {} {}", m.sequence, m.subject, String::from_utf8_lossy(&m.payload)))
            .collect();
        panic!(
            "the consumer reports everything delivered and acknowledged, but the input stream still holds {} \
             messages:\n{}",
            left.len(),
            left.join("\n")
        );
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
