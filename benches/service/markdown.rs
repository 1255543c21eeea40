//! `docs/BENCHMARKS.md` from one run's figures: the targets, the ceilings and the adapters
//! on them, ingest, what bounds each setup, what JetStream's `sync_interval: always` costs,
//! digest latency against the floor, and MongoDB commands per operation.

use crate::ceilings::Rate;
use crate::commands::DIGEST_PHASES;
use crate::report::{load_average, mib, ms, percent, ratio, thousands, Report};
use std::fmt::Write as _;
use testkit::StoreKind;

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

fn rate_row(md: &mut String, what: &str, r: Option<Rate>, of: Option<f64>) {
    if let Some(r) = r {
        let _ = writeln!(
            md,
            "| {what} | {} | {:.2} | {} | {} |",
            thousands(r.count as f64),
            r.elapsed.as_secs_f64(),
            thousands(r.per_second()),
            of.map_or(String::new(), |x| percent(Some(x)))
        );
    }
}

fn header(md: &mut String, r: &Report) {
    let _ = writeln!(md, "# Benchmarks\n");
    let _ = writeln!(
        md,
        "Produced by `make bench` ({} run, {:.0} s): one process tree on one machine, the service as its \
         release binary, every setup on a fresh `nats-server`. Messages are the load generator's \
         ~170-byte AlarmStatusChanged. Every figure is a ratio against a ceiling measured in the \
         same run: the engine (raw NATS, a plain SQL statement, a plain MongoDB bulk), never our own code.\n",
        if r.quick { "a BENCH_QUICK" } else { "a full" },
        r.took.as_secs_f64()
    );
    let _ = writeln!(md, "**Machine:** {}\n", machine());
    let _ = writeln!(
        md,
        "**Load average** (1, 5, 15 min) when the run began: {}; when it ended: {}. Other work on \
         the machine competes for the same cores, so compare figures of one run, not across runs.\n",
        r.load_at_start,
        load_average()
    );
    let _ = writeln!(
        md,
        "**Durability:** the embedded store runs SQLite in WAL mode with `synchronous=FULL`: \
         the WAL is synced at every commit, so an acked event survives a crash of the process \
         and a power loss (as far as the disk honours its flushes). An event is acked only \
         after the commit that holds it. MongoDB-wire is SecantusDB, a Python test server \
         (`--storage-path :memory:`), unless `MONGODB_URI` names another: its speed says little \
         about a real mongod, the command counts below do.\n"
    );
}

fn targets(md: &mut String, r: &Report) {
    let _ = writeln!(md, "## Targets\n");
    let _ = writeln!(md, "| figure | today | target | met | what bounds it, when not met |");
    let _ = writeln!(md, "|---|---|---|---|---|");
    for t in crate::targets::rows(r) {
        let _ = writeln!(md, "{}", t.row());
    }
    let _ = writeln!(md);
}

