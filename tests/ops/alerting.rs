//! The service's own alert rules (`ops/prometheus/alerts.yml`): promtool accepts them and
//! their unit tests pass; each is labelled, annotated and linked to a section of
//! `docs/RUNBOOK.md`; each has a firing and a not-firing case; what each selects is
//! exported by the running service; Alertmanager sends them to the service's own intake.

use super::markdown::anchors;
use super::processes::{run_in_repo, Service};
use super::promql::selectors;
use super::selection::{problems, service_selectors};
use super::{repo_file, repo_yaml};
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Duration;
use testkit::NatsServer;

/// The rules, as Prometheus loads them.
pub const RULES: &str = "ops/prometheus/alerts.yml";
const RULE_TESTS: &str = "ops/prometheus/alerts_test.yml";
const RUNBOOK: &str = "docs/RUNBOOK.md";
const ALERTMANAGER_CONFIG: &str = "ops/alertmanager/alertmanager.yml";
/// Where Alertmanager posts: the service's own intake, for the on-call user.
const INTAKE_URL: &str = "http://alarm-digest:8080/v1/intake/alertmanager?user=alarm-digest-oncall";

/// One alerting rule of the rules file.
pub struct AlertRule {
    /// `alert:`, its name.
    pub name: String,
    /// Its PromQL expression.
    pub expr: String,
    labels: Value,
    annotations: Value,
}

