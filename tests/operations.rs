//! Operations checks that need no Docker engine: the compose file, the Prometheus
//! configuration, a real Prometheus scraping a real service and evaluating the alert rules,
//! the Grafana dashboard against the service's `/metrics`, and the consumer backlog
//! sampler. The alert rules' own checks are in `ops::alerting`; the checks that keep the
//! README and `docs/` true to the code are in `ops::docs`, `ops::docs_tables` and
//! `ops::docs_served`.

mod ops;

use alarm_digest::bus::backlog::{self, BacklogSampling};
use alarm_digest::metrics::Metrics;
use futures::StreamExt;
use ops::dashboard::{self, dashboard, interpolated, label_values_selector, panels, variable_query, variables};
use ops::processes::{evaluated, run_in_repo, Prometheus, Service};
use ops::selection::{problems, service_selectors};
use ops::{alerting, promql, repo_file, repo_yaml};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use testkit::{eventually, NatsServer};
use tokio_util::sync::CancellationToken;

const PROMETHEUS_CONFIG: &str = "ops/prometheus/prometheus.yml";

#[test]
fn docker_compose_accepts_the_compose_file() {
    run_in_repo("docker-compose", &["-f", "docker-compose.yml", "config", "-q"]);
}

#[test]
fn the_current_nats_server_accepts_the_recommended_durability_setting() {
    // `-t` tests the file and exits non-zero on a field the server does not know.
    run_in_repo("nats-server", &["-c", "ops/nats/durable.conf", "-t"]);
}

#[test]
fn the_cluster_override_makes_three_routed_nats_nodes_and_three_stream_replicas() {
    let files = ["-f", "docker-compose.yml", "-f", "docker-compose.cluster.yml", "config"];
    let resolved = run_in_repo("docker-compose", &files);
    let compose: Value = serde_yaml_ng::from_str(&resolved).unwrap();
    let services = compose["services"].as_object().unwrap();
    let routes = "--routes=nats://nats:6222,nats://nats-2:6222,nats://nats-3:6222";
    for (service, name) in [("nats", "nats-1"), ("nats-2", "nats-2"), ("nats-3", "nats-3")] {
        let command: Vec<&str> = services[service]["command"]
            .as_array()
            .unwrap_or_else(|| panic!("{service} has a command"))
            .iter()
            .filter_map(Value::as_str)
            .collect();
        for flag in [
            format!("--server_name={name}"),
            "--cluster_name=alarm-digest".into(),
            routes.into(),
        ] {
            assert!(command.contains(&flag.as_str()), "{service}: {flag} in {command:?}");
        }
        assert_eq!(networks(&services[service]), ["app".to_string()].into(), "{service}");
        assert!(
            command.contains(&"--config=/etc/nats/durable.conf"),
            "{service} runs with the recommended sync: {command:?}"
        );
        let mounts = serde_json::to_string(&services[service]["volumes"]).unwrap();
        assert!(
            mounts.contains("ops/nats/durable.conf") && mounts.contains("/etc/nats/durable.conf"),
            "{service} mounts ops/nats/durable.conf: {mounts}"
        );
    }
    let app = &services["alarm-digest"]["environment"];
    assert_eq!(app["STREAM_REPLICAS"], "3");
    assert_eq!(
        app["NATS_URL"],
        "nats://nats:4222,nats://nats-2:4222,nats://nats-3:4222"
    );
    // The single-node file alone keeps one node and one replica per stream.
    let single: Value =
        serde_yaml_ng::from_str(&run_in_repo("docker-compose", &["-f", "docker-compose.yml", "config"])).unwrap();
    assert!(single["services"].get("nats-2").is_none());
    assert!(single["services"]["alarm-digest"]["environment"]
        .get("STREAM_REPLICAS")
        .is_none());
}

/// The names of a service's networks, whether compose wrote them as a list or a map.
fn networks(service: &Value) -> BTreeSet<String> {
    match &service["networks"] {
        Value::Array(list) => list.iter().filter_map(|n| n.as_str().map(str::to_string)).collect(),
        Value::Object(map) => map.keys().cloned().collect(),
        _ => BTreeSet::new(),
    }
}

