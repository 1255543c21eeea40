//! The Grafana dashboard as the checks read it: its panels, their queries, and its
//! template variables.

use super::repo_file;
use serde_json::Value;

/// The dashboard's file in the repository.
pub const DASHBOARD: &str = "ops/grafana/dashboards/alarm-digest.json";

/// The dashboard, parsed.
pub fn dashboard() -> Value {
    serde_json::from_str(&repo_file(DASHBOARD)).unwrap()
}

/// Every panel, including those nested in collapsed rows.
pub fn panels(dashboard: &Value) -> Vec<&Value> {
    let mut all = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        all.push(panel);
        if let Some(nested) = panel["panels"].as_array() {
            all.extend(nested);
        }
    }
    all
}

/// Every query of every panel, with the title of its panel.
pub fn queries(dashboard: &Value) -> Vec<(String, String)> {
    panels(dashboard)
        .into_iter()
        .flat_map(|panel| {
            let title = panel["title"].as_str().unwrap_or("?").to_string();
            panel["targets"]
                .as_array()
                .into_iter()
                .flatten()
                .map(move |t| (title.clone(), t["expr"].as_str().unwrap_or("").to_string()))
        })
        .collect()
}

/// The template variables, by name.
pub fn variables(dashboard: &Value) -> Vec<(&str, &Value)> {
    dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| (v["name"].as_str().unwrap_or("?"), v))
        .collect()
}

/// The query of a query variable, whether Grafana saved it as a string or an object.
pub fn variable_query(variable: &Value) -> &str {
    variable["query"]
        .as_str()
        .or_else(|| variable["query"]["query"].as_str())
        .unwrap_or("")
}

/// The series selector of a `label_values(selector, label)` variable query.
pub fn label_values_selector(query: &str) -> Option<&str> {
    let inner = query.trim().strip_prefix("label_values(")?.strip_suffix(')')?;
    Some(inner.rsplit_once(',')?.0.trim())
}

/// `expr` as Grafana sends it with every replica of the job `alarm-digest` selected.
pub fn interpolated(expr: &str) -> String {
    expr.replace("$__rate_interval", "1m")
        .replace("$job", "alarm-digest")
        .replace("$instance", ".*")
}

#[test]
fn a_label_values_query_yields_its_selector() {
    assert_eq!(
        label_values_selector(r#"label_values(m_info{job=~"$job"}, instance)"#),
        Some(r#"m_info{job=~"$job"}"#)
    );
    assert_eq!(label_values_selector("up"), None);
}
