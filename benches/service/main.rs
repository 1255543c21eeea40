//! `make bench`: the ceilings (NATS core, JetStream consume-with-ack, a plain SQLite upsert,
//! a plain MongoDB bulk upsert) and, in the same run, the store adapters and the service
//! end to end (ingest on SQLite and on MongoDB-wire, digest latency against the transport
//! floor, a digest of 100,000 alarms, peak memory, MongoDB commands per operation, the
//! console's pages at 10,000 alarms and 500 services against plain reads of their rows,
//! 10,000 scheduled digests due at one instant on one and on two replicas),
//! and what JetStream's `sync_interval: always` costs the engine and the ingest on one
//! node and on a three-node cluster.
//!
//! Prints one line per figure and writes `docs/BENCHMARKS.md` (`BENCH_OUT` elsewhere).
//! `BENCH_QUICK=1` runs small counts and writes nothing unless `BENCH_OUT` is set: `make
//! test` runs it so the benchmark cannot rot. `BENCH_PROFILE=1` (`make profile`) adds a
//! perf profile of each ingest setup. `BENCH_ONLY=durability` runs the `sync_interval`
//! section alone, `BENCH_ONLY=schedules` the burst of scheduled digests (with `BENCH_QUICK`
//! or not), and writes only to `BENCH_OUT`. No figure is
//! asserted; every run checks that what it measured was complete.

mod ceilings;
mod commands;
mod console;
mod cpu;
mod durability;
mod floor;
mod ingest;
mod latency;
mod markdown;
mod profile;
mod report;
mod schedules;
mod stores;
mod targets;

use alarm_digest::store::sqlite::Durability;
use ingest::Setup;
use std::time::{Duration, Instant};
use testkit::StoreKind;

/// How much each figure is given.
pub struct Plan {
    pub quick: bool,
    pub core: u64,
    pub jetstream: u64,
    pub store_single: usize,
    pub store_batched: usize,
    pub mongo_store: usize,
    pub ingest: u64,
    pub one_per_commit: u64,
    pub mongo: u64,
    /// (due alarms per user, requests measured).
    pub latency: [(usize, usize); 4],
    /// Due alarms of the one big digest.
    pub huge: usize,
    /// Users whose scheduled digests fall due at one instant.
    pub burst: usize,
    /// How long the replica at rest is watched.
    pub idle: Duration,
    /// Console pages: (alarms, services, requests per page).
    pub console: (usize, usize, usize),
    /// Messages per cell of the `sync_interval` section, by setting.
    pub durability: durability::Counts,
    /// `BENCH_ONLY`: one section alone.
    pub only: Option<Only>,
}

/// The sections that run alone under `BENCH_ONLY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Only {
    /// `durability`: what `sync_interval: always` costs.
    Durability,
    /// `schedules`: the burst of scheduled digests due at one instant.
    Schedules,
}

