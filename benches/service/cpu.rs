//! CPU time per process and per thread name, from /proc: read before and after a run, it
//! says which thread was busy (the SQLite writer, the Tokio workers) and which process
//! (the replicas, nats-server, the MongoDB-wire server) used the cores.

use std::collections::BTreeMap;
use std::sync::OnceLock;

/// Clock ticks per second of /proc's times.
fn ticks() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// (name, user + system seconds) of one /proc stat file.
fn stat(path: &str) -> Option<(String, f64)> {
    let text = std::fs::read_to_string(path).ok()?;
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let name = text[open + 1..close].to_string();
    let fields: Vec<&str> = text[close + 2..].split_whitespace().collect();
    // After the name: state is field 3 of stat(5), utime 14 and stime 15.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((name, (utime + stime) / ticks()))
}

/// CPU seconds of a process so far, its exited threads included.
pub fn process(pid: u32) -> f64 {
    stat(&format!("/proc/{pid}/stat")).map_or(0.0, |(_, s)| s)
}

/// CPU seconds of a process's live threads, summed by thread name.
pub fn threads(pid: u32) -> BTreeMap<String, f64> {
    let mut by = BTreeMap::new();
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.flatten() {
            let path = format!("{}/stat", task.path().display());
            if let Some((name, s)) = stat(&path) {
                *by.entry(name).or_default() += s;
            }
        }
    }
    by
}

/// The process whose command line has `needle` (a port, say) and `program` in it.
pub fn find(program: &str, needle: &str) -> Option<u32> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|entry| {
        let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let args: Vec<String> = cmdline
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let is_program = args.iter().take(2).any(|a| a.contains(program));
        (is_program && args.iter().any(|a| a == needle)).then_some(pid)
    })
}

/// CPU use over one run: cores busy per thread name (over every replica) and per process.
#[derive(Debug, Clone, Default)]
pub struct Usage {
    pub threads: Vec<(String, f64)>,
    pub processes: Vec<(String, f64)>,
}

/// A reading taken before the run.
pub struct Before {
    replicas: Vec<(u32, f64, BTreeMap<String, f64>)>,
    others: Vec<(String, u32, f64)>,
    at: std::time::Instant,
}

/// Reads the replicas' threads and the other processes (label, pid) now.
pub fn before(replicas: &[u32], others: &[(&str, Option<u32>)]) -> Before {
    Before {
        replicas: replicas.iter().map(|&p| (p, process(p), threads(p))).collect(),
        others: others
            .iter()
            .filter_map(|(l, p)| p.map(|p| (l.to_string(), p, process(p))))
            .collect(),
        at: std::time::Instant::now(),
    }
}

impl Before {
    /// Cores used since `before`, largest first.
    pub fn usage(&self) -> Usage {
        let wall = self.at.elapsed().as_secs_f64().max(1e-9);
        let mut by: BTreeMap<String, f64> = BTreeMap::new();
        let mut replicas_total = 0.0;
        for (pid, total0, threads0) in &self.replicas {
            let total = process(*pid) - total0;
            replicas_total += total;
            let mut named = 0.0;
            for (name, s) in threads(*pid) {
                let used = s - threads0.get(&name).copied().unwrap_or(0.0);
                named += used;
                *by.entry(name).or_default() += used;
            }
            if total - named > 0.005 {
                *by.entry("(exited threads)".into()).or_default() += total - named;
            }
        }
        let mut threads: Vec<(String, f64)> = by.into_iter().map(|(n, s)| (n, s / wall)).collect();
        threads.retain(|(_, c)| *c >= 0.005);
        threads.sort_by(|a, b| b.1.total_cmp(&a.1));
        let mut processes = vec![("replicas".to_string(), replicas_total / wall)];
        for (label, pid, s0) in &self.others {
            processes.push((label.clone(), (process(*pid) - s0) / wall));
        }
        processes.sort_by(|a, b| b.1.total_cmp(&a.1));
        Usage { threads, processes }
    }
}

impl Usage {
    /// `sqlite-writer 0.92, tokio-runtime-worker 0.40` (cores).
    pub fn threads_line(&self) -> String {
        join(&self.threads)
    }

    /// `replicas 1.35, nats-server 0.30` (cores).
    pub fn processes_line(&self) -> String {
        join(&self.processes)
    }
}

fn join(items: &[(String, f64)]) -> String {
    items
        .iter()
        .map(|(n, c)| format!("{n} {c:.2}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A child of this process whose name starts with `name` (the newest, if several).
pub fn child(name: &str) -> Option<u32> {
    children(name).into_iter().max()
}

/// Every child of this process whose name starts with `name` (the nodes of a cluster).
pub fn children(name: &str) -> Vec<u32> {
    let me = std::process::id().to_string();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let (open, close) = (text.find('(')?, text.rfind(')')?);
            let ppid = text[close + 2..].split_whitespace().nth(1)?;
            (text[open + 1..close].starts_with(name) && ppid == me).then_some(pid)
        })
        .collect()
}
