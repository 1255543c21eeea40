//! The use cases of alarm-digest: the only callers of the ports of [`domain`].
//!
//! - [`alarms`]: apply status changes (paging on CRITICAL when asked), record acknowledgements.
//! - [`digests`]: send a user's digest exactly once per version, preview it with reasons.
//! - [`queries`]: one alarm, listings, history, totals and statistics.
//! - [`pager`]: alerts, escalation timeouts, acknowledgements and policies.
//! - [`retention`]: keeps the store flat (cleared alarms, tombstones, sent notifications,
//!   histories beyond their bound).
//! - [`schedules`]: each user's digest sent on their own schedule, in their time zone.
//! - [`dead_letters`]: reads refused input back from the dead-letter log.
//! - [`health`] and [`heartbeat`]: what readiness reports, from what the use cases saw.
//! - [`observer`]: the port through which they report what they did (metrics count it).

pub mod alarms;
pub mod dead_letters;
pub mod digests;
pub mod health;
pub mod heartbeat;
pub mod observer;
pub mod pager;
pub mod queries;
pub mod retention;
pub mod schedules;