fn ceilings(md: &mut String, r: &Report) {
    let _ = writeln!(md, "## Ceilings and the store adapters on them\n");
    let _ = writeln!(
        md,
        "| ceiling or adapter | messages | seconds | msg/s | of its ceiling |"
    );
    let _ = writeln!(md, "| --- | ---: | ---: | ---: | ---: |");
    rate_row(md, "NATS core: publish → subscriber", r.core, None);
    rate_row(
        md,
        "JetStream: publish (acks pipelined 2,048 deep) + pull consume (512 per pull) with ack each",
        r.jetstream,
        None,
    );
    let s = &r.sqlite;
    let plain = "SQLite plain upsert, the `alarms` key and columns, no secondary index, 1,000 per transaction";
    rate_row(md, &format!("{plain}, FULL"), s.plain_full, None);
    rate_row(
        md,
        "SQLite adapter, apply of 1,000 events, FULL",
        s.adapter_full,
        ratio(s.adapter_full, s.plain_full),
    );
    rate_row(md, &format!("{plain}, NORMAL"), s.plain_normal, None);
    rate_row(
        md,
        "SQLite adapter, apply of 1,000 events, NORMAL",
        s.adapter_normal,
        ratio(s.adapter_normal, s.plain_normal),
    );
    rate_row(
        md,
        &format!(
            "SQLite plain upsert with the adapter's {} secondary indexes, FULL",
            testkit::engine::sqlite::adapter_indexes().len()
        ),
        s.plain_full_indexed,
        ratio(s.plain_full_indexed, s.plain_full),
    );
    rate_row(
        md,
        "SQLite adapter, one event per commit, FULL",
        s.adapter_single,
        ratio(s.adapter_single, s.plain_full),
    );
    rate_row(
        md,
        "MongoDB-wire plain unordered bulk `update` of upserts, a command per 512 events, one statement per alarm in it, the adapter's write concern",
        r.mongo.plain,
        None,
    );
    rate_row(
        md,
        "MongoDB adapter, apply of 512 events, same server",
        r.mongo.adapter,
        ratio(r.mongo.adapter, r.mongo.plain),
    );
    let _ = writeln!(
        md,
        "\nThe plain statements write each event's row as if it were the alarm's only event: no \
         read, no rule, no history table. The store ceilings use the first events of the ingest \
         traffic below. On SecantusDB an upsert statement costs more than a document in an \
         `insert`, and the adapter folds a batch's events per alarm and inserts the new ones, so \
         the adapter can run above this ceiling there: the command counts are the figure that \
         carries over to a real server.\n"
    );
}

fn ingest(md: &mut String, r: &Report) {
    let _ = writeln!(md, "## Ingest, end to end\n");
    let _ = writeln!(
        md,
        "Events published through JetStream (acks pipelined) by the load generator (1,000 users × \
         20 alarms, 10% duplicates, 10% late), from the first publish until the consumer has \
         nothing pending and nothing unacknowledged: every event committed, then acked.\n"
    );
    let _ = writeln!(
        md,
        "| setup | events | seconds | events/s | ceiling | of the ceiling | peak RSS per replica (MiB) |"
    );
    let _ = writeln!(md, "| --- | ---: | ---: | ---: | --- | ---: | ---: |");
    for (label, store, _, f) in &r.ingest {
        let (name, ceiling) = r.ingest_ceiling(*store);
        let _ = writeln!(
            md,
            "| {label} | {} | {:.2} | {} | {name} | {} | {} |",
            thousands(f.events as f64),
            f.elapsed.as_secs_f64(),
            thousands(f.per_second()),
            percent(ceiling.map(|c| f.per_second() / c.per_second())),
            mib(f.peak_rss)
        );
    }
    let _ = writeln!(md);
}

