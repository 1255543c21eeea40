//! The summary lines and the markdown table of one benchmark run.

use crate::ceilings::Rate;
use crate::ingest::{Ingest, Setup};
use crate::latency::{Latency, LatencyRun};
use crate::Plan;
use std::fmt::Write as _;
use std::time::Duration;

/// Every figure of the run, filled in as they are measured.
pub struct Report {
    quick: bool,
    load_at_start: String,
    pub core: Option<Rate>,
    pub jetstream: Option<Rate>,
    pub store_single: Option<Rate>,
    pub store_batched: Option<Rate>,
    pub ingest: Vec<(&'static str, usize, Ingest)>,
    pub latency: Option<LatencyRun>,
}

/// `1234567.8` as `1,234,568`.
pub fn thousands(x: f64) -> String {
    let digits = format!("{:.0}", x.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e3)
}

fn mib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / (1024.0 * 1024.0))
}

/// The first three fields of /proc/loadavg.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split(':').nth(1)))
        .map_or("unknown CPU".to_string(), |m| m.trim().to_string());
    let cores = cpuinfo.lines().filter(|l| l.starts_with("processor")).count();
    let memory = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or("unknown".to_string(), |kb| format!("{:.0} GiB", kb / 1024.0 / 1024.0));
    let run = |cmd: &str, args: &[&str]| {
        std::process::Command::new(cmd)
            .args(args)
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    };
    format!(
        "{cores} × {model}, {memory} RAM; {}; {}; SQLite {}",
        run("uname", &["-srm"]),
        run("nats-server", &["--version"]),
        rusqlite::version()
    )
}

impl Report {
    pub fn new(plan: &Plan) -> Self {
        Self {
            quick: plan.quick,
            load_at_start: load_average(),
            core: None,
            jetstream: None,
            store_single: None,
            store_batched: None,
            ingest: Vec::new(),
            latency: None,
        }
    }

    /// The lower of the two ceilings ingest is held to: JetStream consume-with-ack and
    /// the store's batched apply.
    fn lower_ceiling(&self) -> f64 {
        let js = self.jetstream.map_or(f64::INFINITY, |r| r.per_second());
        let store = self.store_batched.map_or(f64::INFINITY, |r| r.per_second());
        js.min(store)
    }

    pub fn line_rate(&self, what: &str, rate: Rate) {
        println!(
            "bench: {what}: {} msg/s ({} in {:.2} s)",
            thousands(rate.per_second()),
            thousands(rate.count as f64),
            rate.elapsed.as_secs_f64()
        );
    }

    pub fn line_ingest(&self, setup: &Setup, figure: &Ingest) {
        println!(
            "bench: ingest {}: {} events/s ({} events in {:.2} s, {:.0}% of the lower ceiling), peak RSS {} MiB",
            setup.label,
            thousands(figure.per_second()),
            thousands(figure.events as f64),
            figure.elapsed.as_secs_f64(),
            100.0 * figure.per_second() / self.lower_ceiling(),
            mib(figure.peak_rss)
        );
    }

    pub fn line_latency(&self, l: &Latency) {
        println!(
            "bench: digest latency, {} due alarms: p50 {} ms, p95 {} ms, p99 {} ms ({} requests, {} message(s) per digest)",
            thousands(l.alarms as f64),
            ms(l.quantile(0.50)),
            ms(l.quantile(0.95)),
            ms(l.quantile(0.99)),
            l.samples.len(),
            l.parts
        );
    }

