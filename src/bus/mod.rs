//! The NATS adapter: connection, streams, intake, digest, notification and dead-letter publishing.

pub mod backlog;
pub mod confirm;
pub mod connect;
pub mod digest_parts;
pub mod intake;
pub mod notify;
pub mod pager_wire;
pub mod publish;
pub mod receipt;
pub mod streams;
pub mod wire;
#[cfg(test)]
mod wire_properties;
