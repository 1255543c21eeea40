//! Publishing to NATS: digests, notifications and dead letters, all through one
//! [`publisher::Publisher`] (JetStream with confirmation, or core NATS); and the
//! dead-letter log read back from its stream.

pub mod dead_letter_log;
pub mod dead_letter_publisher;
pub mod digest_parts;
pub mod digest_publisher;
pub mod notifications;
pub mod publisher;
