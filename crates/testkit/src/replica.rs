//! One `alarm-digest serve` process: started until it says intake is consuming, killed by PID.

use crate::support::process::{spawn_keeping_output, stop};
use crate::support::{free_port, mongo_uri_for, unique_database};
use std::process::{Child, Command, ExitStatus};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// Which store the replicas share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// An SQLite file in a temporary directory.
    Sqlite,
    /// A fresh database on the MongoDB-wire test server.
    Mongo,
}

/// What every replica of one scenario is started with.
pub struct ServiceEnv {
    /// NATS URL.
    pub nats_url: String,
    /// STORE_URL shared by the replicas.
    pub store_url: String,
    /// Extra environment (INTAKE, limits, ...).
    pub extra: Vec<(String, String)>,
    _dir: TempDir,
}

impl ServiceEnv {
    /// A store of `kind` for a scenario on `nats_url`.
    pub fn new(nats_url: String, kind: StoreKind) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store_url = match kind {
            StoreKind::Sqlite => format!("sqlite://{}", dir.path().join("alarms.db").display()),
            StoreKind::Mongo => mongo_uri_for(&unique_database("e2e")),
        };
        Self {
            nats_url,
            store_url,
            extra: Vec::new(),
            _dir: dir,
        }
    }

    /// Adds an environment variable for every replica started afterwards.
    pub fn with(mut self, key: &str, value: &str) -> Self {
        self.extra.push((key.to_string(), value.to_string()));
        self
    }
}

/// A running replica.
pub struct Replica {
    child: Child,
    /// Its HTTP port.
    pub http_port: u16,
    /// Every line it printed, when started with [`Replica::start_logged`].
    pub output: Arc<Mutex<Vec<String>>>,
}

impl Replica {
    /// Starts a replica and returns once its intake consumes.
    pub async fn start(env: &ServiceEnv) -> Replica {
        Self::launch(env, &[], false).await
    }

    /// Starts a replica with settings of its own on top of the scenario's.
    pub async fn start_with(env: &ServiceEnv, own: &[(&str, &str)]) -> Replica {
        Self::launch(env, own, false).await
    }

    /// Starts a replica that keeps every line it prints in `output`.
    pub async fn start_logged(env: &ServiceEnv) -> Replica {
        Self::launch(env, &[], true).await
    }

    async fn launch(env: &ServiceEnv, own: &[(&str, &str)], keep_output: bool) -> Replica {
        let http_port = free_port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_alarm-digest"));
        cmd.arg("serve")
            .env("NATS_URL", &env.nats_url)
            .env("STORE_URL", &env.store_url)
            .env("HTTP_ADDR", format!("127.0.0.1:{http_port}"))
            .env("RUST_LOG", "info,async_nats=warn")
            .env("LOG_FORMAT", "text")
            .env("NO_COLOR", "1");
        for (k, v) in &env.extra {
            cmd.env(k, v);
        }
        for (k, v) in own {
            cmd.env(k, v);
        }
        let (child, output) = tokio::task::spawn_blocking(move || {
            spawn_keeping_output(cmd, "intake is consuming", Duration::from_secs(60), keep_output)
        })
        .await
        .unwrap();
        Replica {
            child,
            http_port,
            output,
        }
    }

    /// Waits for the process to exit on its own; its status.
    pub async fn exited(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "the replica did not exit within {timeout:?}");
            // A child's exit has no async notification here; poll its status.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The process's peak resident set (VmHWM), in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM in /proc/PID/status")
    }

    /// Its process id (the benchmark reads its peak memory from /proc).
    #[allow(dead_code)]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, like a crash.
    pub fn kill9(&mut self) {
        stop(&mut self.child);
    }

    /// SIGTERM; returns the exit status and how long the process took to exit.
    pub async fn terminate(&mut self) -> (ExitStatus, Duration) {
        let pid = self.child.id().to_string();
        let started = Instant::now();
        let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(status.success());
        let mut child = std::mem::replace(&mut self.child, Command::new("true").spawn().unwrap());
        let exit = tokio::task::spawn_blocking(move || child.wait().unwrap())
            .await
            .unwrap();
        (exit, started.elapsed())
    }

    /// GET a path of its HTTP server; (status, body).
    pub async fn get(&self, path: &str) -> (u16, String) {
        let resp = reqwest::get(format!("http://127.0.0.1:{}{path}", self.http_port))
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    /// Polls `/readyz` until it answers 200 (`ready`) or 503 (not ready); how long that took.
    pub async fn wait_readiness(&self, ready: bool, timeout: Duration) -> Duration {
        let what = if ready { "ready" } else { "not ready" };
        self.wait_readyz(what, timeout, |status, _| (status == 200) == ready)
            .await
    }

    /// Polls `/readyz` until `pred(status, body)` holds; how long that took.
    pub async fn wait_readyz(&self, what: &str, timeout: Duration, pred: impl Fn(u16, &str) -> bool) -> Duration {
        let started = Instant::now();
        let url = format!("http://127.0.0.1:{}/readyz", self.http_port);
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        loop {
            let answer = match client.get(&url).send().await {
                Ok(r) => Ok((r.status().as_u16(), r.text().await.unwrap_or_default())),
                Err(e) => Err(e),
            };
            if let Ok((status, body)) = &answer {
                if pred(*status, body) {
                    return started.elapsed();
                }
            }
            assert!(
                started.elapsed() < timeout,
                "/readyz did not turn {what} within {timeout:?}: last answer {answer:?}"
            );
            // Readiness is polled by probes too; there is no event to await.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The value of one sample of `/metrics`, 0 when absent.
    pub async fn metric(&self, name_and_labels: &str) -> f64 {
        let (_, body) = self.get("/metrics").await;
        body.lines()
            .find_map(|l| l.strip_prefix(name_and_labels).and_then(|rest| rest.strip_prefix(' ')))
            .map(|v| v.trim().parse().unwrap())
            .unwrap_or(0.0)
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}
