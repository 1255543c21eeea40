//! The use cases of alarm-digest: the only callers of the ports of [`domain`].
//!
//! - [`digests`]: apply events, acknowledge, send a digest, preview it with reasons,
//!   queries and statistics.
//! - [`pager`]: alerts, escalation timeouts, acknowledgements and policies.
//! - [`retention`]: keeps the store flat (cleared alarms, tombstones, sent notifications).
//! - [`dead_letters`]: reads refused input back from the dead-letter log.
//! - [`health`] and [`heartbeat`]: what readiness reports, from what the use cases saw.
//! - [`observer`]: the port through which they report what they did (metrics count it).

pub mod dead_letters;
pub mod digests;
pub mod health;
pub mod heartbeat;
pub mod observer;
pub mod pager;
pub mod retention;
