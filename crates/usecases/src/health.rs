//! Liveness and readiness: NATS connected, JetStream answering, store answering, intake consuming.

use crate::heartbeat::StoreHeartbeat;
use domain::ports::{AlarmStore, StoreError};
use serde::Serialize;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// What readiness is made of.
pub struct Health {
    nats_connected: Box<dyn Fn() -> bool + Send + Sync>,
    jetstream: AtomicU8,
    store: AtomicBool,
    intake: AtomicBool,
    /// A store call failed and no ping has succeeded since: until one does, other calls
    /// that succeed (reads, writes with nothing to commit) do not make the store ready,
    /// since on a full disk they go on succeeding while every real write fails.
    failed_since_ping: AtomicBool,
    last_store_error: Mutex<Option<String>>,
}

/// The readiness report served on `/readyz`.
#[derive(Debug, Serialize)]
pub struct Readiness {
    /// All parts are ready.
    pub ready: bool,
    /// NATS connection state.
    pub nats: &'static str,
    /// Whether JetStream answers for the shared consumer (`not_used` in core mode).
    pub jetstream: &'static str,
    /// Store state.
    pub store: &'static str,
    /// Intake state.
    pub intake: &'static str,
    /// The last store error while it is down.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store_error: Option<String>,
}

/// States of JetStream as readiness sees it.
const JETSTREAM_NOT_USED: u8 = 0;
const JETSTREAM_OK: u8 = 1;
const JETSTREAM_UNAVAILABLE: u8 = 2;

impl Health {
    /// Tracks readiness of this client's connection, without JetStream (core mode).
    pub fn new(nats_connected: impl Fn() -> bool + Send + Sync + 'static) -> Arc<Self> {
        Self::build(Box::new(nats_connected), JETSTREAM_NOT_USED)
    }

    /// Tracks readiness of this client's connection and of JetStream, which counts as
    /// unavailable until it first answers.
    pub fn with_jetstream(nats_connected: impl Fn() -> bool + Send + Sync + 'static) -> Arc<Self> {
        Self::build(Box::new(nats_connected), JETSTREAM_UNAVAILABLE)
    }

    fn build(nats_connected: Box<dyn Fn() -> bool + Send + Sync>, jetstream: u8) -> Arc<Self> {
        Arc::new(Self {
            nats_connected,
            jetstream: AtomicU8::new(jetstream),
            store: AtomicBool::new(false),
            intake: AtomicBool::new(false),
            failed_since_ping: AtomicBool::new(false),
            last_store_error: Mutex::new(None),
        })
    }

    /// A store call other than the readiness ping succeeded: the store is ready, unless a
    /// failure since the last ping still waits for a ping to clear it.
    pub fn store_answered(&self) {
        if !self.failed_since_ping.load(Ordering::Relaxed) {
            self.store_ok();
        }
    }

    /// The readiness ping succeeded: the store is ready.
    pub fn store_ok(&self) {
        self.failed_since_ping.store(false, Ordering::Relaxed);
        if !self.store.swap(true, Ordering::Relaxed) {
            tracing::info!("store is reachable");
            if let Ok(mut e) = self.last_store_error.lock() {
                *e = None;
            }
        }
    }

    /// The store failed.
    pub fn store_failed(&self, error: &StoreError) {
        self.failed_since_ping.store(true, Ordering::Relaxed);
        if self.store.swap(false, Ordering::Relaxed) {
            tracing::error!(error = %error, "store is unavailable; holding messages until it is back");
        }
        if let Ok(mut e) = self.last_store_error.lock() {
            *e = Some(error.to_string());
        }
    }

    /// JetStream answered (`true`) or did not answer in time, again (`false`).
    pub fn set_jetstream(&self, answering: bool) {
        let now = if answering { JETSTREAM_OK } else { JETSTREAM_UNAVAILABLE };
        let was = self.jetstream.swap(now, Ordering::Relaxed);
        match (was, now) {
            (JETSTREAM_UNAVAILABLE, JETSTREAM_OK) => tracing::info!("JetStream is answering"),
            (JETSTREAM_OK, JETSTREAM_UNAVAILABLE) => {
                tracing::error!("JetStream is not answering (no leader for the input stream, or no quorum); not ready")
            }
            _ => {}
        }
    }

    /// Intake is (or is no longer) consuming.
    pub fn set_intake(&self, running: bool) {
        let was = self.intake.swap(running, Ordering::Relaxed);
        match (was, running) {
            (false, true) => tracing::info!("intake is consuming"),
            (true, false) => tracing::warn!("intake stopped consuming"),
            _ => {}
        }
    }

    /// The current readiness.
    pub fn readiness(&self) -> Readiness {
        let nats = (self.nats_connected)();
        let jetstream = self.jetstream.load(Ordering::Relaxed);
        let store = self.store.load(Ordering::Relaxed);
        let intake = self.intake.load(Ordering::Relaxed);
        Readiness {
            ready: nats && jetstream != JETSTREAM_UNAVAILABLE && store && intake,
            nats: if nats { "connected" } else { "disconnected" },
            jetstream: match jetstream {
                JETSTREAM_OK => "ok",
                JETSTREAM_UNAVAILABLE => "unavailable",
                _ => "not_used",
            },
            store: if store { "ok" } else { "unavailable" },
            intake: if intake { "running" } else { "stopped" },
            store_error: if store {
                None
            } else {
                self.last_store_error.lock().ok().and_then(|e| e.clone())
            },
        }
    }

    /// Checks the store every `every` until `stop`, so readiness follows the store even
    /// when no traffic flows: a store call that succeeded within the last `every` (the
    /// pager's timer claims, intake, digests) shows it answering; otherwise it is pinged.
    /// So an idle service adds no command of its own to the pager's, and readiness lags
    /// the store by at most `every` plus a ping's timeout, as with a ping each time.
    pub async fn watch_store(
        self: Arc<Self>,
        store: Arc<dyn AlarmStore>,
        heartbeat: Arc<StoreHeartbeat>,
        every: Duration,
        stop: CancellationToken,
    ) {
        loop {
            if !self.failed_since_ping.load(Ordering::Relaxed) && heartbeat.answered_within(every) {
                self.store_answered();
            } else {
                match tokio::time::timeout(every.max(Duration::from_secs(1)) * 2, store.ping()).await {
                    Ok(Ok(())) => self.store_ok(),
                    Ok(Err(e)) => self.store_failed(&e),
                    Err(_) => self.store_failed(&StoreError::Unavailable("ping timed out".into())),
                }
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(every) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Readiness of a process whose NATS connection is down; only the store's part is
    /// looked at.
    async fn health() -> Arc<Health> {
        Health::new(|| false)
    }

    #[tokio::test]
    async fn after_a_store_failure_only_a_ping_makes_the_store_ready_again() {
        let health = health().await;
        health.store_answered();
        assert_eq!(health.readiness().store, "ok");
        health.store_failed(&StoreError::Unavailable("database or disk is full".into()));
        // On a full disk reads and writes with nothing to commit go on succeeding.
        health.store_answered();
        let readiness = health.readiness();
        assert_eq!(readiness.store, "unavailable");
        assert!(readiness.store_error.unwrap().contains("disk is full"));
        health.store_ok();
        assert_eq!(health.readiness().store, "ok");
        health.store_answered();
        assert_eq!(health.readiness().store, "ok");
    }
}
