//! What a `/metrics` page lets a query select: sample names, plus the names each declared
//! family yields (so a family with no samples yet still counts), and the labels of each
//! sample.

use std::collections::{BTreeMap, BTreeSet};

/// A parsed `/metrics` page.
#[derive(Debug, Default)]
pub struct Exposition {
    names: BTreeSet<String>,
    /// The label sets of each sample name.
    samples: BTreeMap<String, Vec<BTreeMap<String, String>>>,
}

impl Exposition {
    /// Parses an OpenMetrics or Prometheus text page.
    pub fn parse(page: &str) -> Self {
        let mut samples: BTreeMap<String, Vec<BTreeMap<String, String>>> = BTreeMap::new();
        for line in page.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
            let end = line.find(['{', ' ']).unwrap_or(line.len());
            let labels = if line[end..].starts_with('{') {
                sample_labels(&line[end + 1..])
            } else {
                BTreeMap::new()
            };
            samples.entry(line[..end].to_string()).or_default().push(labels);
        }
        Self {
            names: selectable_names(page),
            samples,
        }
    }

    /// Every series name a query may select.
    pub fn names(&self) -> &BTreeSet<String> {
        &self.names
    }

    /// Whether the page has at least one sample named `metric`.
    pub fn has_samples(&self, metric: &str) -> bool {
        self.samples.contains_key(metric)
    }

    /// The names of the labels the samples named `metric` carry.
    pub fn label_names(&self, metric: &str) -> BTreeSet<String> {
        self.samples
            .get(metric)
            .into_iter()
            .flatten()
            .flat_map(|labels| labels.keys().cloned())
            .collect()
    }

    /// The values `label` takes on the samples named `metric`; empty when none carries it.
    pub fn label_values(&self, metric: &str, label: &str) -> BTreeSet<String> {
        self.samples
            .get(metric)
            .into_iter()
            .flatten()
            .filter_map(|labels| labels.get(label).cloned())
            .collect()
    }
}

/// The labels of a sample line, from just after its `{`: `name="value",...}`, where a value
/// may hold escaped quotes and braces (`route="/v1/users/{id}"`).
fn sample_labels(rest: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.next_if(|c| *c == ',' || c.is_whitespace()).is_some() {}
        let name: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=' && *c != '}')).collect();
        if chars.next() != Some('=') || chars.next() != Some('"') {
            return labels;
        }
        let mut value = String::new();
        while let Some(c) = chars.next() {
            match c {
                '"' => break,
                '\\' => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(other) => value.push(other),
                    None => break,
                },
                c => value.push(c),
            }
        }
        labels.insert(name.trim().to_string(), value);
    }
}

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

#[test]
fn sample_labels_keep_braces_and_escaped_quotes_inside_values() {
    let page = "# TYPE http_seconds histogram\n\
                http_seconds_count{method=\"GET\",route=\"/v1/users/{id}\",status=\"200\"} 2\n\
                http_seconds_count{method=\"GET\",route=\"/say \\\"hi\\\"\",status=\"503\"} 1\n# EOF\n";
    let exposition = Exposition::parse(page);
    assert!(exposition.has_samples("http_seconds_count"));
    assert!(exposition.names().contains("http_seconds_bucket"));
    assert_eq!(
        exposition.label_values("http_seconds_count", "route"),
        ["/say \"hi\"".to_string(), "/v1/users/{id}".to_string()].into()
    );
    assert_eq!(
        exposition.label_values("http_seconds_count", "status"),
        ["200".to_string(), "503".to_string()].into()
    );
    assert!(exposition.label_values("http_seconds_count", "kind").is_empty());
}
