//! One `alarm-digest serve` process: started once `/readyz` answers 200, killed by PID
//! when dropped.

use crate::eventually;
use crate::mongo::TestDatabase;
use crate::process::{free_port, spawn_logged, stop};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// How long a replica may take to become ready: a cold SecantusDB or a JetStream still
/// electing its leaders on a loaded machine takes seconds, not minutes.
const STARTUP: Duration = Duration::from_secs(60);

/// The `alarm-digest` binary: `ALARM_DIGEST_BIN` when set, else the one cargo builds next
/// to the running test or benchmark (`target/<profile>/deps/<test>` has it in
/// `target/<profile>/`), as it does for every integration test and benchmark of the root
/// package.
pub fn service_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("ALARM_DIGEST_BIN").filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("the test's own path");
    let binary = exe
        .ancestors()
        .nth(2)
        .map(|profile| profile.join(format!("alarm-digest{}", std::env::consts::EXE_SUFFIX)))
        .filter(|path| path.exists());
    binary.unwrap_or_else(|| {
        panic!(
            "no alarm-digest binary next to {}; run this as an integration test or benchmark \
             of the root package, or set ALARM_DIGEST_BIN",
            exe.display()
        )
    })
}

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
    /// The MongoDB database of [`StoreKind::Mongo`], dropped with the scenario.
    _database: Option<TestDatabase>,
}

impl ServiceEnv {
    /// A store of `kind` for a scenario on `nats_url`.
    pub fn new(nats_url: String, kind: StoreKind) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let database = (kind == StoreKind::Mongo).then(|| TestDatabase::new("e2e"));
        let store_url = match &database {
            Some(database) => database.uri(),
            None => format!("sqlite://{}", dir.path().join("alarms.db").display()),
        };
        Self {
            nats_url,
            store_url,
            extra: Vec::new(),
            _dir: dir,
            _database: database,
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
    /// Starts a replica and returns once it is ready.
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
        let mut cmd = Command::new(service_binary());
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
        let (child, output) = spawn_logged(cmd, keep_output);
        let mut replica = Replica {
            child,
            http_port,
            output,
        };
        replica.wait_started().await;
        replica
    }

    /// Waits until `/readyz` answers 200, the one sign of a started replica that does not
    /// depend on what it logs; panics with what it printed if it exits first.
    async fn wait_started(&mut self) {
        let url = format!("http://127.0.0.1:{}/readyz", self.http_port);
        let client = probe_client();
        let child = &mut self.child;
        let exit = eventually("the replica's /readyz to answer 200", STARTUP, || {
            let exited = child.try_wait().expect("the replica's status");
            let answer = client.get(&url).send();
            async move {
                match exited {
                    Some(status) => Ok(Some(status)),
                    None => match answer.await {
                        Ok(r) if r.status().as_u16() == 200 => Ok(None),
                        Ok(r) => Err(format!("{} {}", r.status(), r.text().await.unwrap_or_default())),
                        Err(e) => Err(e.to_string()),
                    },
                }
            }
        })
        .await;
        if let Some(status) = exit {
            panic!(
                "the replica exited ({status}) before it was ready; its last lines:\n{}",
                self.output.lock().unwrap().join("\n")
            );
        }
    }

    /// Waits for the process to exit on its own; its status.
    pub async fn exited(&mut self, timeout: Duration) -> ExitStatus {
        let child = &mut self.child;
        // A child's exit has no async notification here; poll its status.
        eventually("the replica to exit", timeout, || {
            let status = child.try_wait().unwrap();
            async move { status }
        })
        .await
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
        let client = probe_client();
        // Readiness is polled by probes too; there is no event to await.
        eventually(format!("/readyz to turn {what}"), timeout, || async {
            let answer = client.get(&url).send().await.map_err(|e| e.to_string())?;
            let status = answer.status().as_u16();
            let body = answer.text().await.unwrap_or_default();
            match pred(status, &body) {
                true => Ok(()),
                false => Err(format!("{status} {body}")),
            }
        })
        .await;
        started.elapsed()
    }

    /// Sends `method` to a path of its HTTP server, with `body` as JSON; (status, body as
    /// JSON, `null` when empty).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut request = reqwest::Client::new().request(method, format!("http://127.0.0.1:{}{path}", self.http_port));
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
        (status, body)
    }

    /// PUTs an escalation policy for `service`; panics unless it is stored.
    pub async fn put_policy(&self, service: &str, policy: &serde_json::Value) {
        let url = format!(
            "http://127.0.0.1:{}/v1/services/{service}/escalation-policy",
            self.http_port
        );
        let response = reqwest::Client::new().put(url).json(policy).send().await.unwrap();
        assert!(response.status().is_success(), "{}", response.text().await.unwrap());
    }

    /// `GET /v1/services/{service}` as JSON.
    pub async fn service(&self, service: &str) -> serde_json::Value {
        let (status, body) = self.get(&format!("/v1/services/{service}")).await;
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    }

    /// Polls the service's state until `pred` holds, or panics after `timeout`. The state
    /// lives in the store; there is no event to await from outside.
    pub async fn wait_for_service(
        &self,
        service: &str,
        timeout: Duration,
        what: &str,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) {
        eventually(what, timeout, || async {
            let state = self.service(service).await;
            match pred(&state) {
                true => Ok(()),
                false => Err(format!("service {service} is {state}")),
            }
        })
        .await
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

/// An HTTP client for readiness probes: one that stopped answering must not hang a wait.
fn probe_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .expect("an HTTP client")
}
