//! alarm-digest turns a stream of alarm status changes into de-duplicated digests.
//!
//! This package is the composition root of the workspace (see docs/ARCHITECTURE.md): it
//! reads the configuration, builds the adapters, hands them to the use cases and runs them
//! until a signal. The layers live in their own crates, re-exported here under the names
//! the binary and the tests use:
//!
//! - [`domain`]: alarm state, the digest rule and the ports; synchronous, no IO.
//! - [`digests`], [`pager`], [`retention`], [`dead_letters`], [`health`]: the use cases
//!   (crate `usecases`), the only callers of the ports.
//! - [`store`]: the store port over SQLite (embedded default) and MongoDB, chosen by URL.
//! - [`bus`]: the NATS adapters (crate `nats`); [`wire`]: the JSON message formats.
//! - [`http`] and [`console`]: the API and the web console (crate `web`).
//! - [`app`]: wiring and shutdown; [`config`], [`telemetry`], [`metrics`]; [`load`]: the
//!   load generator; [`tools`]: `pub`/`sub`; [`faults`]: fault injection for the fault tests.

pub use domain;
pub use nats as bus;
pub use usecases::{alarms, dead_letters, digests, health, pager, queries, retention, schedules};
pub use web::{api as http, console};
pub use wire;

pub mod app;
pub mod config;
pub mod faults;
pub mod load;
pub mod metrics;
pub mod store;
pub mod telemetry;
pub mod tools;