#[test]
fn compose_keeps_store_and_broker_off_the_monitoring_network_and_publishes_only_the_dashboards() {
    let resolved = run_in_repo("docker-compose", &["-f", "docker-compose.yml", "config"]);
    let compose: Value = serde_yaml_ng::from_str(&resolved).unwrap();
    let services = compose["services"].as_object().unwrap();
    let set = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    for name in ["nats", "mongo", "alarm-digest", "prometheus", "alertmanager", "grafana"] {
        assert!(services.contains_key(name), "service {name} missing");
    }
    assert_eq!(networks(&services["nats"]), set(&["app"]));
    assert_eq!(networks(&services["mongo"]), set(&["app"]));
    assert_eq!(networks(&services["alarm-digest"]), set(&["app", "monitoring"]));
    assert_eq!(networks(&services["prometheus"]), set(&["monitoring"]));
    assert_eq!(networks(&services["alertmanager"]), set(&["monitoring"]));
    assert_eq!(networks(&services["grafana"]), set(&["monitoring"]));

    let app = &services["alarm-digest"];
    assert_eq!(app["deploy"]["replicas"], 2);
    let store_url = app["environment"]["STORE_URL"].as_str().unwrap();
    assert!(store_url.contains("replicaSet=rs0"), "{store_url}");
    let mongo_check = services["mongo"]["healthcheck"]["test"].to_string();
    assert!(
        mongo_check.contains("rs.initiate"),
        "mongo must initiate its replica set: {mongo_check}"
    );

    let published: BTreeSet<String> = services
        .iter()
        .filter(|(_, s)| {
            s.get("ports")
                .is_some_and(|p| !p.as_array().is_none_or(|a| a.is_empty()))
        })
        .map(|(name, _)| name.clone())
        .collect();
    assert_eq!(published, set(&["grafana", "prometheus"]));
}

#[test]
fn promtool_accepts_the_prometheus_config() {
    let out = run_in_repo("promtool", &["check", "config", PROMETHEUS_CONFIG]);
    assert!(out.contains("SUCCESS"), "{out}");
}

#[test]
fn the_dashboard_reads_the_provisioned_data_source_from_the_provisioned_folder() {
    let datasources = repo_yaml("ops/grafana/provisioning/datasources/prometheus.yml");
    let uid = datasources["datasources"][0]["uid"].as_str().unwrap().to_string();
    let dashboard = dashboard();
    for panel in panels(&dashboard) {
        if panel["type"] == "row" {
            continue;
        }
        assert_eq!(panel["datasource"]["uid"], uid.as_str(), "panel {}", panel["title"]);
    }
    for (name, variable) in variables(&dashboard) {
        assert_eq!(variable["datasource"]["uid"], uid.as_str(), "variable {name}");
    }
    let providers = repo_yaml("ops/grafana/provisioning/dashboards/alarm-digest.yml");
    let folder = providers["providers"][0]["options"]["path"]
        .as_str()
        .unwrap()
        .to_string();
    let compose = repo_file("docker-compose.yml");
    assert!(
        compose.contains(&format!("./ops/grafana/dashboards:{folder}:ro")),
        "docker-compose.yml must mount the dashboards at {folder}"
    );
}

#[tokio::test]
async fn every_metric_label_and_value_the_dashboard_selects_is_exported_by_the_service() {
    let nats = NatsServer::start();
    let (service, _nats) = tokio::task::spawn_blocking(move || (Service::start(&nats), nats))
        .await
        .unwrap();
    let dashboard = dashboard();
    let mut queries = dashboard::queries(&dashboard);
    for (name, variable) in variables(&dashboard) {
        let query = variable_query(variable);
        let selector = label_values_selector(query)
            .unwrap_or_else(|| panic!("variable {name}: {query:?} is not label_values(selector, label)"));
        queries.push((format!("variable {name}"), selector.to_string()));
    }

    // A family shows once it has a series: requests with the first request (the probe is
    // one), store errors with the first store call (the readiness ping).
    service.get("/healthz").await;
    let exposition = service
        .exposition_until(Duration::from_secs(15), |page| {
            queries.iter().all(|(_, expr)| problems(expr, page).is_empty())
        })
        .await;
    for (panel, expr) in &queries {
        assert!(
            !promql::selectors(expr).is_empty(),
            "a query of {panel:?} reads no metric"
        );
        let found = problems(expr, &exposition);
        assert!(found.is_empty(), "{panel:?} queries {expr}: {found:?}");
    }
    // The panels operators were promised: CPU and memory per replica, events by outcome,
    // digest latency, dead letters (a messages outcome), consumer backlog, HTTP errors,
    // the store's size, and the alerts firing.
    let queried: BTreeSet<String> = queries.iter().flat_map(|(_, e)| promql::metric_names(e)).collect();
    for name in [
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "alarm_digest_messages_total",
        "alarm_digest_digest_seconds_bucket",
        "alarm_digest_consumer_pending_messages",
        "alarm_digest_http_request_seconds_count",
        "alarm_digest_alarms_stored",
        "ALERTS",
    ] {
        assert!(queried.contains(name), "the dashboard has no panel on {name}");
    }
}

