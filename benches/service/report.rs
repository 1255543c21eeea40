//! The figures of one benchmark run as they are measured, their summary lines, and where
//! the markdown goes.

use crate::ceilings::Rate;
use crate::commands::{CommandCounts, DIGEST_PHASES};
use crate::durability::{self, DurabilityRun};
use crate::ingest::{Ingest, Setup};
use crate::latency::LatencyRun;
use crate::Plan;
use std::time::Duration;
use testkit::StoreKind;

/// The SQLite ceilings and the adapter on them.
#[derive(Default)]
pub struct SqliteFigures {
    pub plain_full: Option<Rate>,
    pub plain_normal: Option<Rate>,
    /// The plain upsert with the adapter's secondary indexes: what the indexes cost.
    pub plain_full_indexed: Option<Rate>,
    pub adapter_full: Option<Rate>,
    pub adapter_normal: Option<Rate>,
    /// The adapter, one event per commit.
    pub adapter_single: Option<Rate>,
}

/// The MongoDB-wire ceiling and the adapter on the same server.
#[derive(Default)]
pub struct MongoFigures {
    pub plain: Option<Rate>,
    pub adapter: Option<Rate>,
}

/// Every figure of the run, filled in as they are measured.
pub struct Report {
    pub quick: bool,
    /// Only some sections ran (`BENCH_ONLY`): the file is written only to `BENCH_OUT`.
    pub partial: bool,
    pub load_at_start: String,
    pub core: Option<Rate>,
    pub jetstream: Option<Rate>,
    pub sqlite: SqliteFigures,
    pub mongo: MongoFigures,
    pub ingest: Vec<(&'static str, StoreKind, usize, Ingest)>,
    pub latency: Option<LatencyRun>,
    pub bursts: Vec<crate::schedules::Burst>,
    pub commands: Option<CommandCounts>,
    pub console: Option<crate::console::ConsoleRun>,
    pub durability: Option<DurabilityRun>,
    pub took: Duration,
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

pub fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e3)
}

pub fn mib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / (1024.0 * 1024.0))
}

/// `a` as a fraction of `b`, when both were measured.
pub fn ratio(a: Option<Rate>, b: Option<Rate>) -> Option<f64> {
    Some(a?.per_second() / b?.per_second().max(1e-9))
}

/// `0.123` as `12.3%`; `n/a` when not measured.
pub fn percent(r: Option<f64>) -> String {
    r.map_or_else(|| "n/a".into(), |r| format!("{:.1}%", 100.0 * r))
}

/// The first three fields of /proc/loadavg.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

impl Report {
    pub fn new(plan: &Plan) -> Self {
        Self {
            quick: plan.quick,
            partial: plan.only.is_some(),
            load_at_start: load_average(),
            core: None,
            jetstream: None,
            sqlite: SqliteFigures::default(),
            mongo: MongoFigures::default(),
            ingest: Vec::new(),
            latency: None,
            bursts: Vec::new(),
            commands: None,
            console: None,
            durability: None,
            took: Duration::ZERO,
        }
    }

    /// The ceiling an ingest setup is held to: JetStream consume-with-ack for SQLite, the
    /// same server's plain bulk upsert for MongoDB-wire.
    pub fn ingest_ceiling(&self, store: StoreKind) -> (&'static str, Option<Rate>) {
        match store {
            StoreKind::Sqlite => ("JetStream consume-with-ack", self.jetstream),
            StoreKind::Mongo => ("plain MongoDB bulk upsert", self.mongo.plain),
        }
    }

    pub fn line_rate(&self, what: &str, rate: Rate) {
        println!(
            "bench: {what}: {} msg/s ({} in {:.2} s)",
            thousands(rate.per_second()),
            thousands(rate.count as f64),
            rate.elapsed.as_secs_f64()
        );
    }

    pub fn line_sqlite(&self) {
        let s = &self.sqlite;
        for (what, r) in [
            ("ceiling SQLite plain upsert, FULL", s.plain_full),
            ("ceiling SQLite plain upsert, NORMAL", s.plain_normal),
            (
                "SQLite plain upsert, FULL, with the adapter's indexes",
                s.plain_full_indexed,
            ),
            ("SQLite adapter batched apply, FULL", s.adapter_full),
            ("SQLite adapter batched apply, NORMAL", s.adapter_normal),
            ("SQLite adapter, one event per commit, FULL", s.adapter_single),
        ] {
            if let Some(r) = r {
                self.line_rate(what, r);
            }
        }
        println!(
            "bench: SQLite adapter batched apply vs plain upsert: FULL {}, NORMAL {}",
            percent(ratio(s.adapter_full, s.plain_full)),
            percent(ratio(s.adapter_normal, s.plain_normal))
        );
    }

    pub fn line_mongo(&self) {
        for (what, r) in [
            ("ceiling MongoDB-wire plain bulk upsert", self.mongo.plain),
            ("MongoDB adapter apply", self.mongo.adapter),
        ] {
            if let Some(r) = r {
                self.line_rate(what, r);
            }
        }
        println!(
            "bench: MongoDB adapter apply vs plain bulk upsert: {}",
            percent(ratio(self.mongo.adapter, self.mongo.plain))
        );
    }

