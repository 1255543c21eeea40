//! The real processes the operations checks run: `alarm-digest serve` and `prometheus`,
//! each on a free port and killed by PID when dropped.

use super::exposition::Exposition;
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};
use tempfile::TempDir;
use testkit::process::{spawn_until_ready, stop};
use testkit::{eventually, free_port, NatsServer};

/// A running `alarm-digest serve` on an SQLite store in a temporary directory.
pub struct Service {
    child: Child,
    /// Its HTTP port.
    pub http_port: u16,
    _dir: TempDir,
}

impl Service {
    /// Starts the service against `nats` and returns once its intake consumes.
    pub fn start(nats: &NatsServer) -> Self {
        Self::start_with(nats, &[])
    }

    /// Starts the service with `settings` (environment variables) added.
    pub fn start_with(nats: &NatsServer, settings: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let http_port = free_port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_alarm-digest"));
        cmd.arg("serve")
            .env("NATS_URL", nats.url())
            .env("STORE_URL", format!("sqlite://{}", dir.path().join("a.db").display()))
            .env("HTTP_ADDR", format!("127.0.0.1:{http_port}"))
            .env("RUST_LOG", "info,async_nats=warn")
            .env("LOG_FORMAT", "text")
            .env("NO_COLOR", "1")
            .envs(settings.iter().copied());
        let (child, _) = spawn_until_ready(cmd, "intake is consuming", Duration::from_secs(60));
        Self {
            child,
            http_port,
            _dir: dir,
        }
    }

    /// `127.0.0.1:PORT` of its HTTP server.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.http_port)
    }

    /// The body of `GET path`, which must succeed.
    pub async fn get(&self, path: &str) -> String {
        let resp = reqwest::get(format!("http://{}{path}", self.address())).await.unwrap();
        assert!(resp.status().is_success(), "GET {path}: {}", resp.status());
        resp.text().await.unwrap()
    }

    /// Its `/metrics` page once `complete` takes it, or the last one after `within`. A
    /// family shows once it has a series (requests with the first request, a store
    /// operation with its first call), so this polls.
    pub async fn exposition_until(&self, within: Duration, complete: impl Fn(&Exposition) -> bool) -> Exposition {
        let deadline = Instant::now() + within;
        loop {
            let exposition = Exposition::parse(&self.get("/metrics").await);
            if complete(&exposition) || Instant::now() > deadline {
                return exposition;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// A running Prometheus with its own storage directory.
pub struct Prometheus {
    child: Child,
    /// Its web and API port.
    pub port: u16,
    _dir: TempDir,
}

impl Prometheus {
    /// Starts `prometheus` with the configuration `config` (YAML, or JSON which is YAML too)
    /// and returns once it serves its API.
    pub fn start(config: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config_path = dir.path().join("prometheus.yml");
        std::fs::write(&config_path, config).unwrap();
        let port = free_port();
        let mut cmd = Command::new("prometheus");
        cmd.arg(format!("--config.file={}", config_path.display()))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"));
        let (child, _) = spawn_until_ready(cmd, "Server is ready to receive web requests", Duration::from_secs(60));
        Self { child, port, _dir: dir }
    }

    /// The result vector of an instant query.
    pub async fn query(&self, promql: &str) -> Vec<serde_json::Value> {
        let url = format!("http://127.0.0.1:{}/api/v1/query", self.port);
        let resp = reqwest::Client::new()
            .get(url)
            .query(&[("query", promql)])
            .send()
            .await
            .unwrap();
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["status"], "success", "query {promql}: {body}");
        body["data"]["result"].as_array().cloned().unwrap_or_default()
    }

    /// The alerting rules it loaded (`/api/v1/rules?type=alert`), each with its `name`,
    /// `state`, `health`, `lastError` and `lastEvaluation`, once every one of them has been
    /// evaluated, or as they are after `within`.
    pub async fn evaluated_alert_rules(&self, within: Duration) -> Vec<serde_json::Value> {
        let url = format!("http://127.0.0.1:{}/api/v1/rules?type=alert", self.port);
        let deadline = Instant::now() + within;
        loop {
            let body: serde_json::Value = reqwest::get(&url).await.unwrap().json().await.unwrap();
            assert_eq!(body["status"], "success", "rules: {body}");
            let rules: Vec<serde_json::Value> = body["data"]["groups"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
                .collect();
            if rules.iter().all(evaluated) || Instant::now() > deadline {
                return rules;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Queries until `accept` takes the result, or panics with the last result after `within`.
    /// Prometheus offers nothing to wait on for "the next scrape landed", so this polls.
    pub async fn await_result(
        &self,
        promql: &str,
        within: Duration,
        accept: impl Fn(&[serde_json::Value]) -> bool,
    ) -> Vec<serde_json::Value> {
        // Prometheus offers nothing to wait on for "the next scrape landed", so this polls.
        eventually(format!("{promql} to give the expected result"), within, || async {
            let result = self.query(promql).await;
            match accept(&result) {
                true => Ok(result),
                false => Err(format!("{result:?}")),
            }
        })
        .await
    }
}

/// Whether Prometheus has evaluated `rule` (it reports the zero time until then).
pub fn evaluated(rule: &serde_json::Value) -> bool {
    rule["lastEvaluation"].as_str().is_some_and(|t| !t.starts_with("0001-"))
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// Runs a command in the repository and returns its stdout; panics with its output if it fails.
pub fn run_in_repo(program: &str, args: &[&str]) -> String {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(program)
        .args(args)
        .current_dir(repo)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} (scripts/ensure-tools.sh installs it): {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{program} {args:?} failed with {}:\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}
