//! Real servers for tests: nats-server and a MongoDB-wire server on free ports, stopped by PID.
#![allow(dead_code, unused_imports)]

pub mod mongo;
pub mod nats;
pub mod nats_cluster;
pub mod process;

pub use mongo::{mongo_uri, mongo_uri_for, unique_database, SecantusServer};
pub use nats::{nats_server_version, NatsServer};
pub use nats_cluster::NatsCluster;
pub use process::free_port;
