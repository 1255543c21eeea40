//! Liveness and readiness: NATS connected, store answering, intake consuming.

use crate::domain::ports::{AlarmStore, StoreError};
use async_nats::connection::State;
use async_nats::Client;
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// What readiness is made of.
pub struct Health {
    nats: Client,
    store: AtomicBool,
    intake: AtomicBool,
    last_store_error: Mutex<Option<String>>,
}

/// The readiness report served on `/readyz`.
#[derive(Debug, Serialize)]
pub struct Readiness {
    /// All parts are ready.
    pub ready: bool,
    /// NATS connection state.
    pub nats: &'static str,
    /// Store state.
    pub store: &'static str,
    /// Intake state.
    pub intake: &'static str,
    /// The last store error while it is down.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store_error: Option<String>,
}

impl Health {
    /// Tracks readiness of this client's connection.
    pub fn new(nats: Client) -> Arc<Self> {
        Arc::new(Self {
            nats,
            store: AtomicBool::new(false),
            intake: AtomicBool::new(false),
            last_store_error: Mutex::new(None),
        })
    }

    /// The store answered.
    pub fn store_ok(&self) {
        if !self.store.swap(true, Ordering::Relaxed) {
            tracing::info!("store is reachable");
            if let Ok(mut e) = self.last_store_error.lock() {
                *e = None;
            }
        }
    }

    /// The store failed.
    pub fn store_failed(&self, error: &StoreError) {
        if self.store.swap(false, Ordering::Relaxed) {
            tracing::error!(error = %error, "store is unavailable; holding messages until it is back");
        }
        if let Ok(mut e) = self.last_store_error.lock() {
            *e = Some(error.to_string());
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
        let nats = matches!(self.nats.connection_state(), State::Connected);
        let store = self.store.load(Ordering::Relaxed);
        let intake = self.intake.load(Ordering::Relaxed);
        Readiness {
            ready: nats && store && intake,
            nats: if nats { "connected" } else { "disconnected" },
            store: if store { "ok" } else { "unavailable" },
            intake: if intake { "running" } else { "stopped" },
            store_error: if store {
                None
            } else {
                self.last_store_error.lock().ok().and_then(|e| e.clone())
            },
        }
    }

    /// Pings the store every `every` until `stop`, so readiness follows the store even
    /// when no traffic flows.
    pub async fn watch_store(self: Arc<Self>, store: Arc<dyn AlarmStore>, every: Duration, stop: CancellationToken) {
        loop {
            match tokio::time::timeout(every.max(Duration::from_secs(1)) * 2, store.ping()).await {
                Ok(Ok(())) => self.store_ok(),
                Ok(Err(e)) => self.store_failed(&e),
                Err(_) => self.store_failed(&StoreError::Unavailable("ping timed out".into())),
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(every) => {}
            }
        }
    }
}
