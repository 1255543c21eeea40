//! Running replicas of the binary and observing them from outside.

pub mod bus;
pub mod model;
pub mod notifications;
pub mod prometheus_stack;
pub mod replica;
pub mod steady;
pub mod tmpfs;
pub mod trail;

pub use bus::{DigestLog, TestBus};
pub use model::{Model, TestEvent, Workload};
pub use notifications::{levels_and_targets, NotificationLog};
pub use replica::{Replica, ServiceEnv, StoreKind};
pub use steady::{IntakeWatch, SteadyTraffic};
pub use tmpfs::Tmpfs;
