//! The scenarios, each against real processes.

mod acknowledgements;
mod alertmanager;
mod churn;
mod cluster;
mod core_mode;
mod crash;
mod downtime;
mod faults;
mod flood;
mod full_disk;
mod garbage;
mod history;
mod large_digest;
mod no_repeat;
mod out_of_order;
mod pager;
mod readme_example;
mod replicas;
mod schedules;
mod security;
mod services_api;
mod soak;

use crate::harness::model::DigestMsg;
use crate::harness::{DigestLog, Model, ServiceEnv, StoreKind, TestBus};
use testkit::NatsServer;

/// A private nats-server, a store, and the test's own client.
pub struct Stage {
    pub nats: NatsServer,
    pub env: ServiceEnv,
    pub bus: TestBus,
}

impl Stage {
    pub async fn new(kind: StoreKind) -> Self {
        let nats = NatsServer::start();
        let env = ServiceEnv::new(nats.url(), kind);
        let bus = TestBus::connect(&nats.url()).await;
        Self { nats, env, bus }
    }
}

/// Once everything published is processed, asks every user of `model` for a digest and
/// returns every digest the digest stream then holds.
pub async fn digests_for_every_user(bus: &TestBus, model: &Model) -> Vec<DigestMsg> {
    bus.wait_drained(PATIENCE).await;
    let digests = DigestLog::from_stream(bus).await;
    for user in model.users() {
        bus.request_digest(&user).await;
    }
    bus.wait_drained(PATIENCE).await;
    digests.wait_caught_up(bus, PATIENCE).await
}

/// The heavy scenarios (three replicas, the flood, the soak) run one at a time: on a small
/// machine they would otherwise fight for the cores, and their figures and deadlines would
/// be about each other rather than about the service.
pub static HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// How long any single wait may take before the scenario fails.
pub const PATIENCE: std::time::Duration = std::time::Duration::from_secs(60);
