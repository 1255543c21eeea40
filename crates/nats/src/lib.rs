//! The NATS adapters: the connection, the streams and the consumer watch; [`inbound`]
//! (intake: parse, call a use case, settle) and [`outbound`] (digests, notifications and
//! dead letters out).

pub mod backlog;
pub mod connect;
pub mod inbound;
pub mod observer;
pub mod outbound;
pub mod service;
pub mod streams;
