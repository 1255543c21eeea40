//! End-to-end suite: real nats-server, real MongoDB-wire server, the real `alarm-digest`
//! binary as 1 to 3 replicas, talked to only through NATS and HTTP, like users do.

mod harness;
mod scenarios;
