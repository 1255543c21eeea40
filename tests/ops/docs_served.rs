//! The documents checked against what a running service serves: the metrics reference
//! against its `/metrics`, and every API call the documents show against its OpenAPI
//! document (`GET /v1/openapi.json`), both ways.

use super::docs::documents;
use super::exposition::Exposition;
use super::markdown::{code_blocks, code_spans, prose, section, shell_commands, shell_words, table_rows};
use super::processes::Service;
use super::repo_file;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};
use testkit::NatsServer;

const OPERATIONS: &str = "docs/OPERATIONS.md";
const API: &str = "docs/API.md";
const METHODS: [&str; 5] = ["GET", "POST", "PUT", "DELETE", "PATCH"];

/// A running service on a private nats-server.
async fn running_service() -> (Service, NatsServer) {
    let nats = NatsServer::start();
    tokio::task::spawn_blocking(move || (Service::start(&nats), nats))
        .await
        .unwrap()
}

/// A metric family as the reference shows it or the service exports it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Family {
    kind: String,
    labels: BTreeSet<String>,
    /// The help text exported, or the meaning documented.
    text: String,
}

/// The metrics reference, by the name a query uses (`_total` for counters).
fn documented_metrics() -> BTreeMap<String, Family> {
    let doc = repo_file(OPERATIONS);
    let section = section(&doc, "Metrics reference").expect("a section Metrics reference");
    table_rows(&section)
        .into_iter()
        .map(|cells| {
            let name = code_spans(&cells[0]).into_iter().next().unwrap_or_default();
            let family = Family {
                kind: cells[1].clone(),
                labels: code_spans(&cells[2]).into_iter().collect(),
                text: cells[3].clone(),
            };
            (name, family)
        })
        .collect()
}

/// The families of an exposition, by the name a query uses, with their type and help and
/// the labels their samples carry (`le` aside).
fn exported_metrics(page: &str) -> BTreeMap<String, Family> {
    let exposition = Exposition::parse(page);
    let mut help = BTreeMap::new();
    let mut kinds = BTreeMap::new();
    for line in page.lines() {
        if let Some((name, text)) = line.strip_prefix("# HELP ").and_then(|l| l.split_once(' ')) {
            help.insert(name.to_string(), text.trim_end_matches('.').to_string());
        }
        if let Some((name, kind)) = line.strip_prefix("# TYPE ").and_then(|l| l.split_once(' ')) {
            kinds.insert(name.to_string(), kind.trim().to_string());
        }
    }
    kinds
        .into_iter()
        .map(|(family, kind)| {
            let queried = match kind.as_str() {
                "counter" if !family.ends_with("_total") => format!("{family}_total"),
                _ => family.clone(),
            };
            let samples: Vec<String> = match kind.as_str() {
                "histogram" => ["_bucket", "_count", "_sum"]
                    .iter()
                    .map(|s| format!("{family}{s}"))
                    .collect(),
                _ => vec![queried.clone()],
            };
            let mut labels: BTreeSet<String> = samples.iter().flat_map(|s| exposition.label_names(s)).collect();
            labels.remove("le");
            let text = help.get(&family).cloned().unwrap_or_default();
            (queried, Family { kind, labels, text })
        })
        .collect()
}

