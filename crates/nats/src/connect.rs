//! Connecting to NATS with the configured credentials and TLS; reconnects forever.

use async_nats::{Client, ConnectOptions, Event, ServerAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Where NATS is and how to authenticate, as the configuration gives it.
#[derive(Debug, Clone, Default)]
pub struct ConnectSettings {
    /// Seed servers; the client also follows the servers a cluster advertises.
    pub servers: Vec<ServerAddr>,
    /// Credentials file (JWT + NKey).
    pub creds: Option<PathBuf>,
    /// User name, with `password`.
    pub user: Option<String>,
    /// Password of `user`.
    pub password: Option<String>,
    /// Token.
    pub token: Option<String>,
    /// CA certificate (PEM) to verify the server; enables TLS.
    pub tls_ca: Option<PathBuf>,
    /// Client certificate (PEM) for mutual TLS, with `tls_key`.
    pub tls_cert: Option<PathBuf>,
    /// Client key (PEM) for mutual TLS.
    pub tls_key: Option<PathBuf>,
    /// How often the client pings its server; a server that misses three pings in a row
    /// (frozen, paused, cut off without a reset) is left for another one. `None`: the
    /// client's default (a minute).
    pub ping_interval: Option<std::time::Duration>,
}

/// Counts of connection events, for metrics.
#[derive(Debug, Default)]
pub struct ConnectionStats {
    /// Times the client connected again after a disconnect.
    pub reconnects: AtomicU64,
    connected_once: std::sync::atomic::AtomicBool,
}

/// Connects (in the background if the server is not up yet) and keeps reconnecting.
pub async fn connect(settings: &ConnectSettings, name: &str) -> anyhow::Result<(Client, Arc<ConnectionStats>)> {
    let stats = Arc::new(ConnectionStats::default());
    let events = Arc::clone(&stats);
    let mut options = ConnectOptions::new()
        .name(name)
        .retry_on_initial_connect()
        .max_reconnects(None)
        .event_callback(move |event| {
            let stats = Arc::clone(&events);
            async move {
                match event {
                    Event::Connected => {
                        if stats.connected_once.swap(true, Ordering::Relaxed) {
                            stats.reconnects.fetch_add(1, Ordering::Relaxed);
                        }
                        tracing::info!("connected to NATS");
                    }
                    Event::Disconnected => tracing::warn!("disconnected from NATS; reconnecting"),
                    other => tracing::info!(event = %other, "NATS connection event"),
                }
            }
        });
    if let Some(every) = settings.ping_interval {
        options = options.ping_interval(every);
    }
    if let Some(path) = &settings.creds {
        options = options.credentials_file(path).await?;
    }
    if let (Some(user), Some(password)) = (&settings.user, &settings.password) {
        options = options.user_and_password(user.clone(), password.clone());
    }
    if let Some(token) = &settings.token {
        options = options.token(token.clone());
    }
    if let Some(ca) = &settings.tls_ca {
        options = options.add_root_certificates(ca.clone()).require_tls(true);
    }
    if let (Some(cert), Some(key)) = (&settings.tls_cert, &settings.tls_key) {
        options = options
            .add_client_certificate(cert.clone(), key.clone())
            .require_tls(true);
    }
    // The seeds are where to start; the client adds the servers the cluster advertises and
    // reconnects to any of them.
    let client = options.connect(settings.servers.as_slice()).await?;
    Ok((client, stats))
}
