//! `BENCH_PROFILE=1` (`make profile`): `perf record -g` and a count of fsync calls
//! attached to the replicas during ingest, summarised as the threads and functions the
//! samples fell in. Off in `make bench`: perf slows what it watches.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Whether this run profiles.
pub fn enabled() -> bool {
    std::env::var("BENCH_PROFILE").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// What one profiled ingest showed.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    /// Share of the samples per thread name (over every replica).
    pub threads: Vec<(String, f64)>,
    /// Share of the samples per function (self time), the largest.
    pub symbols: Vec<(String, f64)>,
    /// fsync + fdatasync calls made by the replicas.
    pub fsyncs: Option<u64>,
}

/// perf running against the replicas.
pub struct Recording {
    record: Child,
    stat: Option<Child>,
    dir: tempfile::TempDir,
}

fn data(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("perf.data")
}

fn counts(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("perf.stat")
}

/// Starts `perf record -g` and `perf stat` on `pids`; `None` (with a note) when perf cannot.
pub async fn attach(pids: &[u32]) -> Option<Recording> {
    let dir = tempfile::tempdir().ok()?;
    let list = pids.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
    let record = Command::new("perf")
        .args(["record", "-F", "499", "-g", "-p", &list, "-o"])
        .arg(data(&dir))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let Ok(record) = record else {
        println!("  note: perf is not installed; no profile");
        return None;
    };
    let stat = Command::new("perf")
        .args([
            "stat",
            "-x,",
            "-e",
            "syscalls:sys_enter_fsync,syscalls:sys_enter_fdatasync",
            "-p",
            &list,
            "-o",
        ])
        .arg(counts(&dir))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok();
    // perf needs a moment to attach to every thread.
    tokio::time::sleep(Duration::from_millis(500)).await;
    Some(Recording { record, stat, dir })
}

fn interrupt(child: &mut Child) {
    let _ = Command::new("kill").args(["-INT", &child.id().to_string()]).status();
    let _ = child.wait();
}

/// `  71.01%  name` lines of a `perf report --stdio` into (name, share).
fn shares(report: &str, limit: usize) -> Vec<(String, f64)> {
    report
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let l = l.trim();
            let (pct, rest) = l.split_once('%')?;
            let share: f64 = pct.trim().parse().ok()?;
            let name = rest.trim().trim_start_matches("[.]").trim_start_matches("[k]").trim();
            (!name.is_empty()).then(|| (name.to_string(), share / 100.0))
        })
        .take(limit)
        .collect()
}

impl Recording {
    /// Stops perf and summarises what it saw.
    pub async fn finish(mut self) -> Option<Profile> {
        interrupt(&mut self.record);
        if let Some(stat) = self.stat.as_mut() {
            interrupt(stat);
        }
        let dir = self.dir;
        tokio::task::spawn_blocking(move || {
            let report = |sort: &str| {
                Command::new("perf")
                    .args([
                        "report",
                        "--stdio",
                        "--no-children",
                        "-g",
                        "none",
                        "--percent-limit",
                        "1.5",
                    ])
                    .args(["--sort", sort, "-i"])
                    .arg(data(&dir))
                    .stderr(Stdio::null())
                    .output()
                    .ok()
                    .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            };
            let threads = shares(&report("comm")?, 8);
            let symbols = shares(&report("sym").unwrap_or_default(), 8);
            let fsyncs = std::fs::read_to_string(counts(&dir)).ok().map(|text| {
                text.lines()
                    .filter_map(|l| l.split(',').next()?.trim().parse::<u64>().ok())
                    .sum()
            });
            Some(Profile {
                threads,
                symbols,
                fsyncs,
            })
        })
        .await
        .ok()
        .flatten()
    }
}
