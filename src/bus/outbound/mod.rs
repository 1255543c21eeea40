//! Publishing to NATS: digests, notifications and dead letters, all through one
//! [`publisher::Publisher`] (JetStream with confirmation, or core NATS).

pub mod dead_letters;
pub mod digest_parts;
pub mod digests;
pub mod notifications;
pub mod publisher;
