//! Publishing to NATS: digests, notifications and dead letters, all through one
//! [`publisher::Publisher`] (JetStream with confirmation, or core NATS); and the
//! dead-letter log read back from its stream.

pub mod dead_letter_log;
pub mod dead_letters;
pub mod digest_parts;
pub mod digests;
pub mod notifications;
pub mod publisher;
