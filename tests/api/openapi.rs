//! `/v1/openapi.json`: a valid OpenAPI 3 document that names every route of the API, and
//! whose documented parameters the server accepts.

use super::server::{event, Api};
use alarm_digest::domain::ports::AlarmStore;
use alarm_digest::http::auth::Tokens;
use serde_json::Value;
use std::collections::BTreeSet;
use std::process::Command;
use std::sync::Arc;

/// The routes the API promises, as `METHOD path`.
const ROUTES: [&str; 30] = [
    "GET /v1/alarms",
    "GET /v1/dead-letters",
    "GET /v1/counts",
    "GET /v1/stats",
    "GET /v1/users/{user_id}/alarms",
    "GET /v1/users/{user_id}/alarms/{alarm_id}",
    "GET /v1/users/{user_id}/alarms/{alarm_id}/events",
    "GET /v1/users/{user_id}/digest/preview",
    "GET /v1/users/{user_id}/digests",
    "POST /v1/events",
    "POST /v1/intake/alertmanager",
    "POST /v1/intake/allma",
    "POST /v1/intake/grafana",
    "POST /v1/users/{user_id}/alarms/{alarm_id}/ack",
    "GET /v1/services",
    "GET /v1/services/{service_id}",
    "POST /v1/services/{service_id}/acknowledge",
    "POST /v1/services/{service_id}/healthy",
    "PUT /v1/services/{service_id}/escalation-policy",
    "GET /v1/services/{service_id}/escalation-policy",
    "DELETE /v1/services/{service_id}/escalation-policy",
    "PUT /v1/users/{user_id}/digest-schedule",
    "GET /v1/users/{user_id}/digest-schedule",
    "DELETE /v1/users/{user_id}/digest-schedule",
    "GET /v1/users/{user_id}/digest-schedule/next",
    "POST /v1/maintenance-windows",
    "GET /v1/maintenance-windows",
    "GET /v1/maintenance-windows/{id}",
    "PATCH /v1/maintenance-windows/{id}",
    "DELETE /v1/maintenance-windows/{id}",
];

async fn document(api: &Api) -> Value {
    let (status, document) = api.get("/v1/openapi.json").await;
    assert_eq!(status, 200, "{document}");
    document
}

/// Each documented operation as `METHOD path` with its operation object.
fn operations(document: &Value) -> Vec<(String, String, Value)> {
    let mut found = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().unwrap() {
            found.push((method.to_uppercase(), path.clone(), operation.clone()));
        }
    }
    found
}

pub async fn the_openapi_document_validates_and_names_every_route(store: Arc<dyn AlarmStore>) {
    let api = Api::start(store, Tokens::default()).await;
    let document = document(&api).await;
    assert!(
        document["openapi"].as_str().unwrap().starts_with("3."),
        "{}",
        document["openapi"]
    );

    let documented: BTreeSet<String> = operations(&document)
        .iter()
        .map(|(method, path, _)| format!("{method} {path}"))
        .collect();
    let promised: BTreeSet<String> = ROUTES.iter().map(|r| r.to_string()).collect();
    assert_eq!(documented, promised);

    for (method, path, operation) in operations(&document) {
        let responses = operation["responses"].as_object().unwrap();
        assert!(
            responses.keys().any(|code| code.starts_with('2')),
            "{method} {path} documents no success"
        );
        for code in ["400", "401", "500", "503"] {
            let problem = &responses[code]["content"]["application/problem+json"]["schema"]["$ref"];
            assert_eq!(problem, "#/components/schemas/Problem", "{method} {path} {code}");
        }
    }

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&document).unwrap()).unwrap();
    let validated = Command::new("openapi-spec-validator")
        .arg(&file)
        .output()
        .expect("openapi-spec-validator on PATH (make tools installs it in .venv)");
    assert!(
        validated.status.success(),
        "{}{}",
        String::from_utf8_lossy(&validated.stdout),
        String::from_utf8_lossy(&validated.stderr)
    );
}

