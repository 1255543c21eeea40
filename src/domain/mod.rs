//! The domain: alarm state, the digest rule and the ports adapters implement; no IO here.

pub mod alarm;
pub mod digest;
pub mod episodes;
pub mod ids;
pub mod ports;
pub mod query;
pub mod status;
pub mod time;

pub use alarm::{AlarmEvent, AlarmMetadata, AlarmState, ApplyOutcome, StatusRegisters, Version};
pub use digest::{Digest, DigestId, DueAlarm};
pub use ids::{AlarmId, IdError, UserId};
pub use status::{Status, UnknownStatus};
pub use time::{EventTime, TimeError};
