//! alarm-digest turns a stream of alarm status changes into de-duplicated digests.
//!
//! - [`domain`]: alarm state, the digest rule and the ports; synchronous, no IO.
//! - [`service`]: the use cases over the ports: apply events, send a digest.
//! - [`pager`]: on-call paging: alerts, escalation timeouts, acknowledgements.
//! - [`store`]: the store port over SQLite (embedded default) and MongoDB (replicas).
//! - [`bus`]: NATS: wire formats, intake, digest and dead-letter publishing.
//! - [`http`]: health, readiness, metrics and the `/v1` API (problem+json errors, tokens).
//! - [`load`]: the load generator (`alarm-digest load`): seeded traffic published to NATS.
//! - [`app`]: wiring and shutdown; [`config`], [`telemetry`], [`metrics`], [`health`].
//! - [`faults`]: fault injection the fault tests switch on.

pub mod app;
pub mod bus;
pub mod config;
pub mod domain;
pub mod faults;
pub mod health;
pub mod http;
pub mod load;
pub mod metrics;
pub mod pager;
pub mod service;
pub mod store;
pub mod telemetry;
pub mod tools;
