//! Scenario 1: the README's "Try it by hand", read from README.md itself. Its commands run
//! against a replica, `nats pub` and `nats sub` as the binary's own `pub` and `sub`, and the
//! subscriber must print exactly the lines the README shows. Editing the README changes
//! what is tested.

use super::{Stage, PATIENCE};
use crate::harness::{Replica, StoreKind};
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use testkit::eventually;
use testkit::markdown::{code_blocks, section, shell_commands, shell_words};
use testkit::process::{spawn_keeping_output, stop};

const README: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
const SECTION: &str = "Try it by hand";

/// The README's walkthrough: each command's words, and the lines the subscriber prints.
struct Walkthrough {
    commands: Vec<Vec<String>>,
    printed: Vec<String>,
}

/// Reads the walkthrough from the README: the section's `sh` block is the commands, its
/// `text` block what the subscriber prints.
fn walkthrough() -> Walkthrough {
    let readme = std::fs::read_to_string(README).unwrap();
    let section = section(&readme, SECTION).unwrap_or_else(|| panic!("README.md has no section {SECTION:?}"));
    let blocks = code_blocks(&section);
    let block = |info: &str| {
        blocks
            .iter()
            .find(|b| b.info == info)
            .unwrap_or_else(|| panic!("README.md, {SECTION}: no ```{info} block"))
            .text
            .clone()
    };
    Walkthrough {
        commands: shell_commands(&block("sh")).iter().map(|c| shell_words(c)).collect(),
        printed: block("text")
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect(),
    }
}

/// The binary's arguments for a `nats pub` or `nats sub` of the README.
fn binary_args(words: &[String]) -> Vec<String> {
    match words {
        [nats, command, ..] if nats == "nats" && (command == "pub" || command == "sub") => words[1..].to_vec(),
        _ => panic!(
            "README.md, {SECTION}: {words:?} is not a `nats pub` or `nats sub`, the two commands the \
             binary has too; teach this scenario the new command"
        ),
    }
}

/// A running `alarm-digest sub`, killed when dropped, and every line it printed.
struct Subscriber {
    child: Child,
    output: Arc<Mutex<Vec<String>>>,
}

impl Subscriber {
    fn start(args: &[String], nats_url: &str) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_alarm-digest"));
        cmd.args(args).env("NATS_URL", nats_url);
        let (child, output) = spawn_keeping_output(cmd, "Listening on", PATIENCE, true);
        Self { child, output }
    }

    /// The messages it printed (`[subject] payload`), its own notices left out.
    fn messages(&self) -> Vec<String> {
        let output = self.output.lock().unwrap();
        output.iter().filter(|l| l.starts_with('[')).cloned().collect()
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

async fn the_readme_walkthrough_prints_what_the_readme_shows(kind: StoreKind) {
    let walkthrough = walkthrough();
    let stage = Stage::new(kind).await;
    let _replica = Replica::start(&stage.env).await;
    let nats_url = stage.nats.url();

    let mut subscribers = Vec::new();
    for words in &walkthrough.commands {
        let args = binary_args(words);
        if args[0] == "sub" {
            let url = nats_url.clone();
            subscribers.push(
                tokio::task::spawn_blocking(move || Subscriber::start(&args, &url))
                    .await
                    .unwrap(),
            );
            continue;
        }
        let out = Command::new(env!("CARGO_BIN_EXE_alarm-digest"))
            .args(&args)
            .env("NATS_URL", &nats_url)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{words:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let [subscriber] = subscribers.as_slice() else {
        panic!(
            "README.md, {SECTION}: expected one `nats sub`, found {}",
            subscribers.len()
        );
    };

    let wanted = walkthrough.printed.len();
    eventually(
        format!("the subscriber to print the {wanted} lines README.md shows"),
        PATIENCE,
        || async {
            let printed = subscriber.messages();
            match printed.len() >= wanted {
                true => Ok(()),
                false => Err(format!("it printed {printed:#?}")),
            }
        },
    )
    .await;
    // Anything printed after the lines the README shows would be a difference too.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        subscriber.messages(),
        walkthrough.printed,
        "the subscriber printed something else than README.md, {SECTION}, shows"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_example_on_sqlite() {
    the_readme_walkthrough_prints_what_the_readme_shows(StoreKind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_example_on_mongodb() {
    the_readme_walkthrough_prints_what_the_readme_shows(StoreKind::Mongo).await;
}