#[test]
fn every_dashboard_query_is_scoped_by_the_job_and_instance_variables() {
    let dashboard = dashboard();
    let names: Vec<&str> = variables(&dashboard).into_iter().map(|(name, _)| name).collect();
    assert_eq!(names, ["job", "instance"]);
    for (name, variable) in variables(&dashboard) {
        assert_eq!(variable["type"], "query", "variable {name}");
        let query = variable_query(variable);
        assert!(query.ends_with(&format!(", {name})")), "variable {name}: {query}");
    }
    let (_, instance) = variables(&dashboard)[1];
    assert!(
        variable_query(instance).contains(r#"{job=~"$job"}"#),
        "the instances follow the job chosen"
    );

    let scoped = |label: &str, variable: &str, selector: &promql::Selector| {
        selector
            .matchers
            .iter()
            .any(|m| m.label == label && m.op == "=~" && m.value == variable)
    };
    let mut alerts_panel = false;
    for (panel, expr) in dashboard::queries(&dashboard) {
        for selector in promql::selectors(&expr) {
            assert!(scoped("job", "$job", &selector), "{panel:?}: {expr}");
        }
        // Alerts about the job as a whole have no instance: only the job narrows them.
        for selector in service_selectors(&expr) {
            assert!(scoped("instance", "$instance", &selector), "{panel:?}: {expr}");
        }
        alerts_panel |= expr.contains(r#"ALERTS{alertstate="firing""#);
    }
    assert!(alerts_panel, "a panel lists the firing alerts");
}

/// The repository's scrape job for the service, aimed at `target` instead of the compose
/// service name, scraping and evaluating the alert rules every second so the check is quick.
fn scrape_config_for(target: &str) -> String {
    let config = repo_yaml(PROMETHEUS_CONFIG);
    let mut job = config["scrape_configs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|job| job["job_name"] == "alarm-digest")
        .expect("a scrape job named alarm-digest")
        .clone();
    let fields = job.as_object_mut().unwrap();
    fields.retain(|key, _| !key.ends_with("_sd_configs"));
    fields.insert("static_configs".into(), json!([{ "targets": [target] }]));
    fields.insert("scrape_interval".into(), json!("1s"));
    let rules = format!("{}/{}", env!("CARGO_MANIFEST_DIR"), alerting::RULES);
    json!({
        "global": { "scrape_interval": "1s", "evaluation_interval": "1s" },
        "rule_files": [rules],
        "scrape_configs": [job],
    })
    .to_string()
}

#[tokio::test]
async fn prometheus_scrapes_a_running_service_with_the_repository_job_and_evaluates_every_alert_rule() {
    let nats = NatsServer::start();
    let (service, nats) = tokio::task::spawn_blocking(move || (Service::start(&nats), nats))
        .await
        .unwrap();
    let config = scrape_config_for(&service.address());
    let prometheus = tokio::task::spawn_blocking(move || Prometheus::start(&config))
        .await
        .unwrap();

    let js = async_nats::jetstream::new(async_nats::connect(nats.url()).await.unwrap());
    for alarm in ["disk", "cpu", "memory"] {
        let event = json!({
            "UserID": "ops", "AlarmID": alarm, "Status": "CRITICAL", "ChangedAt": "2021-06-07T20:40:15Z"
        });
        js.publish("AlarmStatusChanged", event.to_string().into())
            .await
            .unwrap()
            .await
            .unwrap();
    }

    let within = Duration::from_secs(60);
    prometheus
        .await_result(r#"up{job="alarm-digest"}"#, within, |r| {
            r.first().is_some_and(|s| s["value"][1] == "1")
        })
        .await;
    let series = prometheus
        .await_result(
            r#"alarm_digest_messages_total{job="alarm-digest",outcome="applied"}"#,
            within,
            |r| r.first().is_some_and(|s| s["value"][1] == "3"),
        )
        .await;
    assert_eq!(series[0]["metric"]["subject"], "AlarmStatusChanged");
    assert_eq!(series[0]["metric"]["instance"], service.address().as_str());

    // Every dashboard query is valid PromQL for this Prometheus (query() asserts success),
    // with Grafana's variables replaced as Grafana would.
    for (_, expr) in dashboard::queries(&dashboard()) {
        prometheus.query(&interpolated(&expr)).await;
    }

    // Every alert rule is evaluated on the real series without an error (a vector matching
    // that the real labels make ambiguous, say), and none fires on a healthy service.
    let names: BTreeSet<String> = alerting::alert_rules().into_iter().map(|r| r.name).collect();
    let rules = prometheus.evaluated_alert_rules(within).await;
    let loaded: BTreeSet<String> = rules
        .iter()
        .filter_map(|r| r["name"].as_str().map(str::to_string))
        .collect();
    assert_eq!(loaded, names);
    for rule in &rules {
        assert_eq!(rule["health"], "ok", "{}: {}", rule["name"], rule["lastError"]);
        assert!(evaluated(rule), "{} was never evaluated: {rule}", rule["name"]);
        assert_ne!(
            rule["state"], "firing",
            "{} fires on a healthy service: {rule}",
            rule["name"]
        );
    }
}

#[tokio::test]
async fn backlog_sampler_reports_pending_and_unacknowledged_messages_and_stops_on_shutdown() {
    let nats = NatsServer::start();
    let js = async_nats::jetstream::new(async_nats::connect(nats.url()).await.unwrap());
    let stream = js
        .create_stream(async_nats::jetstream::stream::Config {
            name: "BACKLOG".into(),
            subjects: vec!["backlog".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    let consumer = stream
        .create_consumer(async_nats::jetstream::consumer::pull::Config {
            durable_name: Some("watched".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    for n in 0..3 {
        js.publish("backlog", n.to_string().into())
            .await
            .unwrap()
            .await
            .unwrap();
    }

    let metrics = Arc::new(Metrics::new());
    let stop = CancellationToken::new();
    let sampling = BacklogSampling {
        stream: "BACKLOG".into(),
        consumer: "watched".into(),
        every: Duration::from_millis(100),
    };
    let sampler = tokio::spawn(backlog::sample(
        js.clone(),
        sampling,
        metrics.clone(),
        None,
        stop.clone(),
    ));
    await_page(&metrics, &["alarm_digest_consumer_pending_messages 3\n"]).await;

    // One message handed out and not acknowledged: it moves from pending to ack pending.
    let mut batch = consumer.fetch().max_messages(1).messages().await.unwrap();
    let _unacked = batch.next().await.unwrap().unwrap();
    await_page(
        &metrics,
        &[
            "alarm_digest_consumer_pending_messages 2\n",
            "alarm_digest_consumer_ack_pending_messages 1\n",
        ],
    )
    .await;

    stop.cancel();
    tokio::time::timeout(Duration::from_secs(5), sampler)
        .await
        .expect("the sampler stops when cancelled")
        .unwrap();
}

/// Waits (polling the registry: a sample lands on the sampler's own schedule) until the
/// metrics page contains every one of `lines`.
async fn await_page(metrics: &Metrics, lines: &[&str]) {
    eventually(
        format!("{lines:?} on the metrics page"),
        Duration::from_secs(10),
        || async {
            let page = metrics.encode();
            match lines.iter().all(|l| page.contains(l)) {
                true => Ok(()),
                false => Err(format!("the page is\n{page}")),
            }
        },
    )
    .await;
}
