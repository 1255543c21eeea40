//! The targets, each with today's figure from this run, met or not, and when not,
//! what the run showed bounds it.

use crate::commands::DIGEST_PHASES;
use crate::report::{mib, percent, ratio, Report};
use testkit::StoreKind;

/// One row of the targets table.
pub struct Target {
    pub figure: &'static str,
    pub today: String,
    pub target: &'static str,
    pub met: Option<bool>,
    /// Why not, from the run's CPU figures and profile, and what it would take.
    pub why: String,
}

fn met(m: Option<bool>) -> &'static str {
    match m {
        Some(true) => "✔ met",
        Some(false) => "✘ not met",
        None => "not measured",
    }
}

impl Target {
    pub fn row(&self) -> String {
        let why = if self.met == Some(false) { self.why.as_str() } else { "" };
        format!(
            "| {} | {} | {} | {} | {why} |",
            self.figure,
            self.today,
            self.target,
            met(self.met)
        )
    }
}

/// The busiest threads of an ingest setup (perf's shares when profiled, else /proc's cores).
fn busiest(report: &Report, store: StoreKind, replicas: usize) -> String {
    let Some((_, _, _, f)) = report.ingest.iter().find(|(_, s, r, _)| *s == store && *r == replicas) else {
        return String::new();
    };
    let threads: Vec<String> = f
        .cpu
        .threads
        .iter()
        .take(2)
        .map(|(n, c)| format!("`{n}` {c:.2} cores"))
        .collect();
    let mut line = format!(
        "busiest: {} (processes: {})",
        threads.join(", "),
        f.cpu.processes_line()
    );
    if let Some(p) = &f.profile {
        if let Some((name, share)) = p.threads.first() {
            line.push_str(&format!("; perf: `{name}` {:.0}% of samples", share * 100.0));
        }
    }
    line
}

/// Whether the one SQLite writer was saturated during the 1-replica ingest, and so what
/// the lever is.
fn writer_verdict(r: &Report) -> String {
    let Some((_, _, _, f)) = r.ingest.iter().find(|(_, s, n, _)| *s == StoreKind::Sqlite && *n == 1) else {
        return "not measured".into();
    };
    let writer = f
        .cpu
        .threads
        .iter()
        .find(|(n, _)| n == "sqlite-writer")
        .map(|(_, c)| *c);
    let fsyncs = f
        .profile
        .as_ref()
        .and_then(|p| p.fsyncs)
        .map(|n| n as f64 / f.events.max(1) as f64);
    let waits_on = match fsyncs {
        Some(per) if per < 0.01 => format!(
            "not the disk ({per:.4} fsyncs per event) but a core: the run shared two cores at load {}",
            r.load_at_start
        ),
        Some(per) => format!("the disk: {per:.3} fsyncs per event"),
        None => "a synced commit per batch, or a core shared with other work".into(),
    };
    match writer {
        Some(c) if c >= 0.75 => format!(
            "the writer thread is on a core {:.0}% of the run, so its CPU per event (the apply, row above) bounds it",
            c * 100.0
        ),
        Some(c) => format!(
            "the writer thread is on a core {:.0}% of the run and waits the rest, on {waits_on}; it would take less writer CPU per event (B-tree writes: see the profile) and a quieter machine",
            c * 100.0
        ),
        None => "no writer thread was seen".into(),
    }
}

