//! A real Alertmanager (Debian's `prometheus-alertmanager`) routing to the service's
//! Alertmanager intake, and a real Prometheus evaluating rules into it, each on free ports
//! with its own files, killed by PID when dropped.

use std::process::{Child, Command};
use std::time::Duration;
use tempfile::TempDir;
use testkit::process::{free_port, spawn_until_ready, stop};

/// How long a binary may take to say it is ready.
const START: Duration = Duration::from_secs(60);

/// The Alertmanager binary: `ALERTMANAGER`, else Debian's name, else upstream's.
fn alertmanager_binary() -> String {
    std::env::var("ALERTMANAGER").ok().unwrap_or_else(|| {
        if std::path::Path::new("/usr/bin/prometheus-alertmanager").exists() {
            "/usr/bin/prometheus-alertmanager".into()
        } else {
            "alertmanager".into()
        }
    })
}

/// A running Alertmanager.
pub struct Alertmanager {
    child: Child,
    /// Its API and UI port.
    pub port: u16,
    _dir: TempDir,
}

impl Alertmanager {
    /// Starts one whose only route sends every alert (grouped by alert name and instance,
    /// at once, every second) to `webhook`, with `send_resolved` and, when given, the
    /// bearer `token` as Alertmanager's `http_config.authorization` sends it.
    pub fn start(webhook: &str, token: Option<&str>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let authorization = token
            .map(|t| {
                format!("\n    http_config:\n      authorization:\n        type: Bearer\n        credentials: {t}")
            })
            .unwrap_or_default();
        let config = format!(
            "route:\n  receiver: alarm-digest\n  group_by: [alertname, instance]\n  group_wait: 1s\n  \
             group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n- name: alarm-digest\n  webhook_configs:\n  \
             - url: \"{webhook}\"\n    send_resolved: true{authorization}\n"
        );
        let file = dir.path().join("alertmanager.yml");
        std::fs::write(&file, config).unwrap();
        let mut cmd = Command::new(alertmanager_binary());
        cmd.arg(format!("--config.file={}", file.display()))
            .arg(format!("--storage.path={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=");
        let (child, _) = spawn_until_ready(cmd, "Listening on", START);
        Self { child, port, _dir: dir }
    }

    /// Posts alerts to Alertmanager's own API, as Prometheus does.
    pub async fn post_alerts(&self, alerts: serde_json::Value) {
        let response = reqwest::Client::new()
            .post(format!("http://127.0.0.1:{}/api/v2/alerts", self.port))
            .json(&alerts)
            .send()
            .await
            .expect("Alertmanager answers");
        assert!(
            response.status().is_success(),
            "Alertmanager took the alerts: {response:?}"
        );
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// A running Prometheus.
pub struct Prometheus {
    child: Child,
    _dir: TempDir,
}

impl Prometheus {
    /// Starts one that evaluates `rules` (a rules file's YAML) every second and sends what
    /// fires to the Alertmanager on `alertmanager_port`, again at every evaluation: an alert
    /// fired before Prometheus has found its Alertmanager is dropped, and would otherwise
    /// only be sent again a minute later (`--rules.alert.resend-delay`).
    pub fn start(rules: &str, alertmanager_port: u16) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("rules.yml"), rules).unwrap();
        let config = format!(
            "global:\n  evaluation_interval: 1s\nrule_files: [rules.yml]\nalerting:\n  alertmanagers:\n  \
             - static_configs:\n    - targets: [\"127.0.0.1:{alertmanager_port}\"]\n"
        );
        let file = dir.path().join("prometheus.yml");
        std::fs::write(&file, config).unwrap();
        let mut cmd = Command::new("prometheus");
        cmd.arg(format!("--config.file={}", file.display()))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{}", free_port()))
            .arg("--rules.alert.resend-delay=1s");
        let (child, _) = spawn_until_ready(cmd, "Server is ready to receive web requests", START);
        Self { child, _dir: dir }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}
