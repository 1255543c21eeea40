//! The `docs/BENCHMARKS.md` section of what `sync_interval: always` costs: each cell's
//! rates, `always` against the default, and our ingest against the engine on the same
//! servers with the same setting.

use super::{sync_label, DurabilityRun, SYNCS, TOPOLOGIES};
use crate::report::{percent, thousands};
use std::fmt::Write as _;

/// How much of the default's rate `always` takes away.
fn cost(kept: Option<f64>) -> String {
    match kept {
        None => "an unmeasured share".into(),
        Some(k) if k >= 0.995 => "nothing measurable".into(),
        Some(k) => format!("{:.0}%", 100.0 * (1.0 - k)),
    }
}

/// Writes the section.
pub fn render(md: &mut String, run: &DurabilityRun) {
    let _ = writeln!(md, "## What `sync_interval: always` costs\n");
    let _ = writeln!(
        md,
        "JetStream's `sync_interval` is a config-file setting (`jetstream {{ sync_interval: always }}`); \
         left out, each node syncs its files every two minutes. Each row is a fresh `nats-server` (one \
         node, R1 streams) or a fresh three-node cluster (R3 streams) with that setting: first the \
         engine alone, as the JetStream ceiling above (publish with acks pipelined 2,048 deep, pull \
         consume 512 per pull with an ack each, the stream's replicas as the row says), then on the \
         same servers the service's ingest (1 replica, SQLite, the traffic of *Ingest, end to end*; \
         `STREAM_REPLICAS=3` on the cluster), {} messages each with the default and {} with \
         `always`; clients connect to any node of `NATS_URL`. The three nodes share this machine's \
         cores and its one disk, so their syncs queue on the same device, unlike nodes on disks of \
         their own.\n",
        thousands(run.counts.default as f64),
        thousands(run.counts.always as f64)
    );
    let _ = writeln!(
        md,
        "| nodes, stream replicas | `sync_interval` | JetStream publish + consume with ack (msg/s) | \
         engine: `always` / default | ingest, 1 replica, SQLite (events/s) | ingest: `always` / default | \
         ingest of the engine, same nodes and setting |"
    );
    let _ = writeln!(md, "| --- | --- | ---: | ---: | ---: | ---: | ---: |");
    for topology in &TOPOLOGIES {
        let kept = run.always_over_default(topology.nodes);
        for sync in SYNCS {
            let Some(cell) = run.cell(topology.nodes, sync) else {
                continue;
            };
            let (engine_kept, ingest_kept) = match (sync, kept) {
                (Some(_), Some((engine, ingest))) => (percent(Some(engine)), percent(Some(ingest))),
                _ => (String::new(), String::new()),
            };
            let _ = writeln!(
                md,
                "| {} | {} | {} | {engine_kept} | {} | {ingest_kept} | {} |",
                topology.label,
                sync_label(sync),
                thousands(cell.engine.per_second()),
                thousands(cell.ingest.per_second()),
                percent(Some(cell.ingest_of_engine()))
            );
        }
    }
    let [one, three] = [1, 3].map(|nodes| run.always_over_default(nodes));
    let always_of_engine = |nodes| percent(run.cell(nodes, Some("always")).map(|c| c.ingest_of_engine()));
    let _ = writeln!(
        md,
        "\n`always` syncs each write to disk before JetStream acknowledges it, so an acknowledged \
         message survives an OS crash or a power loss of every node at once (with the default, what \
         was acknowledged since the last sync may live only in the nodes' page caches); here it takes \
         {} of the engine's rate on one node and {} on three, and {} and {} of our ingest's, which \
         with `always` runs at {} and {} of the engine.\n",
        cost(one.map(|k| k.0)),
        cost(three.map(|k| k.0)),
        cost(one.map(|k| k.1)),
        cost(three.map(|k| k.1)),
        always_of_engine(1),
        always_of_engine(3)
    );
}
