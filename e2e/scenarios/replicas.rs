//! Scenarios 4 and 5: three replicas on MongoDB under concurrent load, with and without a
//! replica killed (SIGKILL) half way; the invariant checker judges every digest.

use super::{Stage, HEAVY, PATIENCE};
use crate::harness::{DigestLog, Model, Replica, StoreKind, TestBus, Workload};

const USERS: usize = 200;
const EVENTS: usize = 20_000;
const REQUESTS: usize = 600;

async fn random_requests(bus: &TestBus, w: &mut Workload, count: usize) -> usize {
    let mut sent = 0;
    while sent < count {
        let user = format!("user-{}", w.below(USERS as u64));
        // Bursts for the same user race across replicas.
        for _ in 0..1 + w.below(3) {
            bus.request_digest(&user).await;
            sent += 1;
        }
    }
    sent
}

async fn replicas_deliver_every_change_once(kill_one: bool) {
    let _one_at_a_time = HEAVY.lock().await;
    let stage = Stage::new(StoreKind::Mongo).await;
    let env = stage.env.with("CLAIM_TTL", "3s").with("CLAIM_WAIT", "20s");
    let mut replicas = [
        Replica::start(&env).await,
        Replica::start(&env).await,
        Replica::start(&env).await,
    ];
    let digests = DigestLog::from_stream(&stage.bus).await;
    let name = if kill_one { "replicas_with_kill" } else { "replicas" };
    let mut w = Workload::seeded(name);
    let mut requests_w = Workload::seeded(&format!("{name} requests"));
    let events = w.events(USERS, 10, EVENTS);
    let mut model = Model::default();
    model.record(&events);

    let (first_half, second_half) = events.split_at(EVENTS / 2);
    let requester = TestBus::connect(&stage.nats.url()).await;
    let started = std::time::Instant::now();
    let (_, sent_early) = tokio::join!(
        stage.bus.publish_events(first_half),
        random_requests(&requester, &mut requests_w, REQUESTS / 2)
    );
    if kill_one {
        replicas[0].kill9();
        replicas[0] = Replica::start(&env).await;
    }
    let (_, sent_late) = tokio::join!(
        stage.bus.publish_events(second_half),
        random_requests(&requester, &mut requests_w, REQUESTS / 2)
    );
    stage.bus.wait_drained(PATIENCE * 6).await;
    for user in model.users() {
        stage.bus.request_digest(&user).await;
    }
    let total = sent_early + sent_late + model.users().len();
    stage.bus.wait_drained(PATIENCE * 2).await;
    let all = digests.wait_caught_up(&stage.bus, PATIENCE).await;
    println!(
        "{name}: {} events, {} digest requests, {} digests, {} alarms delivered, {:.1}s",
        EVENTS,
        total,
        all.len(),
        all.iter().map(|d| d.alarms.len()).sum::<usize>(),
        started.elapsed().as_secs_f64()
    );
    model.check(&all).unwrap_or_else(|e| panic!("seed {}: {e}", w.seed));
    assert_eq!(
        all.len(),
        total,
        "each request answered exactly once, redeliveries included"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_on_mongodb_deliver_every_change_exactly_once() {
    replicas_deliver_every_change_once(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replica_killed_mid_load_loses_nothing_and_sends_nothing_twice() {
    replicas_deliver_every_change_once(true).await;
}