fn bounds(md: &mut String, r: &Report) {
    let _ = writeln!(md, "## What bounds it\n");
    let _ = writeln!(
        md,
        "CPU over each ingest run, from /proc (cores = CPU seconds per wall second; the machine \
         has two, shared). Thread names are the replicas' own (`sqlite-writer` is the one SQLite \
         writer, `tokio-rt-worker` the async side: NATS, parsing, acks, MongoDB calls).\n"
    );
    for (label, store, _, f) in &r.ingest {
        let _ = writeln!(
            md,
            "- **{label}**: processes {}; replica threads {}.",
            f.cpu.processes_line(),
            f.cpu.threads_line()
        );
        if let Some(p) = &f.profile {
            let share = |v: &[(String, f64)]| {
                v.iter()
                    .map(|(n, s)| format!("`{n}` {:.0}%", s * 100.0))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let fsyncs = p.fsyncs.map_or("n/a".into(), |n| {
                format!("{n} ({:.4} per event)", n as f64 / f.events.max(1) as f64)
            });
            let _ = writeln!(
                md,
                "  perf (a second, profiled run): samples by thread {}; by function {}; fsync + fdatasync calls {fsyncs}.",
                share(&p.threads),
                share(&p.symbols)
            );
        }
        if *store == StoreKind::Mongo {
            if let Some(c) = &r.commands {
                let _ = writeln!(
                    md,
                    "  Each batch of 512 costs {} commands for new alarms and {} for updates (below): on a real \
                     replica set each is a round trip plus a majority, journaled write.",
                    c.apply_new.total(),
                    c.apply_updates.total()
                );
            }
        }
    }
    if let Some(run) = &r.latency {
        let _ = writeln!(
            md,
            "- **Digests of {} alarms**: the replica's threads while answering them: {}.",
            thousands(run.sizes.last().map_or(0, |l| l.alarms) as f64),
            run.cpu.threads_line()
        );
    }
    let _ = writeln!(
        md,
        "\nA profile with functions and fsync counts: `make profile` (the same run with \
         `BENCH_PROFILE=1`: each ingest setup runs a second time under `perf record -g` and \
         `perf stat -e syscalls:sys_enter_fsync,syscalls:sys_enter_fdatasync`; it writes this \
         file with the profile lines above). The README's *Performance* section reads them.\n"
    );
}

fn latency(md: &mut String, r: &Report) {
    let Some(run) = &r.latency else { return };
    let _ = writeln!(md, "## Digest latency\n");
    let _ = writeln!(
        md,
        "From publishing SendAlarmDigest (through JetStream) to receiving the whole AlarmDigest \
         (every part) on a core subscription; one request at a time, each for a user whose alarms \
         are all due. One replica on SQLite; its peak RSS over this run: {} MiB. The floor is \
         measured on the same server with raw async-nats: a JetStream publish with its ack \
         awaited, then core messages of the digest's size from another client to a subscriber.\n",
        mib(run.peak_rss)
    );
    let _ = writeln!(
        md,
        "| due alarms | requests | p50 (ms) | p95 (ms) | p99 (ms) | floor p50 (ms) | floor p99 (ms) | p99 / floor p50 | messages | bytes |"
    );
    let _ = writeln!(
        md,
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for l in &run.sizes {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {:.1}× | {} | {} |",
            thousands(l.alarms as f64),
            l.samples.len(),
            ms(l.quantile(0.50)),
            ms(l.quantile(0.95)),
            ms(l.quantile(0.99)),
            ms(l.floor_quantile(0.50)),
            ms(l.floor_quantile(0.99)),
            l.p99_over_floor(),
            l.parts,
            thousands(l.bytes as f64)
        );
    }
    let h = &run.huge;
    let _ = writeln!(
        md,
        "\nOne digest of {} due alarms: {:.2} s, {} messages; the replica's peak RSS while making it \
         (VmHWM reset just before the request): {} MiB.\n",
        thousands(h.alarms as f64),
        h.elapsed.as_secs_f64(),
        h.parts,
        mib(h.peak_rss)
    );
}

fn bursts(md: &mut String, r: &Report) {
    if r.bursts.is_empty() {
        return;
    }
    let _ = writeln!(md, "## Scheduled digests due at one instant\n");
    let _ = writeln!(
        md,
        "Every user has a schedule due at the same second (a cron in UTC) and one due alarm; the \
         replicas share one SQLite store and tick every second (`SCHEDULE_TICK`, the default). \
         Measured from that second to each digest received on a core subscription; each user's \
         digest arrives once. The engine is the same server taking as many JetStream publishes \
         of a digest's size: acked one by one (as one replica sends its digests), and with 64 in \
         flight.\n"
    );
    let _ = writeln!(
        md,
        "| replicas | digests | first (ms) | last (ms) | digests/s | engine, one by one (msg/s) | of it | engine, 64 in flight (msg/s) | sent per replica | peak RSS (MiB) |"
    );
    let _ = writeln!(
        md,
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |"
    );
    for b in &r.bursts {
        let shares: Vec<String> = b.shares.iter().map(|s| thousands(*s as f64)).collect();
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            b.replicas,
            thousands(b.digests as f64),
            ms(b.first),
            ms(b.last),
            thousands(b.per_second()),
            thousands(b.serial.per_second()),
            percent(Some(b.of_serial())),
            thousands(b.pipelined.per_second()),
            shares.join(" / "),
            mib(b.peak_rss)
        );
    }
    let _ = writeln!(md);
}

