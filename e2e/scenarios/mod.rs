//! The scenarios, each against real processes.

mod core_mode;
mod downtime;
mod faults;
mod garbage;
mod history;
mod no_repeat;
mod out_of_order;
mod readme_example;
mod replicas;

use crate::harness::{ServiceEnv, StoreKind, TestBus};
use crate::support::NatsServer;

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

/// How long any single wait may take before the scenario fails.
pub const PATIENCE: std::time::Duration = std::time::Duration::from_secs(60);
