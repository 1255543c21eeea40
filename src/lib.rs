//! alarm-digest turns a stream of alarm status changes into de-duplicated digests.
//!
//! - [`domain`]: alarm state, the digest rule and the ports; synchronous, no IO.
//! - [`store`]: the store port over SQLite (embedded default) and MongoDB (replicas).

pub mod domain;
pub mod store;