fn commands(md: &mut String, r: &Report) {
    let Some(c) = &r.commands else { return };
    let _ = writeln!(md, "## MongoDB commands per operation\n");
    let _ = writeln!(
        md,
        "Counted with the driver's command monitoring (every `CommandStartedEvent`), the use cases \
         driven in the bench process on the same server. On a real cluster each command is a round \
         trip, and each write waits for a majority, journaled.\n"
    );
    let _ = writeln!(md, "| operation | commands | which |");
    let _ = writeln!(md, "| --- | ---: | --- |");
    let _ = writeln!(
        md,
        "| apply of 512 events, new alarms | {} | {} |",
        c.apply_new.total(),
        c.apply_new.by_name()
    );
    let _ = writeln!(
        md,
        "| apply of 512 events, updates | {} | {} |",
        c.apply_updates.total(),
        c.apply_updates.by_name()
    );
    for (alarms, ops) in &c.digests {
        let phases: Vec<String> = DIGEST_PHASES.iter().map(|p| format!("{p} {}", ops.phase(p))).collect();
        let _ = writeln!(
            md,
            "| digest of {} alarms | {} | {}: {} |",
            thousands(*alarms as f64),
            ops.total(),
            phases.join(", "),
            ops.by_name()
        );
    }
    if let Some((_, ops)) = c.digests.first() {
        let _ = writeln!(md, "| claim (of a digest) | {} | |", ops.phase("claim"));
    }
    let _ = writeln!(
        md,
        "| pager decision (an alert, one policy level) | {} | {} |",
        c.pager_decision.total(),
        c.pager_decision.by_name()
    );
    let _ = writeln!(
        md,
        "| a replica at rest, per second (over {:.0} s) | {:.2} | {} |",
        c.idle_for.as_secs_f64(),
        c.idle.total() as f64 / c.idle_for.as_secs_f64().max(1e-9),
        c.idle.by_name()
    );
    let _ = writeln!(md);
}

/// The whole file.
pub fn render(r: &Report) -> String {
    let mut md = String::new();
    header(&mut md, r);
    targets(&mut md, r);
    ceilings(&mut md, r);
    ingest(&mut md, r);
    bounds(&mut md, r);
    if let Some(run) = &r.durability {
        crate::durability::render(&mut md, run);
    }
    latency(&mut md, r);
    bursts(&mut md, r);
    commands(&mut md, r);
    console(&mut md, r);
    md
}

fn console(md: &mut String, r: &Report) {
    let Some(run) = &r.console else { return };
    let _ = writeln!(
        md,
        "## Console pages
"
    );
    let _ = writeln!(
        md,
        "One replica on SQLite holding {} alarms of 100 users and {} services with an open \
         incident; each page requested {} times, one at a time, over loopback (server time plus a \
         local round trip). The ceiling is the engine's own read of the same rows in the same run: \
         the plain SQL statement on the same database file, or for dead letters one raw \
         JetStream get per letter.\n",
        thousands(run.alarms as f64),
        thousands(run.services as f64),
        run.pages.first().map_or(0, |p| p.samples.len())
    );
    let _ = writeln!(
        md,
        "| page | path | p50 (ms) | p99 (ms) | the engine reads | its p50 (ms) | page p50 / engine p50 |"
    );
    let _ = writeln!(md, "|---|---|---:|---:|---|---:|---:|");
    for p in &run.pages {
        let _ = writeln!(
            md,
            "| {} | `{}` | {:.2} | {:.2} | {} | {:.3} | {:.1}× |",
            p.label,
            p.path,
            p.quantile(0.50).as_secs_f64() * 1e3,
            p.quantile(0.99).as_secs_f64() * 1e3,
            p.ceiling.0,
            p.ceiling_quantile(0.50).as_secs_f64() * 1e3,
            p.over_ceiling()
        );
    }
    let _ = writeln!(md);
}
