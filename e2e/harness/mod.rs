//! Running replicas of the binary and observing them from outside.

pub mod bus;
pub mod model;
pub mod replica;

pub use bus::{DigestLog, TestBus};
pub use model::{Model, TestEvent, Workload};
pub use replica::{Replica, ServiceEnv, StoreKind};