impl Plan {
    fn from_env() -> Self {
        let quick = std::env::var("BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
        let only = match std::env::var("BENCH_ONLY").unwrap_or_default().as_str() {
            "" => None,
            "durability" => Some(Only::Durability),
            "schedules" => Some(Only::Schedules),
            other => panic!("BENCH_ONLY={other}: the sections that run alone are `durability` and `schedules`"),
        };
        if quick {
            Plan {
                quick,
                core: 100_000,
                jetstream: 20_000,
                store_single: 300,
                store_batched: 20_000,
                mongo_store: 1_024,
                ingest: 20_000,
                one_per_commit: 1_000,
                mongo: 1_000,
                latency: [(10, 20), (100, 20), (1_000, 10), (10_000, 3)],
                huge: 20_000,
                burst: 500,
                idle: Duration::from_secs(4),
                console: (2_000, 100, 10),
                durability: durability::Counts {
                    default: 5_000,
                    always: 2_000,
                },
                only,
            }
        } else {
            Plan {
                quick,
                core: 1_000_000,
                jetstream: 200_000,
                store_single: 3_000,
                store_batched: 200_000,
                mongo_store: 5_120,
                ingest: 200_000,
                one_per_commit: 5_000,
                mongo: 5_000,
                latency: [(10, 200), (100, 200), (1_000, 100), (10_000, 20)],
                huge: 100_000,
                burst: 10_000,
                idle: Duration::from_secs(10),
                console: (10_000, 500, 50),
                durability: durability::Counts {
                    default: 200_000,
                    always: 20_000,
                },
                only,
            }
        }
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(bench());
}

async fn bench() {
    let plan = Plan::from_env();
    let began = Instant::now();
    let mut out = report::Report::new(&plan);
    println!(
        "bench: {} run; the service is the release binary, each setup on a fresh nats-server",
        if plan.quick { "BENCH_QUICK" } else { "full" }
    );
    if plan.only.is_none() {
        engine_and_service(&plan, &mut out).await;
    }
    if plan.only != Some(Only::Durability) {
        bursts(&plan, &mut out).await;
    }
    if plan.only != Some(Only::Schedules) {
        let costs = durability::run(plan.durability, |cell| out.line_durability(cell)).await;
        out.durability = Some(costs);
    }
    out.took = began.elapsed();
    out.finish();
}

/// Every section but the `sync_interval` one: the ceilings, the store adapters on them, and
/// the service end to end.
async fn engine_and_service(plan: &Plan, out: &mut report::Report) {
    let sample = ceilings::payloads(10_000);
    let nats = testkit::NatsServer::start();
    out.core = Some(ceilings::core(&nats.url(), plan.core, &sample).await);
    out.line_rate("ceiling NATS core publish -> subscriber", out.core.unwrap());
    out.jetstream = Some(ceilings::jetstream(&nats.url(), plan.jetstream, &sample).await);
    out.line_rate(
        "ceiling JetStream publish + pull consume with ack",
        out.jetstream.unwrap(),
    );
    drop(nats);

    let events = ceilings::events(&ceilings::payloads(plan.store_batched));
    let s = &mut out.sqlite;
    s.plain_full = Some(stores::sqlite_plain(&events, "FULL", false));
    s.plain_normal = Some(stores::sqlite_plain(&events, "NORMAL", false));
    s.plain_full_indexed = Some(stores::sqlite_plain(&events, "FULL", true));
    s.adapter_full = Some(stores::sqlite_adapter(&events, Durability::Full, stores::SQLITE_BATCH).await);
    s.adapter_normal = Some(stores::sqlite_adapter(&events, Durability::Normal, stores::SQLITE_BATCH).await);
    s.adapter_single = Some(stores::sqlite_adapter(&events[..plan.store_single], Durability::Full, 1).await);
    out.line_sqlite();

    let uri = tokio::task::spawn_blocking(testkit::mongo_uri)
        .await
        .expect("starting the MongoDB-wire server");
    let events = ceilings::events(&ceilings::payloads(plan.mongo_store));
    out.mongo.plain = Some(stores::mongo_plain(&uri, &events).await);
    out.mongo.adapter = Some(stores::mongo_adapter(&uri, &events).await);
    out.line_mongo();

    let setups = [
        Setup {
            label: "1 replica, SQLite",
            profile: true,
            store: StoreKind::Sqlite,
            replicas: 1,
            env: &[],
            events: plan.ingest,
        },
        Setup {
            label: "2 replicas, SQLite",
            profile: false,
            store: StoreKind::Sqlite,
            replicas: 2,
            env: &[],
            events: plan.ingest,
        },
        Setup {
            // One lane too: the writer's group commit would otherwise join the lanes' events.
            label: "1 replica, SQLite, MAX_BATCH=1 INTAKE_LANES=1 (one event per commit)",
            profile: false,
            store: StoreKind::Sqlite,
            replicas: 1,
            env: &[("MAX_BATCH", "1"), ("INTAKE_LANES", "1")],
            events: plan.one_per_commit,
        },
        Setup {
            label: "2 replicas, MongoDB-wire (one SecantusDB)",
            profile: true,
            store: StoreKind::Mongo,
            replicas: 2,
            env: &[],
            events: plan.mongo,
        },
    ];
    for setup in &setups {
        let figure = ingest::run(setup).await;
        out.line_ingest(setup, &figure);
        out.ingest.push((setup.label, setup.store, setup.replicas, figure));
    }

    let latency = latency::run(&plan.latency, plan.huge).await;
    out.line_latency(&latency);
    out.latency = Some(latency);

    let nats = testkit::NatsServer::start();
    let counts = commands::run(&uri, &nats.url(), plan.idle).await;
    drop(nats);
    out.line_commands(&counts);
    out.commands = Some(counts);

    let (alarms, services, samples) = plan.console;
    let console = console::run(alarms, services, samples).await;
    out.line_console(&console);
    out.console = Some(console);
}

/// The burst of scheduled digests due at one instant, on one replica and on two.
async fn bursts(plan: &Plan, out: &mut report::Report) {
    for replicas in [1, 2] {
        let burst = schedules::run(plan.burst, replicas).await;
        out.line_burst(&burst);
        out.bursts.push(burst);
    }
}
