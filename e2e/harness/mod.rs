//! What only the end-to-end scenarios use to observe the service from outside; what the
//! tests and benchmarks share with them (replicas, the bus, the model) is in the testkit.

pub mod notifications;
pub mod prometheus_stack;
pub mod steady;
pub mod tmpfs;
pub mod trail;

pub use notifications::{levels_and_targets, NotificationLog};
pub use steady::{IntakeWatch, SteadyTraffic};
pub use testkit::{bus, model};
pub use testkit::{DigestLog, Model, Replica, ServiceEnv, StoreKind, TestBus, TestEvent, Workload};
pub use tmpfs::Tmpfs;