#[tokio::test]
async fn the_metrics_reference_lists_exactly_the_families_a_running_service_exports_with_their_type_labels_and_help() {
    let (service, _nats) = running_service().await;
    let documented = documented_metrics();
    // A labelled family shows its labels once it has a series: requests with the first
    // request, store operations with the first store call. Wait for every one documented.
    service.get("/healthz").await;
    let deadline = Instant::now() + Duration::from_secs(15);
    let exported = loop {
        let exported = exported_metrics(&service.get("/metrics").await);
        let complete = documented
            .iter()
            .filter(|(_, family)| !family.labels.is_empty())
            .all(|(name, _)| exported.get(name).is_some_and(|f| !f.labels.is_empty()));
        if complete || Instant::now() > deadline {
            break exported;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    let mut wrong = Vec::new();
    for (name, family) in &exported {
        let Some(shown) = documented.get(name) else {
            wrong.push(format!("{name} ({}) is exported but not in the reference", family.kind));
            continue;
        };
        if shown.kind != family.kind {
            wrong.push(format!("{name} is a {}, documented as a {}", family.kind, shown.kind));
        }
        if shown.labels != family.labels {
            wrong.push(format!(
                "{name} has labels {:?}, documented {:?}",
                family.labels, shown.labels
            ));
        }
        if !shown.text.starts_with(&family.text) {
            wrong.push(format!(
                "{name}: the meaning must begin with its help, {:?}",
                family.text
            ));
        }
    }
    for name in documented.keys().filter(|name| !exported.contains_key(*name)) {
        wrong.push(format!("{name} is in the reference but not exported"));
    }
    assert!(
        wrong.is_empty(),
        "{OPERATIONS}, Metrics reference:\n{}",
        wrong.join("\n")
    );
}

/// One HTTP call a document shows: its method and path, query left out.
type Call = (String, String);

/// The `/v1` path of a URL (`localhost:8080/v1/x?y`, `http://host/v1/x`), query left out.
fn v1_path(url: &str) -> Option<String> {
    let url = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = &url[url.find('/')?..];
    let path = path.split(['?', '#']).next().unwrap_or(path);
    path.starts_with("/v1/").then(|| path.to_string())
}

/// The call a `curl` command line makes, if it is one to `/v1`.
fn curl_call(command: &str) -> Option<Call> {
    let words = shell_words(command);
    if words.first().map(String::as_str) != Some("curl") {
        return None;
    }
    let (mut method, mut data, mut path) = (None, false, None);
    let mut rest = words[1..].iter();
    while let Some(word) = rest.next() {
        match word.as_str() {
            "-X" | "--request" => method = rest.next().cloned(),
            "-d" | "--data" | "--data-raw" | "--data-binary" => {
                data = true;
                rest.next();
            }
            "-H" | "--header" | "-o" | "--output" | "-u" | "--user" => {
                rest.next();
            }
            url if !url.starts_with('-') => path = path.or_else(|| v1_path(url)),
            _ => {}
        }
    }
    let method = method.unwrap_or_else(|| if data { "POST" } else { "GET" }.to_string());
    Some((method.to_uppercase(), path?))
}

/// Every call to `/v1` a document shows: `curl` commands in its code blocks and code
/// spans, and `METHOD /v1/...` written in its text. The document itself,
/// `/v1/openapi.json`, is left out.
fn api_calls(markdown: &str) -> Vec<Call> {
    let mut calls = Vec::new();
    for block in code_blocks(markdown) {
        calls.extend(shell_commands(&block.text).iter().filter_map(|c| curl_call(c)));
    }
    let text = prose(markdown);
    calls.extend(code_spans(&text).iter().filter_map(|span| curl_call(span)));
    for method in METHODS {
        let marker = format!("{method} /v1/");
        for (at, _) in text.match_indices(&marker) {
            let rest = &text[at + method.len() + 1..];
            let end = rest
                .find(|c: char| c.is_whitespace() || "`),;\"'".contains(c))
                .unwrap_or(rest.len());
            let path = rest[..end].trim_end_matches(['.', ':']);
            calls.extend(v1_path(path).map(|path| (method.to_string(), path)));
        }
    }
    calls.retain(|(_, path)| path != "/v1/openapi.json");
    calls
}

/// Whether a documented path is an instance of `template` (`/v1/users/{user_id}`); a
/// `{placeholder}` in the documented path stands for any segment too.
fn matches(path: &str, template: &str) -> bool {
    let (path, template): (Vec<&str>, Vec<&str>) = (path.split('/').collect(), template.split('/').collect());
    path.len() == template.len()
        && path
            .iter()
            .zip(&template)
            .all(|(p, t)| p == t || t.starts_with('{') || (p.starts_with('{') && p.ends_with('}')))
}

#[tokio::test]
async fn every_api_call_the_docs_show_is_in_the_openapi_document_and_every_operation_has_an_example() {
    let (service, _nats) = running_service().await;
    let document: serde_json::Value = serde_json::from_str(&service.get("/v1/openapi.json").await).unwrap();
    let operations: Vec<Call> = document["paths"]
        .as_object()
        .expect("the document has paths")
        .iter()
        .flat_map(|(path, item)| {
            METHODS
                .iter()
                .filter(|m| item.get(m.to_lowercase()).is_some())
                .map(|m| (m.to_string(), path.clone()))
        })
        .collect();
    assert!(!operations.is_empty(), "the document lists no operation");
    let known = |(method, path): &Call| operations.iter().any(|(m, t)| m == method && matches(path, t));

    let mut unknown = Vec::new();
    for (file, text) in documents() {
        for call in api_calls(&text).into_iter().filter(|c| !known(c)) {
            unknown.push(format!("{file}: {} {}", call.0, call.1));
        }
    }
    assert!(
        unknown.is_empty(),
        "calls that are no operation of the OpenAPI document:\n{}",
        unknown.join("\n")
    );

    let examples = api_calls(&repo_file(API));
    let without: Vec<&Call> = operations
        .iter()
        .filter(|(m, t)| !examples.iter().any(|(method, path)| method == m && matches(path, t)))
        .collect();
    assert!(
        without.is_empty(),
        "operations without an example in {API}: {without:?}"
    );
}

#[test]
fn curl_commands_and_written_calls_give_their_method_and_v1_path() {
    let doc = concat!(
        "```sh\n",
        "curl -s -X POST localhost:8080/v1/events -H 'content-type: application/json' \\\n  -d '[]'\n",
        "curl -s 'localhost:8080/v1/alarms?limit=5'\n",
        "curl -s localhost:8080/healthz\n",
        "```\n",
        "`curl -s -d '{}' localhost:8080/v1/users/u1/alarms/disk/ack` and `GET /v1/users/{id}/digests`,\n",
        "or GET /v1/openapi.json.\n",
    );
    let mut calls = api_calls(doc);
    calls.sort();
    let expected: Vec<Call> = [
        ("GET", "/v1/alarms"),
        ("GET", "/v1/users/{id}/digests"),
        ("POST", "/v1/events"),
        ("POST", "/v1/users/u1/alarms/disk/ack"),
    ]
    .iter()
    .map(|(m, p)| (m.to_string(), p.to_string()))
    .collect();
    assert_eq!(calls, expected);
    assert!(matches(
        "/v1/users/u1/alarms/disk",
        "/v1/users/{user_id}/alarms/{alarm_id}"
    ));
    assert!(matches("/v1/users/{id}/digests", "/v1/users/{user_id}/digests"));
    assert!(!matches("/v1/users/u1", "/v1/users/{user_id}/alarms"));
}
