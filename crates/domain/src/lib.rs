//! The domain: alarm state, the digest rule, the pager and the ports adapters implement; no IO here.

pub mod alarm;
pub mod dead_letter;
pub mod digest;
pub mod distribution;
pub mod episodes;
pub mod failure;
pub mod ids;
pub mod pager;
pub mod ports;
pub mod query;
pub mod reason;
pub mod recurrence;
pub mod retention;
pub mod schedule;
pub mod skew;
pub mod status;
pub mod time;

pub use alarm::{AlarmEvent, AlarmMetadata, AlarmState, ApplyOutcome, StatusRegisters, Version};
pub use digest::{Digest, DigestId, DueAlarm};
pub use ids::{AlarmId, IdError, ServiceId, UserId};
pub use reason::Reason;
pub use status::{Status, UnknownStatus};
pub use time::{EventTime, TimeError};
