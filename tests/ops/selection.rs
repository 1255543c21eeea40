//! Checks what a query selects against what the service exports: every metric, every label
//! a matcher names, and every value matched exactly.

use super::exposition::Exposition;
use super::promql::{selectors, Selector};

/// Series Prometheus makes itself, not the service.
pub const PROMETHEUS_SERIES: [&str; 3] = ["up", "ALERTS", "ALERTS_FOR_STATE"];

/// Labels Prometheus adds to every scraped series (the target's), not in the exposition.
const TARGET_LABELS: [&str; 2] = ["job", "instance"];

/// Labels whose values appear only as things happen: a fresh replica has answered only
/// the statuses of its first requests (200s; a 503 needs something down).
const VALUES_AS_THEY_HAPPEN: [&str; 1] = ["status"];

/// The selectors of `expr` that name a metric of the service rather than one Prometheus
/// makes.
pub fn service_selectors(expr: &str) -> Vec<Selector> {
    selectors(expr)
        .into_iter()
        .filter(|s| !PROMETHEUS_SERIES.contains(&s.metric.as_str()))
        .collect()
}

/// The values a matcher can be checked against: its value for `=`, each alternative of a
/// plain alternation (`a|b`) for `=~`; none for a pattern or a negative matcher.
fn exact_values(op: &str, value: &str) -> Vec<String> {
    let plain = |v: &str| {
        !v.is_empty()
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '/' | ':'))
    };
    match op {
        "=" if !value.contains('$') => vec![value.to_string()],
        "=~" if value.split('|').all(plain) => value.split('|').map(str::to_string).collect(),
        _ => Vec::new(),
    }
}

/// What `expr` selects that `exposition` does not export, one sentence each.
pub fn problems(expr: &str, exposition: &Exposition) -> Vec<String> {
    let mut found = Vec::new();
    for selector in service_selectors(expr) {
        let metric = &selector.metric;
        if !exposition.names().contains(metric) {
            found.push(format!("{metric} is not exported"));
            continue;
        }
        for m in &selector.matchers {
            if TARGET_LABELS.contains(&m.label.as_str()) {
                continue;
            }
            let values = exposition.label_values(metric, &m.label);
            if values.is_empty() {
                found.push(format!("{metric} has no label {}", m.label));
                continue;
            }
            if VALUES_AS_THEY_HAPPEN.contains(&m.label.as_str()) {
                continue;
            }
            for value in exact_values(&m.op, &m.value) {
                if !values.contains(&value) {
                    found.push(format!(
                        "{metric}{{{}=\"{value}\"}} is never exported; it has {values:?}",
                        m.label
                    ));
                }
            }
        }
    }
    found
}

#[test]
fn a_wrong_metric_label_or_value_is_a_problem_and_variables_and_patterns_are_not_checked() {
    let page = "# TYPE m counter\nm_total{outcome=\"applied\",status=\"200\"} 1\n# EOF\n";
    let exposition = Exposition::parse(page);
    let ok = r#"up == 0 or sum(m_total{job=~"$job", outcome=~"applied", status="503"}) or m_total{outcome=~"a.*"}"#;
    assert_eq!(problems(ok, &exposition), Vec::<String>::new());
    assert_eq!(
        problems(
            r#"n_total + m_total{kind="x"} + m_total{outcome=~"applied|stale"}"#,
            &exposition
        ),
        [
            "n_total is not exported",
            "m_total has no label kind",
            r#"m_total{outcome="stale"} is never exported; it has {"applied"}"#,
        ]
    );
}