pub fn rows(r: &Report) -> Vec<Target> {
    let mut rows = Vec::new();
    let s = &r.sqlite;
    let (full, normal) = (
        ratio(s.adapter_full, s.plain_full),
        ratio(s.adapter_normal, s.plain_normal),
    );
    let indexed = ratio(s.plain_full_indexed, s.plain_full);
    rows.push(Target {
        figure: "SQLite adapter batched apply, vs plain upsert of the same rows",
        today: format!("FULL {}, NORMAL {}", percent(full), percent(normal)),
        target: "≥ 20%",
        met: full.zip(normal).map(|(f, n)| f >= 0.2 && n >= 0.2),
        why: format!(
            "the plain upsert with the adapter's {} secondary indexes runs at {} of the plain one, and the adapter also reads each alarm and writes a history row: fewer indexes and history writes per event",
            testkit::engine::sqlite::adapter_indexes().len(),
            percent(indexed)
        ),
    });

    let ingest_ratio = |store: StoreKind, replicas: usize| {
        r.ingest
            .iter()
            .find(|(l, s, n, _)| *s == store && *n == replicas && !l.contains("MAX_BATCH"))
            .and_then(|(_, s, _, f)| Some(f.per_second() / r.ingest_ceiling(*s).1?.per_second()))
    };
    let sqlite = ingest_ratio(StoreKind::Sqlite, 1);
    rows.push(Target {
        figure: "ingest, 1 replica, SQLite `synchronous=FULL`, vs raw JetStream consume-with-ack",
        today: sqlite.map_or("n/a".into(), |x| format!("{x:.2}")),
        target: "≥ 0.6",
        met: sqlite.map(|x| x >= 0.6),
        why: format!("{}: {}", busiest(r, StoreKind::Sqlite, 1), writer_verdict(r)),
    });
    let mongo = ingest_ratio(StoreKind::Mongo, 2);
    let per_512 = r.commands.as_ref().map_or(String::new(), |c| {
        format!(
            "; {} / {} commands per 512 new / updated",
            c.apply_new.total(),
            c.apply_updates.total()
        )
    });
    rows.push(Target {
        figure: "ingest, 2 replicas on one MongoDB-wire server, vs the same server's plain bulk upsert",
        today: mongo.map_or("n/a".into(), |x| format!("{x:.2}")),
        target: "≥ 0.5",
        met: mongo.map(|x| x >= 0.5),
        why: format!(
            "{}{per_512}: round trips to a single-threaded server; fewer commands per batch",
            busiest(r, StoreKind::Mongo, 2)
        ),
    });

    if let Some(run) = &r.latency {
        let over = |n: usize| run.sizes.iter().find(|l| l.alarms == n).map(|l| l.p99_over_floor());
        let (one, ten) = (over(1_000), over(10_000));
        let show = |x: Option<f64>| x.map_or("n/a".into(), |x| format!("{x:.1}×"));
        rows.push(Target {
            figure: "digest p99 at 1,000 / 10,000 due alarms, vs the same run's transport floor (its median)",
            today: format!("{} / {}", show(one), show(ten)),
            target: "≤ 10×",
            met: one.zip(ten).map(|(a, b)| a <= 10.0 && b <= 10.0),
            why: format!(
                "during the largest digests the replica used: {}: its store work (claim, read, prepare, record, release: synced commits and a row per alarm on the writer); a delivery record per digest instead of per alarm",
                run.cpu.threads_line()
            ),
        });
        let h = &run.huge;
        rows.push(Target {
            figure: "digest of 100,000 due alarms (split into parts)",
            today: format!(
                "{} alarms: {:.1} s, {} parts, RSS {} MiB",
                crate::report::thousands(h.alarms as f64),
                h.elapsed.as_secs_f64(),
                h.parts,
                mib(h.peak_rss)
            ),
            target: "completes; RSS < 200 MiB",
            met: Some(h.alarms >= 100_000 && h.peak_rss > 0 && h.peak_rss < 200 << 20),
            why: if h.alarms < 100_000 {
                "a BENCH_QUICK run makes a smaller digest".into()
            } else {
                "the whole due list and its parts are held in memory at once: read and publish it part by part".into()
            },
        });
    }

    let peak = r
        .ingest
        .iter()
        .filter(|(l, ..)| !l.contains("MAX_BATCH"))
        .map(|(_, _, _, f)| f.peak_rss)
        .max();
    rows.push(Target {
        figure: "peak RSS per replica at full ingest",
        today: peak.map_or("n/a".into(), |p| format!("{} MiB", mib(p))),
        target: "< 100 MiB",
        met: peak.map(|p| p < 100 << 20),
        why: "lane capacities and the writer's page cache set it".into(),
    });

    if let Some(c) = &r.commands {
        let (new, upd) = (c.apply_new.total(), c.apply_updates.total());
        rows.push(Target {
            figure: "MongoDB adapter: commands per 512 events (new alarms / updates)",
            today: format!("{new} / {upd}"),
            target: "≤ 4",
            met: Some(new <= 4 && upd <= 4),
            why: format!(
                "new: {}; updates: {}: one bulk per kind of write per batch",
                c.apply_new.by_name(),
                c.apply_updates.by_name()
            ),
        });
        let sizes: Vec<String> = c.digests.iter().map(|(n, o)| format!("{} at {n}", o.total())).collect();
        let worst = c.digests.iter().map(|(_, o)| o.total()).max().unwrap_or(0);
        let phases = c
            .digests
            .last()
            .map(|(n, o)| {
                let p: Vec<String> = DIGEST_PHASES.iter().map(|p| format!("{p} {}", o.phase(p))).collect();
                format!("at {n}: {}", p.join(", "))
            })
            .unwrap_or_default();
        rows.push(Target {
            figure: "MongoDB adapter: commands per digest, any size that fits one message",
            today: sizes.join(", "),
            target: "≤ 8",
            met: Some(worst <= 8),
            why: format!("{phases}: merge the claim's writes (prepare, record, release)"),
        });
        let rate = c.idle.total() as f64 / c.idle_for.as_secs_f64().max(1e-9);
        rows.push(Target {
            figure: "MongoDB adapter: commands per second when idle",
            today: format!("{rate:.2}"),
            target: "≤ 1",
            met: Some(rate <= 1.0),
            why: format!("{}: fewer timer reads and pings", c.idle.by_name()),
        });
    }
    if let Some(run) = &r.console {
        if let Some((page, p99)) = run.slowest_p99() {
            rows.push(Target {
                figure: "console: the slowest page's p99 at 10,000 alarms and 500 services (loopback request)",
                today: format!("{} ms ({})", crate::report::ms(p99), page.label),
                target: "< 100 ms",
                met: Some(p99 < std::time::Duration::from_millis(100)),
                why: format!("{:.1}× the engine's read of its rows", page.over_ceiling()),
            });
        }
    }
    rows
}
