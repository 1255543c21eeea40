//! `make bench`: the ceilings (NATS core, JetStream consume-with-ack, the embedded store)
//! and the service end to end (ingest with 1 and 2 replicas, MongoDB-wire, one event per
//! commit; digest latency by digest size; peak memory), in one run on this machine.
//!
//! Prints one line per figure and writes `docs/BENCHMARKS.md` (`BENCH_OUT` elsewhere).
//! `BENCH_QUICK=1` runs small counts in well under a minute and writes nothing unless
//! `BENCH_OUT` is set: `make test` runs it so the benchmark cannot rot. No figure is
//! asserted; every run checks that what it measured was complete.

// Test support and the e2e harness, shared rather than copied (each allows its own dead code).
#[path = "../../tests/support/mod.rs"]
mod support;

#[allow(dead_code, unused_imports)]
#[path = "../../e2e/harness/mod.rs"]
mod harness;

mod ceilings;
mod ingest;
mod latency;
mod report;

use harness::StoreKind;
use ingest::Setup;

/// How much each figure is given.
pub struct Plan {
    pub quick: bool,
    pub core: u64,
    pub jetstream: u64,
    pub store_single: usize,
    pub store_batched: usize,
    pub ingest: u64,
    pub one_per_commit: u64,
    pub mongo: u64,
    /// (due alarms per user, requests measured).
    pub latency: [(usize, usize); 4],
}

impl Plan {
    fn from_env() -> Self {
        let quick = std::env::var("BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
        if quick {
            Plan {
                quick,
                core: 100_000,
                jetstream: 20_000,
                store_single: 300,
                store_batched: 20_000,
                ingest: 20_000,
                one_per_commit: 1_000,
                mongo: 500,
                latency: [(10, 20), (100, 20), (1_000, 10), (10_000, 3)],
            }
        } else {
            Plan {
                quick,
                core: 1_000_000,
                jetstream: 200_000,
                store_single: 3_000,
                store_batched: 200_000,
                ingest: 200_000,
                one_per_commit: 5_000,
                mongo: 3_000,
                latency: [(10, 200), (100, 200), (1_000, 100), (10_000, 20)],
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
    let mut out = report::Report::new(&plan);
    println!(
        "bench: {} run; the service is the release binary, each setup on a fresh nats-server",
        if plan.quick { "BENCH_QUICK" } else { "full" }
    );

    let sample = ceilings::payloads(10_000);
    let nats = support::NatsServer::start();
    out.core = Some(ceilings::core(&nats.url(), plan.core, &sample).await);
    out.line_rate("ceiling NATS core publish -> subscriber", out.core.unwrap());
    out.jetstream = Some(ceilings::jetstream(&nats.url(), plan.jetstream, &sample).await);
    out.line_rate(
        "ceiling JetStream publish + pull consume with ack",
        out.jetstream.unwrap(),
    );
    drop(nats);

    let events = ceilings::events(&ceilings::payloads(plan.store_batched));
    out.store_single = Some(ceilings::store(&events[..plan.store_single], 1).await);
    out.line_rate("ceiling SQLite apply, one event per commit", out.store_single.unwrap());
    out.store_batched = Some(ceilings::store(&events, 1000).await);
    out.line_rate(
        "ceiling SQLite apply, 1,000 events per commit",
        out.store_batched.unwrap(),
    );

    let setups = [
        Setup {
            label: "1 replica, SQLite",
            store: StoreKind::Sqlite,
            replicas: 1,
            env: &[],
            events: plan.ingest,
        },
        Setup {
            label: "2 replicas, SQLite",
            store: StoreKind::Sqlite,
            replicas: 2,
            env: &[],
            events: plan.ingest,
        },
        Setup {
            // One lane too: the writer's group commit would otherwise join the lanes' events.
            label: "1 replica, SQLite, MAX_BATCH=1 INTAKE_LANES=1 (one event per commit)",
            store: StoreKind::Sqlite,
            replicas: 1,
            env: &[("MAX_BATCH", "1"), ("INTAKE_LANES", "1")],
            events: plan.one_per_commit,
        },
        Setup {
            label: "1 replica, MongoDB-wire (SecantusDB)",
            store: StoreKind::Mongo,
            replicas: 1,
            env: &[],
            events: plan.mongo,
        },
    ];
    for setup in &setups {
        let figure = ingest::run(setup).await;
        out.line_ingest(setup, &figure);
        out.ingest.push((setup.label, setup.replicas, figure));
    }

    let latency = latency::run(&plan.latency).await;
    for size in &latency.sizes {
        out.line_latency(size);
    }
    out.latency = Some(latency);
    out.finish();
}