    pub fn line_ingest(&self, setup: &Setup, figure: &Ingest) {
        let (name, ceiling) = self.ingest_ceiling(setup.store);
        let of = ceiling.map(|c| figure.per_second() / c.per_second());
        println!(
            "bench: ingest {}: {} events/s ({} events in {:.2} s, {} of {name}), peak RSS {} MiB; cores: {}; threads: {}",
            setup.label,
            thousands(figure.per_second()),
            thousands(figure.events as f64),
            figure.elapsed.as_secs_f64(),
            percent(of),
            mib(figure.peak_rss),
            figure.cpu.processes_line(),
            figure.cpu.threads_line()
        );
    }

    pub fn line_latency(&self, run: &LatencyRun) {
        for l in &run.sizes {
            println!(
                "bench: digest latency, {} due alarms: p50 {} ms, p95 {} ms, p99 {} ms; floor p50 {} / p99 {} ms (p99 {:.1}x the floor p50) ({} requests, {} message(s), {} bytes)",
                thousands(l.alarms as f64),
                ms(l.quantile(0.50)),
                ms(l.quantile(0.95)),
                ms(l.quantile(0.99)),
                ms(l.floor_quantile(0.50)),
                ms(l.floor_quantile(0.99)),
                l.p99_over_floor(),
                l.samples.len(),
                l.parts,
                thousands(l.bytes as f64)
            );
        }
        let h = &run.huge;
        println!(
            "bench: digest of {} due alarms: {} ms in {} parts; replica peak RSS while making it {} MiB",
            thousands(h.alarms as f64),
            ms(h.elapsed),
            h.parts,
            mib(h.peak_rss)
        );
    }

    pub fn line_burst(&self, b: &crate::schedules::Burst) {
        println!(
            "bench: {} scheduled digests due at one instant, {} replica(s), SQLite: first after {} ms, last after {} ms \
             ({} digests/s, {} of the engine's {} publishes/s acked one by one; {} with 64 in flight); \
             sent per replica {:?}; peak RSS {} MiB",
            thousands(b.digests as f64),
            b.replicas,
            ms(b.first),
            ms(b.last),
            thousands(b.per_second()),
            percent(Some(b.of_serial())),
            thousands(b.serial.per_second()),
            thousands(b.pipelined.per_second()),
            b.shares,
            mib(b.peak_rss)
        );
    }

    pub fn line_commands(&self, c: &CommandCounts) {
        println!(
            "bench: MongoDB commands per apply of 512 events: new alarms {} ({}), updates {} ({})",
            c.apply_new.total(),
            c.apply_new.by_name(),
            c.apply_updates.total(),
            c.apply_updates.by_name()
        );
        for (alarms, ops) in &c.digests {
            let phases: Vec<String> = DIGEST_PHASES.iter().map(|p| format!("{p} {}", ops.phase(p))).collect();
            println!(
                "bench: MongoDB commands per digest of {alarms}: {} ({}; {})",
                ops.total(),
                phases.join(", "),
                ops.by_name()
            );
        }
        println!(
            "bench: MongoDB commands per pager decision: {} ({}); at rest: {:.2}/s over {:.1} s ({})",
            c.pager_decision.total(),
            c.pager_decision.by_name(),
            c.idle.total() as f64 / c.idle_for.as_secs_f64(),
            c.idle_for.as_secs_f64(),
            c.idle.by_name()
        );
    }

    pub fn line_console(&self, run: &crate::console::ConsoleRun) {
        for p in &run.pages {
            println!(
                "bench: console {} ({}): p50 {:.3} ms, p99 {:.3} ms; the engine's read ({}) p50 {:.3} ms ({:.1}x)",
                p.label,
                p.path,
                p.quantile(0.50).as_secs_f64() * 1e3,
                p.quantile(0.99).as_secs_f64() * 1e3,
                p.ceiling.0,
                p.ceiling_quantile(0.50).as_secs_f64() * 1e3,
                p.over_ceiling()
            );
        }
    }

    pub fn line_durability(&self, cell: &durability::Cell) {
        let topology = durability::TOPOLOGIES.iter().find(|t| t.nodes == cell.nodes);
        println!(
            "bench: sync_interval {}, {}: JetStream publish + consume with ack {} msg/s; ingest 1 replica, SQLite {} events/s ({} of the engine); cores: {}",
            durability::sync_label(cell.sync),
            topology.map_or("", |t| t.label),
            thousands(cell.engine.per_second()),
            thousands(cell.ingest.per_second()),
            percent(Some(cell.ingest_of_engine())),
            cell.ingest.cpu.processes_line()
        );
    }

    /// Prints the markdown and writes it where it belongs.
    pub fn finish(&self) {
        let md = crate::markdown::render(self);
        println!("\n{md}");
        let path = match std::env::var("BENCH_OUT") {
            Ok(p) if !p.is_empty() => Some(std::path::PathBuf::from(p)),
            _ if self.quick || self.partial => None,
            _ => Some(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/BENCHMARKS.md")),
        };
        if let Some(path) = path {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).unwrap();
            }
            std::fs::write(&path, md).unwrap();
            println!("bench: wrote {}", path.display());
        }
        println!("bench: the run took {:.0} s", self.took.as_secs_f64());
    }
}
