//! The web adapters of alarm-digest: the `/v1` HTTP API ([`api`]) and the server-rendered
//! console ([`console`]), over the same use cases.

pub mod api;
pub mod console;
pub mod observer;
