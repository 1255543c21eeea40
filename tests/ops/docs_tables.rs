//! The reference tables checked against their sources of truth: the settings of
//! CONFIGURATION.md against the clap definitions of `serve` and `load`, the crate graph of
//! ARCHITECTURE.md against `cargo tree`, and the compose and dashboard tables of
//! OPERATIONS.md against `docker-compose.yml` and the dashboard's JSON.

use super::dashboard::{dashboard, panels};
use super::docs::span_or_text;
use super::markdown::{code_blocks, code_spans, section, table_rows};
use super::processes::run_in_repo;
use super::{promql, repo_file, repo_yaml};
use alarm_digest::config::Cli;
use clap::CommandFactory;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const CONFIGURATION: &str = "docs/CONFIGURATION.md";
const OPERATIONS: &str = "docs/OPERATIONS.md";
const ARCHITECTURE: &str = "docs/ARCHITECTURE.md";

/// A setting as the tables show it and clap defines it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Setting {
    flag: String,
    default: String,
}

/// Every setting of `command` read from an environment variable, hidden ones left out.
fn defined_settings(command: &clap::Command) -> BTreeMap<String, Setting> {
    command
        .get_arguments()
        .filter(|arg| !arg.is_hide_set())
        .filter_map(|arg| {
            let env = arg.get_env()?.to_string_lossy().into_owned();
            let defaults: Vec<String> = arg
                .get_default_values()
                .iter()
                .map(|v| v.to_string_lossy().into_owned())
                .collect();
            let setting = Setting {
                flag: arg.get_long().map_or("–".to_string(), |long| format!("--{long}")),
                default: if defaults.is_empty() {
                    "–".into()
                } else {
                    defaults.join(",")
                },
            };
            Some((env, setting))
        })
        .collect()
}

/// The settings the tables of the section `title` of CONFIGURATION.md list.
fn documented_settings(title: &str) -> BTreeMap<String, Setting> {
    let doc = repo_file(CONFIGURATION);
    let section = section(&doc, title).unwrap_or_else(|| panic!("{CONFIGURATION} has no section {title:?}"));
    let mut settings = BTreeMap::new();
    for cells in table_rows(&section) {
        assert!(
            cells.len() >= 4,
            "{CONFIGURATION}, {title}: a row without env, flag, default and meaning: {cells:?}"
        );
        let setting = Setting {
            flag: span_or_text(&cells[1]),
            default: span_or_text(&cells[2]),
        };
        let env = span_or_text(&cells[0]);
        assert!(
            settings.insert(env.clone(), setting).is_none(),
            "{CONFIGURATION}: {env} is listed twice"
        );
    }
    settings
}

/// What differs between the settings clap defines and those a table documents.
fn differences(defined: &BTreeMap<String, Setting>, documented: &BTreeMap<String, Setting>) -> Vec<String> {
    let mut found = Vec::new();
    for (env, setting) in defined {
        match documented.get(env) {
            None => found.push(format!(
                "{env} is not documented ({}, default {})",
                setting.flag, setting.default
            )),
            Some(shown) if shown != setting => found.push(format!(
                "{env} is documented as {} default {}, but is {} default {}",
                shown.flag, shown.default, setting.flag, setting.default
            )),
            Some(_) => {}
        }
    }
    for env in documented.keys().filter(|env| !defined.contains_key(*env)) {
        found.push(format!("{env} is documented but not a setting"));
    }
    found
}

fn subcommand(name: &str) -> clap::Command {
    Cli::command()
        .find_subcommand(name)
        .unwrap_or_else(|| panic!("no subcommand {name}"))
        .clone()
}

#[test]
fn the_configuration_doc_lists_every_setting_of_serve_with_its_flag_and_default_and_nothing_else() {
    let defined = defined_settings(&subcommand("serve"));
    let found = differences(&defined, &documented_settings("Every setting of `serve`"));
    assert!(found.is_empty(), "{CONFIGURATION} and `serve`:\n{}", found.join("\n"));
}

