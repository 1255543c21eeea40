//! A private `nats-server -js` on a free port with its own store directory. `NATS_SERVER`
//! names the binary (default: `nats-server` on the PATH), so the same tests run on the
//! current server and on the oldest supported one.

use crate::process::{spawn_until_ready, stop};
use std::process::{Child, Command};
use std::time::Duration;
use tempfile::{NamedTempFile, TempDir};

/// A running nats-server, killed when dropped.
pub struct NatsServer {
    child: Child,
    /// The client port.
    pub port: u16,
    store: TempDir,
    extra: Vec<String>,
    /// The config file of [`NatsServer::start_with_config`], kept for a restart.
    _config: Option<NamedTempFile>,
}

impl NatsServer {
    /// Starts a JetStream-enabled server on a free port.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts a server with extra command-line arguments (auth, TLS, ...).
    pub fn start_with(extra: &[&str]) -> Self {
        let store = tempfile::tempdir().expect("nats store dir");
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let (child, port) = launch(&store, None, &extra);
        Self {
            child,
            port,
            store,
            extra,
            _config: None,
        }
    }

    /// Starts a server that also reads `config` (nats-server's config syntax), for the
    /// settings that have no command-line flag; the flags still set the address, the port
    /// and the store directory.
    pub fn start_with_config(config: &str) -> Self {
        let mut file = tempfile::Builder::new()
            .suffix(".conf")
            .tempfile()
            .expect("nats config file");
        std::io::Write::write_all(&mut file, config.as_bytes()).expect("writing the nats config file");
        let path = file.path().to_str().expect("a UTF-8 temporary path").to_string();
        let mut server = Self::start_with(&["-c", &path]);
        server._config = Some(file);
        server
    }

    /// Starts a server whose JetStream syncs its files to disk every `sync_interval`
    /// (`"always"`: before each write is acknowledged; `"1s"`, ...); `None` keeps the
    /// server default (every two minutes).
    pub fn start_with_sync(sync_interval: Option<&str>) -> Self {
        match sync_interval {
            Some(every) => Self::start_with_config(&format!("jetstream {{ sync_interval: {every} }}\n")),
            None => Self::start(),
        }
    }

    /// `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Kills the server (like a crash) and starts it again on the same port and store.
    pub fn restart(&mut self) {
        stop(&mut self.child);
        let (child, _) = launch(&self.store, Some(self.port), &self.extra);
        self.child = child;
    }

    /// Kills the server without restarting it.
    pub fn stop(&mut self) {
        stop(&mut self.child);
    }
}

/// Starts nats-server and returns once it says it is ready, with the port it listens on.
fn launch(store: &TempDir, port: Option<u16>, extra: &[String]) -> (Child, u16) {
    let mut cmd = Command::new(nats_server_binary());
    let port_arg = port.map_or("-1".to_string(), |p| p.to_string());
    cmd.args(["-js", "-a", "127.0.0.1", "-p", &port_arg, "-sd"])
        .arg(store.path())
        .args(extra);
    let (child, lines) = spawn_until_ready(cmd, "Server is ready", Duration::from_secs(20));
    let port = lines
        .iter()
        .find_map(|l| l.split("Listening for client connections on ").nth(1))
        .and_then(|addr| addr.rsplit(':').next())
        .and_then(|p| p.trim().parse().ok())
        .expect("nats-server printed its client port");
    (child, port)
}

/// The nats-server binary the tests run: `NATS_SERVER`, else `nats-server` on the PATH.
pub fn nats_server_binary() -> String {
    std::env::var("NATS_SERVER")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "nats-server".to_string())
}

/// The version the binary reports, such as `2.15.1`, printed by tests with their figures.
pub fn nats_server_version() -> String {
    let out = Command::new(nats_server_binary())
        .arg("--version")
        .output()
        .expect("nats-server --version");
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim().trim_start_matches("nats-server: v").to_string()
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}