/// A value the schema of a parameter allows, for probing the server with it.
fn sample(schema: &Value, document: &Value) -> String {
    let schema = if schema["type"] == "array" {
        &schema["items"]
    } else {
        schema
    };
    if let Some(name) = schema["$ref"]
        .as_str()
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
    {
        return sample(&document["components"]["schemas"][name], document);
    }
    if let Some(first) = schema["enum"].as_array().and_then(|values| values.first()) {
        return first.as_str().unwrap().to_string();
    }
    let kind = match &schema["type"] {
        Value::Array(kinds) => kinds[0].clone(),
        kind => kind.clone(),
    };
    match (kind.as_str(), schema["format"].as_str()) {
        (_, Some("date-time")) => "2026-01-01T00:00:00.5Z".into(),
        (Some("boolean"), _) => "true".into(),
        (Some("integer"), _) => schema["minimum"].as_u64().unwrap_or(1).to_string(),
        _ => "x".into(),
    }
}

pub async fn every_documented_query_parameter_is_accepted_by_the_server(store: Arc<dyn AlarmStore>) {
    let api = Api::start(store, Tokens::default()).await;
    api.seed(&[event(
        "u1",
        "a1",
        "WARNING",
        "2026-01-01T00:00:00Z",
        "disk",
        "db",
        "Ann",
    )])
    .await;
    let schedule = serde_json::json!({"time_zone": "UTC", "cron": "0 9 * * *"});
    let response = api
        .client
        .put(format!("{}/v1/users/u1/digest-schedule", api.base))
        .json(&schedule)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let document = document(&api).await;
    let mut probed = 0;
    for (method, path, operation) in operations(&document) {
        if method != "GET" {
            continue;
        }
        let path = path.replace("{user_id}", "u1").replace("{alarm_id}", "a1");
        let parameters = operation["parameters"].as_array().cloned().unwrap_or_default();
        for parameter in parameters.iter().filter(|p| p["in"] == "query") {
            let name = parameter["name"].as_str().unwrap();
            if name == "cursor" {
                // Only cursors the API issued are accepted; pagination tests walk them.
                continue;
            }
            let value = sample(&parameter["schema"], &document);
            let (status, body) = api.get(&format!("{path}?{name}={value}")).await;
            assert_eq!(status, 200, "GET {path}?{name}={value}: {body}");
            probed += 1;
        }
    }
    assert!(probed >= 15, "only {probed} query parameters were documented");
}

/// Schemathesis against the live server's own document: every check (server errors, schema
/// and status code conformance, positive and negative data), on a fixed seed unless
/// `SCHEMATHESIS_SEED` says otherwise; `SCHEMATHESIS_EXAMPLES` raises the examples per
/// operation.
pub async fn schemathesis_finds_nothing_against_the_live_document(store: Arc<dyn AlarmStore>) {
    let api = Api::start(store, Tokens::default()).await;
    let seed = std::env::var("SCHEMATHESIS_SEED").unwrap_or_else(|_| "20261124".into());
    let examples = std::env::var("SCHEMATHESIS_EXAMPLES").unwrap_or_else(|_| "40".into());
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/api/schemathesis.toml");
    println!("schemathesis seed {seed}, {examples} examples per operation");
    let base = api.base.clone();
    let run = tokio::task::spawn_blocking(move || {
        Command::new("st")
            .args(["--config-file", config, "run", &format!("{base}/v1/openapi.json")])
            .args(["--checks", "all", "--seed", &seed, "--max-examples", &examples])
            .args(["--no-color"])
            .output()
            .expect("st (schemathesis) on PATH (make tools installs it in .venv)")
    })
    .await
    .unwrap();
    let report = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{report}{}", String::from_utf8_lossy(&run.stderr));
    assert!(report.contains("No issues found"), "{report}");
}