#[test]
fn the_configuration_doc_lists_every_setting_of_load_that_serve_does_not_share() {
    let serve = defined_settings(&subcommand("serve"));
    let own: BTreeMap<String, Setting> = defined_settings(&subcommand("load"))
        .into_iter()
        .filter(|(env, setting)| serve.get(env) != Some(setting))
        .collect();
    let found = differences(&own, &documented_settings("`load`"));
    assert!(found.is_empty(), "{CONFIGURATION} and `load`:\n{}", found.join("\n"));
}

/// A `cargo tree` listing with versions and the repository's path left out.
fn without_versions(tree: &str, root: &Path) -> Vec<String> {
    let root = root.display().to_string();
    tree.lines()
        .map(|line| line.trim_end().replace(&root, "."))
        .filter(|line| !line.is_empty())
        .map(|line| {
            line.split(' ')
                .map(|word| match word.strip_prefix('v') {
                    Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => "v*",
                    _ => word,
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// The edges between the workspace's own crates in a `cargo tree` listing.
fn workspace_edges(tree: &[String]) -> BTreeSet<(String, String)> {
    let mut edges = BTreeSet::new();
    let mut parent = String::new();
    for line in tree {
        let name = line
            .trim_start_matches(['├', '└', '─', '│', ' '])
            .split(' ')
            .next()
            .unwrap_or("");
        if !line.starts_with(['├', '└', '│']) {
            parent = name.to_string();
        } else if name.starts_with("alarm-digest") {
            edges.insert((parent.clone(), name.to_string()));
        }
    }
    edges
}

/// Each crate of a `cargo tree` listing with its direct dependencies.
fn dependencies(tree: &[String]) -> BTreeMap<String, BTreeSet<String>> {
    let mut crates: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut parent = String::new();
    for line in tree {
        if line.starts_with(['├', '└', '│']) {
            let dependency = line.trim_start_matches(['├', '└', '─', '│', ' ']);
            crates.entry(parent.clone()).or_default().insert(dependency.to_string());
        } else {
            parent = line.clone();
            crates.entry(parent.clone()).or_default();
        }
    }
    crates
}

/// What a shown `cargo tree` listing lacks (`+`) or has too many (`-`), crate by crate.
fn tree_differences(shown: &[String], printed: &[String]) -> Vec<String> {
    let (shown, printed) = (dependencies(shown), dependencies(printed));
    let mut found = Vec::new();
    for name in shown.keys().chain(printed.keys()).collect::<BTreeSet<_>>() {
        let none = BTreeSet::new();
        let (was, is) = (shown.get(name).unwrap_or(&none), printed.get(name).unwrap_or(&none));
        found.extend(is.difference(was).map(|d| format!("{name}: + {d}")));
        found.extend(was.difference(is).map(|d| format!("{name}: - {d}")));
    }
    found
}

/// The edges of a Mermaid flowchart whose nodes are labelled with crate names
/// (`id[crate-name: anything]`), `a --> b & c` written as two edges.
fn mermaid_edges(chart: &str) -> BTreeSet<(String, String)> {
    let id = |s: &str| {
        s.trim()
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .next()
            .unwrap_or("")
            .to_string()
    };
    let mut labels = BTreeMap::new();
    for part in chart.split(['\n', '&']).flat_map(|line| line.split("-->")) {
        if let Some((node, label)) = part.trim().split_once('[') {
            let name = label.split([':', ']']).next().unwrap_or("").trim();
            labels.insert(id(node), name.to_string());
        }
    }
    let crate_of = |node: &str| {
        labels
            .get(node)
            .cloned()
            .unwrap_or_else(|| panic!("node {node} has no label"))
    };
    let mut edges = BTreeSet::new();
    for line in chart.lines().filter(|line| line.contains("-->")) {
        let (from, to) = line.split_once("-->").unwrap();
        for target in to.split('&') {
            edges.insert((crate_of(&id(from)), crate_of(&id(target))));
        }
    }
    edges
}

#[test]
fn the_crate_graph_in_the_architecture_doc_is_what_cargo_tree_prints() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let args = [
        "tree",
        "--workspace",
        "-e",
        "normal",
        "--depth",
        "1",
        "--no-dedupe",
        "--offline",
    ];
    let printed = without_versions(&run_in_repo(&cargo, &args), &root);
    let doc = repo_file(ARCHITECTURE);
    let graph = section(&doc, "The crate graph").expect("a section The crate graph");
    let blocks = code_blocks(&graph);
    let shown = blocks
        .iter()
        .find(|b| b.info.is_empty())
        .expect("the output of cargo tree");
    let shown = without_versions(&shown.text, &root);
    let differences = tree_differences(&shown, &printed);
    assert!(
        differences.is_empty() && shown == printed,
        "{ARCHITECTURE} shows another crate graph than `cargo {}` prints:\n{}",
        args.join(" "),
        differences.join("\n")
    );
    let chart = blocks
        .iter()
        .find(|b| b.info == "mermaid")
        .expect("the graph as a picture");
    assert_eq!(
        mermaid_edges(&chart.text),
        workspace_edges(&printed),
        "the picture and cargo tree differ"
    );
}

#[test]
fn the_compose_table_shows_each_service_with_its_image_networks_and_published_ports() {
    let compose = repo_yaml("docker-compose.yml");
    let mut defined = BTreeMap::new();
    for (name, service) in compose["services"].as_object().unwrap() {
        let networks: Vec<String> = match &service["networks"] {
            Value::Array(list) => list.iter().filter_map(|n| n.as_str().map(str::to_string)).collect(),
            Value::Object(map) => map.keys().cloned().collect(),
            _ => Vec::new(),
        };
        let published: Vec<String> = service["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p.as_str()?.rsplit_once(':').map(|(host, _)| host.to_string()))
            .collect();
        let image = service["image"].as_str().unwrap_or("–").to_string();
        let published = if published.is_empty() {
            "–".into()
        } else {
            published.join(", ")
        };
        defined.insert(name.clone(), (image, networks.join(", "), published));
    }
    let doc = repo_file(OPERATIONS);
    let section = section(&doc, "The whole system in one command").expect("the compose section");
    let documented: BTreeMap<String, (String, String, String)> = table_rows(&section)
        .into_iter()
        .map(|cells| {
            let networks: Vec<&str> = cells[2].split(',').map(str::trim).collect();
            (
                span_or_text(&cells[0]),
                (span_or_text(&cells[1]), networks.join(", "), span_or_text(&cells[3])),
            )
        })
        .collect();
    assert_eq!(
        documented, defined,
        "{OPERATIONS}: the compose table and docker-compose.yml differ"
    );
}

#[test]
fn the_dashboard_table_lists_every_panel_in_its_row_with_the_metrics_it_reads() {
    let dashboard = dashboard();
    let mut defined = Vec::new();
    let mut row = String::new();
    for panel in panels(&dashboard) {
        let title = panel["title"].as_str().unwrap_or("?").to_string();
        if panel["type"] == "row" {
            row = title;
            continue;
        }
        let reads: BTreeSet<String> = panel["targets"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|t| promql::metric_names(t["expr"].as_str().unwrap_or("")))
            .collect();
        defined.push((row.clone(), title, reads));
    }
    let doc = repo_file(OPERATIONS);
    let section = section(&doc, "The dashboard").expect("a section The dashboard");
    let mut documented = Vec::new();
    let mut row = String::new();
    for cells in table_rows(&section) {
        if !cells[0].is_empty() {
            row = cells[0].clone();
        }
        let reads: BTreeSet<String> = code_spans(&cells[2]).into_iter().collect();
        documented.push((row.clone(), cells[1].clone(), reads));
    }
    let missing: Vec<_> = defined.iter().filter(|p| !documented.contains(p)).collect();
    let stale: Vec<_> = documented.iter().filter(|p| !defined.contains(p)).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "{OPERATIONS}: panels of the dashboard not in the table as they are: {missing:#?}\n\
         rows of the table that are no panel: {stale:#?}"
    );
}