/// Every alerting rule of the rules file, in order.
pub fn alert_rules() -> Vec<AlertRule> {
    let file = repo_yaml(RULES);
    let rules: Vec<AlertRule> = file["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap().iter())
        .filter_map(|r| {
            Some(AlertRule {
                name: r["alert"].as_str()?.to_string(),
                expr: r["expr"].as_str().unwrap().to_string(),
                labels: r["labels"].clone(),
                annotations: r["annotations"].clone(),
            })
        })
        .collect();
    assert!(!rules.is_empty(), "{RULES} has no alerting rule");
    rules
}

#[test]
fn promtool_accepts_the_alert_rules() {
    let out = run_in_repo("promtool", &["check", "rules", RULES]);
    let expected = format!("SUCCESS: {} rules found", alert_rules().len());
    assert!(out.contains(&expected), "expected {expected:?} in:\n{out}");
}

#[test]
fn promtool_passes_the_unit_tests_of_the_alert_rules() {
    let out = run_in_repo("promtool", &["test", "rules", RULE_TESTS]);
    assert!(out.contains("SUCCESS"), "{out}");
}

#[test]
fn every_alert_rule_has_a_severity_a_summary_a_description_and_a_runbook_link() {
    let mut bases = BTreeSet::new();
    for rule in alert_rules() {
        let name = &rule.name;
        let severity = rule.labels["severity"].as_str().unwrap_or("");
        assert!(
            ["critical", "warning"].contains(&severity),
            "{name}: severity {severity:?}"
        );
        for annotation in ["summary", "description", "runbook_url"] {
            let text = rule.annotations[annotation].as_str().unwrap_or("");
            assert!(!text.trim().is_empty(), "{name} has no {annotation}");
        }
        let url = rule.annotations["runbook_url"].as_str().unwrap();
        let (base, _) = url
            .split_once('#')
            .unwrap_or_else(|| panic!("{name}: {url} has no anchor"));
        assert!(base.ends_with("/docs/RUNBOOK.md"), "{name}: {url}");
        bases.insert(base.to_string());
    }
    assert_eq!(bases.len(), 1, "every runbook_url shares one runbook_base: {bases:?}");
}

#[test]
fn every_runbook_link_points_at_a_section_of_the_runbook() {
    let sections = anchors(&repo_file(RUNBOOK));
    for rule in alert_rules() {
        let url = rule.annotations["runbook_url"].as_str().unwrap();
        let anchor = url.rsplit_once('#').map(|(_, a)| a).unwrap_or("");
        assert!(
            sections.contains(anchor),
            "{}: {RUNBOOK} has no heading with the anchor #{anchor}; it has {sections:?}",
            rule.name
        );
    }
}

#[test]
fn every_alert_rule_has_a_firing_and_a_not_firing_case_in_its_unit_tests() {
    let tests = repo_yaml(RULE_TESTS);
    let files: Vec<&str> = tests["rule_files"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(files, ["alerts.yml"], "{RULE_TESTS} tests {RULES}");
    let cases: Vec<&Value> = tests["tests"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["alert_rule_test"].as_array().into_iter().flatten())
        .collect();
    for rule in alert_rules() {
        let name = rule.name.as_str();
        let of_rule: Vec<&Value> = cases.iter().copied().filter(|c| c["alertname"] == name).collect();
        let firing: Vec<&Value> = of_rule
            .iter()
            .flat_map(|c| c["exp_alerts"].as_array().into_iter().flatten())
            .collect();
        assert!(!firing.is_empty(), "{name} has no case where it fires");
        assert!(
            of_rule
                .iter()
                .any(|c| c["exp_alerts"].as_array().is_none_or(|a| a.is_empty())),
            "{name} has no case where it stays quiet"
        );
        for alert in firing {
            // The dashboard's Firing alerts panel selects them by job.
            assert_eq!(alert["exp_labels"]["job"], "alarm-digest", "{name}: {alert}");
            assert_eq!(
                alert["exp_labels"]["severity"], rule.labels["severity"],
                "{name}: {alert}"
            );
            for annotation in ["summary", "description", "runbook_url"] {
                assert!(
                    alert["exp_annotations"][annotation].is_string(),
                    "{name}: a firing case does not check its {annotation}"
                );
            }
        }
    }
}

#[tokio::test]
async fn every_metric_label_and_value_the_alert_rules_select_is_exported_by_the_service() {
    let nats = NatsServer::start();
    // Sweeps every second, so retention's store operations have their series.
    let (service, _nats) =
        tokio::task::spawn_blocking(move || (Service::start_with(&nats, &[("RETENTION_INTERVAL", "1s")]), nats))
            .await
            .unwrap();
    service.get("/healthz").await;
    service.get("/readyz").await;
    let rules = alert_rules();
    let exposition = service
        .exposition_until(Duration::from_secs(20), |page| {
            rules.iter().all(|r| {
                problems(&r.expr, page).is_empty()
                    && service_selectors(&r.expr).iter().all(|s| page.has_samples(&s.metric))
            })
        })
        .await;
    for rule in &rules {
        assert!(!selectors(&rule.expr).is_empty(), "{} selects nothing", rule.name);
        let found = problems(&rule.expr, &exposition);
        assert!(found.is_empty(), "{}: {found:?}", rule.name);
    }
}

#[test]
fn amtool_accepts_the_alertmanager_config() {
    let out = run_in_repo("amtool", &["check-config", ALERTMANAGER_CONFIG]);
    assert!(out.contains("SUCCESS"), "{out}");
}

#[test]
fn alertmanager_sends_every_alert_and_its_resolution_to_the_services_own_intake() {
    let config = repo_yaml(ALERTMANAGER_CONFIG);
    let route = &config["route"];
    assert!(
        route.get("routes").is_none(),
        "no sub-route takes alerts elsewhere: {route}"
    );
    let receiver = config["receivers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == route["receiver"])
        .expect("the route's receiver is defined");
    let hooks = receiver["webhook_configs"].as_array().expect("a webhook receiver");
    assert_eq!(hooks.len(), 1, "{receiver}");
    assert_eq!(hooks[0]["url"], INTAKE_URL);
    assert_eq!(hooks[0]["send_resolved"], true);
}

#[test]
fn compose_runs_alertmanager_and_prometheus_loads_the_rules_and_sends_alerts_to_it() {
    let prometheus = repo_yaml("ops/prometheus/prometheus.yml");
    let rule_files: Vec<&str> = prometheus["rule_files"]
        .as_array()
        .expect("prometheus.yml has rule_files")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    // Prometheus resolves them from its config file's directory, here and in the container.
    assert_eq!(rule_files, ["alerts.yml"]);
    let targets = &prometheus["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"];
    assert_eq!(targets[0], "alertmanager:9093");

    let resolved = run_in_repo("docker-compose", &["-f", "docker-compose.yml", "config"]);
    let compose: Value = serde_yaml_ng::from_str(&resolved).unwrap();
    // `source:target` of each mount, whether compose wrote it short (v1) or long (v2).
    let mounts = |service: &str| -> Vec<String> {
        compose["services"][service]["volumes"]
            .as_array()
            .unwrap_or_else(|| panic!("{service} has volumes"))
            .iter()
            .map(|v| match v.as_str() {
                Some(short) => short.split(':').take(2).collect::<Vec<_>>().join(":"),
                None => format!(
                    "{}:{}",
                    v["source"].as_str().unwrap_or(""),
                    v["target"].as_str().unwrap_or("")
                ),
            })
            .collect()
    };
    let repo = env!("CARGO_MANIFEST_DIR");
    let mounted = |service: &str, file: &str, at: &str| {
        let wanted = format!("{repo}/{file}:{at}");
        assert!(
            mounts(service).contains(&wanted),
            "{service} mounts {wanted}: {:?}",
            mounts(service)
        );
    };
    mounted(
        "prometheus",
        "ops/prometheus/prometheus.yml",
        "/etc/prometheus/prometheus.yml",
    );
    mounted("prometheus", RULES, "/etc/prometheus/alerts.yml");
    mounted(
        "alertmanager",
        ALERTMANAGER_CONFIG,
        "/etc/alertmanager/alertmanager.yml",
    );
    let alertmanager = &compose["services"]["alertmanager"];
    let image = alertmanager["image"].as_str().unwrap();
    assert!(image.starts_with("prom/alertmanager:v"), "a pinned release: {image}");
    let command = alertmanager["command"].to_string();
    assert!(
        command.contains("--config.file=/etc/alertmanager/alertmanager.yml"),
        "{command}"
    );
}
