//! What the workspace's tests and benchmarks share, as a dev-only crate (no package has it
//! as a normal dependency):
//!
//! - servers on free ports, each killed by its PID when dropped (also when a test panics):
//!   [`NatsServer`], [`NatsCluster`], the MongoDB-wire server behind [`mongo_uri`] and
//!   [`SecantusServer`]; [`process`] for any other one;
//! - fixtures that clean up on `Drop`: [`TestDatabase`], a MongoDB database of one test;
//! - [`eventually`], the one way a test waits for something it cannot await;
//! - the service from outside: [`Replica`] (the `alarm-digest` binary, started once
//!   `/readyz` says ready), [`TestBus`] (a producer's and a downstream consumer's NATS
//!   client) and [`model`] (what was published, what must come out, and the checker);
//! - [`markdown`]: just enough Markdown to test the documents against what they describe;
//! - [`engine`]: the storage engines' own speed, the ceiling the benchmarks hold the store
//!   adapters against.

pub mod bus;
pub mod engine;
mod eventually;
pub mod markdown;
pub mod model;
pub mod mongo;
pub mod nats;
pub mod nats_cluster;
pub mod process;
pub mod replica;

pub use bus::{DigestLog, TestBus};
pub use eventually::{eventually, Attempt};
pub use model::{Model, TestEvent, Workload};
pub use mongo::{mongo_replica_set_uri_for, mongo_uri, mongo_uri_for, unique_database, SecantusServer, TestDatabase};
pub use nats::{nats_server_version, NatsServer};
pub use nats_cluster::NatsCluster;
pub use process::free_port;
pub use replica::{Replica, ServiceEnv, StoreKind};

/// The workspace's root directory, where `ops/`, `docs/` and `.venv/` are.
pub fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/testkit sits two levels under the workspace root")
        .to_path_buf()
}