    fn markdown(&self) -> String {
        let mut md = String::new();
        let lower = self.lower_ceiling();
        let _ = writeln!(md, "# Benchmarks\n");
        let _ = writeln!(
            md,
            "Produced by `make bench` ({} run): one process tree on one machine, the service as its \
             release binary, every setup on a fresh `nats-server`. Messages are the load generator's \
             ~170-byte AlarmStatusChanged.\n",
            if self.quick { "a BENCH_QUICK" } else { "a full" }
        );
        let _ = writeln!(md, "**Machine:** {}\n", machine());
        let _ = writeln!(
            md,
            "**Load average** (1, 5, 15 min) when the run began: {}; when it ended: {}. Other work on \
             the machine competes for the same cores, so compare figures of one run, not across runs.\n",
            self.load_at_start,
            load_average()
        );
        let _ = writeln!(
            md,
            "**Durability:** the embedded store runs SQLite in WAL mode with `synchronous=FULL`: \
             the WAL is synced at every commit, so an acked event survives a crash of the process \
             and a power loss (as far as the disk honours its flushes). An event is acked only \
             after the commit that holds it.\n"
        );
        let _ = writeln!(md, "## Ceilings\n");
        let _ = writeln!(md, "| ceiling | messages | seconds | msg/s |");
        let _ = writeln!(md, "| --- | ---: | ---: | ---: |");
        for (what, rate) in [
            ("NATS core: publish → subscriber", self.core),
            (
                "JetStream: publish (acks pipelined 2,048 deep) + pull consume (512 per pull) with ack each",
                self.jetstream,
            ),
            ("SQLite apply, one event per commit", self.store_single),
            ("SQLite apply, 1,000 events per commit", self.store_batched),
        ] {
            if let Some(r) = rate {
                let _ = writeln!(
                    md,
                    "| {what} | {} | {:.2} | {} |",
                    thousands(r.count as f64),
                    r.elapsed.as_secs_f64(),
                    thousands(r.per_second())
                );
            }
        }
        let _ = writeln!(
            md,
            "\nThe lower of JetStream consume-with-ack and SQLite batched apply: **{} msg/s**.\n",
            thousands(lower)
        );
        let _ = writeln!(md, "## Ingest, end to end\n");
        let _ = writeln!(
            md,
            "Events published through JetStream (acks pipelined) by the load generator (1,000 users × \
             20 alarms, 10% duplicates, 10% late), from the first publish until the consumer has \
             nothing pending and nothing unacknowledged: every event committed, then acked.\n"
        );
        let _ = writeln!(
            md,
            "| setup | events | seconds | events/s | of the lower ceiling | of JetStream | peak RSS per replica (MiB) |"
        );
        let _ = writeln!(md, "| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        let js = self.jetstream.map_or(f64::INFINITY, |r| r.per_second());
        for (label, _, f) in &self.ingest {
            let _ = writeln!(
                md,
                "| {label} | {} | {:.2} | {} | {:.0}% | {:.0}% | {} |",
                thousands(f.events as f64),
                f.elapsed.as_secs_f64(),
                thousands(f.per_second()),
                100.0 * f.per_second() / lower,
                100.0 * f.per_second() / js,
                mib(f.peak_rss)
            );
        }
        let _ = writeln!(
            md,
            "\nWhat bounds these figures, from profiles: the README's section *Performance*."
        );
        if let Some(run) = &self.latency {
            let _ = writeln!(md, "\n## Digest latency\n");
            let _ = writeln!(
                md,
                "From publishing SendAlarmDigest (through JetStream) to receiving the whole AlarmDigest \
                 (every part) on a core subscription; one request at a time, each for a user whose \
                 alarms are all due. One replica on SQLite; its peak RSS over this run: {} MiB.\n",
                mib(run.peak_rss)
            );
            let _ = writeln!(
                md,
                "| due alarms | requests | p50 (ms) | p95 (ms) | p99 (ms) | messages per digest |"
            );
            let _ = writeln!(md, "| ---: | ---: | ---: | ---: | ---: | ---: |");
            for l in &run.sizes {
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {} | {} | {} |",
                    thousands(l.alarms as f64),
                    l.samples.len(),
                    ms(l.quantile(0.50)),
                    ms(l.quantile(0.95)),
                    ms(l.quantile(0.99)),
                    l.parts
                );
            }
        }
        md
    }

    /// Prints the table and writes it where it belongs.
    pub fn finish(&self) {
        let md = self.markdown();
        println!("\n{md}");
        let path = match std::env::var("BENCH_OUT") {
            Ok(p) if !p.is_empty() => Some(std::path::PathBuf::from(p)),
            _ if self.quick => None,
            _ => Some(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/BENCHMARKS.md")),
        };
        if let Some(path) = path {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).unwrap();
            }
            std::fs::write(&path, md).unwrap();
            println!("bench: wrote {}", path.display());
        }
    }
}
