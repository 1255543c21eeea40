//! What the operations checks share: PromQL, exposition and Markdown parsing, the dashboard
//! and the alert rules as files, real processes, and the checks that keep the documents true
//! ([`docs`], [`docs_tables`], [`docs_served`]).

pub mod alerting;
pub mod dashboard;
pub mod docs;
pub mod docs_served;
pub mod docs_tables;
pub mod exposition;
pub use testkit::markdown;
pub mod processes;
pub mod promql;
pub mod selection;

use std::path::PathBuf;

/// A file of the repository, read whole.
pub fn repo_file(path: &str) -> String {
    let full = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

/// A YAML file of the repository as JSON values.
pub fn repo_yaml(path: &str) -> serde_json::Value {
    serde_yaml_ng::from_str(&repo_file(path)).unwrap_or_else(|e| panic!("{path} is not valid YAML: {e}"))
}
