//! alarm-digest turns a stream of alarm status changes into de-duplicated digests.
//!
//! - [`domain`]: alarm state, the digest rule and the ports; synchronous, no IO.
//! - [`digests`]: the alarm use cases over the ports: apply events, acknowledge, send a
//!   digest, preview it with reasons, queries and statistics.
//! - [`dead_letters`]: the use case that reads refused input back from the dead-letter log.
//! - [`pager`]: the paging use cases: alerts, escalation timeouts, acknowledgements, policies.
//! - [`retention`]: the use case that keeps the store flat: cleared alarms, their
//!   tombstones and sent notifications removed after their retention periods.
//! - [`store`]: the store port over SQLite (embedded default) and MongoDB (replicas).
//! - [`bus`]: NATS: inbound (wire formats, intake, settling) and outbound (digests,
//!   notifications, dead letters).
//! - [`http`]: health, readiness, metrics and the `/v1` API (problem+json errors, tokens).
//! - [`console`]: the web console at `/`: server-rendered pages over the same use cases.
//! - [`load`]: the load generator (`alarm-digest load`): seeded traffic published to NATS.
//! - [`app`]: the composition root, wiring and shutdown; [`config`], [`telemetry`], [`metrics`], [`health`].
//! - [`faults`]: fault injection the fault tests switch on.

pub mod app;
pub mod bus;
pub mod config;
pub mod console;
pub mod dead_letters;
pub mod digests;
pub mod domain;
pub mod faults;
pub mod health;
pub mod http;
pub mod load;
pub mod metrics;
pub mod pager;
pub mod retention;
pub mod store;
pub mod telemetry;
pub mod tools;
