//! What a `/metrics` page lets a query select: sample names, plus the names each declared
//! family yields (so a family with no samples yet still counts).

use std::collections::BTreeSet;

/// Every series name a query may select from an OpenMetrics or Prometheus text page.
pub fn selectable_names(page: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in page.lines() {
        if let Some(declaration) = line.strip_prefix("# TYPE ") {
            let mut parts = declaration.split_whitespace();
            if let (Some(family), Some(kind)) = (parts.next(), parts.next()) {
                let suffixes: &[&str] = match kind {
                    "counter" => &["_total", "_created"],
                    "histogram" => &["_bucket", "_sum", "_count", "_created"],
                    "gaugehistogram" => &["_bucket", "_gsum", "_gcount"],
                    "summary" => &["", "_sum", "_count", "_created"],
                    "info" => &["_info"],
                    _ => &[""],
                };
                for suffix in suffixes {
                    // A Prometheus-format counter already ends in _total.
                    if !(kind == "counter" && family.ends_with("_total") && *suffix == "_total") {
                        names.insert(format!("{family}{suffix}"));
                    }
                }
                if kind == "counter" && family.ends_with("_total") {
                    names.insert(family.to_string());
                }
            }
        } else if !line.starts_with('#') && !line.trim().is_empty() {
            let end = line.find(['{', ' ']).unwrap_or(line.len());
            names.insert(line[..end].to_string());
        }
    }
    names
}

#[test]
fn declared_families_yield_their_suffixed_series_names() {
    let page = "# TYPE requests counter\n# TYPE latency_seconds histogram\n# TYPE up gauge\nup 1\n\
                latency_seconds_count{route=\"/\"} 3\n# EOF\n";
    let names = selectable_names(page);
    for name in [
        "requests_total",
        "latency_seconds_bucket",
        "latency_seconds_sum",
        "latency_seconds_count",
        "up",
    ] {
        assert!(names.contains(name), "{name} missing from {names:?}");
    }
    assert!(!names.contains("requests"));
}
