//! Real servers for tests: nats-server and a MongoDB-wire server on free ports, stopped by PID.
#![allow(dead_code, unused_imports)]

pub mod mongo;
pub mod nats;
pub mod process;

pub use mongo::{mongo_uri, mongo_uri_for, unique_database, SecantusServer};
pub use nats::NatsServer;
pub use process::free_port;
