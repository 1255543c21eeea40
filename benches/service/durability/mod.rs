//! What JetStream's `sync_interval: always` costs: the engine alone (publish with acks
//! pipelined, pull consume with ack) and then the service's ingest on the same servers, on
//! one node with R1 streams and on a three-node cluster with R3 streams, each with the
//! server default (`sync_interval` unset: a sync every two minutes) and with `always`.

mod section;

pub use section::render;

use crate::ceilings::{self, Rate, JETSTREAM_CEILING_STREAM};
use crate::cpu;
use crate::ingest::{self, Ingest, Setup};
use testkit::StoreKind;
use testkit::{NatsCluster, NatsServer};

/// Where the streams live: how many nodes, and the service settings that place its streams there.
pub struct Topology {
    pub nodes: usize,
    pub label: &'static str,
    service_env: &'static [(&'static str, &'static str)],
}

/// One node with R1 streams, and a three-node cluster with R3 streams.
pub const TOPOLOGIES: [Topology; 2] = [
    Topology {
        nodes: 1,
        label: "1 node, R1",
        service_env: &[],
    },
    Topology {
        nodes: 3,
        label: "3 nodes, R3",
        service_env: &[("STREAM_REPLICAS", "3")],
    },
];

/// The `sync_interval` settings compared: the server default (left out), then `always`.
pub const SYNCS: [Option<&str>; 2] = [None, Some("always")];

/// How a setting reads in the figures.
pub fn sync_label(sync: Option<&str>) -> &str {
    sync.unwrap_or("default (2 min)")
}

/// One topology with one setting: the engine, and the service on the same servers.
pub struct Cell {
    pub nodes: usize,
    pub sync: Option<&'static str>,
    pub engine: Rate,
    pub ingest: Ingest,
}

impl Cell {
    /// The service's ingest as a fraction of the engine on the same servers.
    pub fn ingest_of_engine(&self) -> f64 {
        self.ingest.per_second() / self.engine.per_second().max(1e-9)
    }
}

/// Messages per cell: fewer with `always`, whose cells run far slower on one node.
#[derive(Debug, Clone, Copy)]
pub struct Counts {
    pub default: u64,
    pub always: u64,
}

impl Counts {
    pub fn of(&self, sync: Option<&str>) -> u64 {
        if sync.is_some() {
            self.always
        } else {
            self.default
        }
    }
}

/// Every cell of the run, in the order of [`TOPOLOGIES`] then [`SYNCS`].
pub struct DurabilityRun {
    pub counts: Counts,
    pub cells: Vec<Cell>,
}

impl DurabilityRun {
    pub fn cell(&self, nodes: usize, sync: Option<&str>) -> Option<&Cell> {
        self.cells.iter().find(|c| c.nodes == nodes && c.sync == sync)
    }

    /// `always`'s rate as a fraction of the default's on `nodes`: (the engine, our ingest).
    pub fn always_over_default(&self, nodes: usize) -> Option<(f64, f64)> {
        let default = self.cell(nodes, None)?;
        let always = self.cell(nodes, Some("always"))?;
        Some((
            always.engine.per_second() / default.engine.per_second().max(1e-9),
            always.ingest.per_second() / default.ingest.per_second().max(1e-9),
        ))
    }
}

/// The nats-server processes of one cell, stopped when dropped.
enum Brokers {
    Node(NatsServer),
    Cluster(NatsCluster),
}

impl Brokers {
    async fn start(nodes: usize, sync: Option<&str>) -> Self {
        if nodes == 1 {
            Brokers::Node(NatsServer::start_with_sync(sync))
        } else {
            Brokers::Cluster(NatsCluster::start_with_sync(nodes, sync).await)
        }
    }

    /// Every node's URL, comma-separated, as `NATS_URL` takes them.
    fn urls(&self) -> String {
        match self {
            Brokers::Node(server) => server.url(),
            Brokers::Cluster(cluster) => cluster.urls(),
        }
    }
}

/// Measures every cell with as many messages as `counts` gives its setting (the engine's,
/// then as many events of the ingest), reporting each cell as it is done.
pub async fn run(counts: Counts, done: impl Fn(&Cell)) -> DurabilityRun {
    let sample = ceilings::payloads(10_000);
    let mut cells = Vec::new();
    for topology in &TOPOLOGIES {
        for sync in SYNCS {
            let messages = counts.of(sync);
            let brokers = Brokers::start(topology.nodes, sync).await;
            let urls = brokers.urls();
            let engine = ceilings::jetstream_replicated(&urls, topology.nodes, messages, &sample).await;
            forget_engine_stream(&urls).await;
            let pids = cpu::children("nats-server");
            let labels: Vec<String> = (1..=pids.len()).map(|i| format!("nats-server n{i}")).collect();
            let servers: Vec<(&str, Option<u32>)> =
                labels.iter().zip(&pids).map(|(l, p)| (l.as_str(), Some(*p))).collect();
            let setup = Setup {
                label: "1 replica, SQLite",
                profile: false,
                store: StoreKind::Sqlite,
                replicas: 1,
                env: topology.service_env,
                events: messages,
            };
            let ingest = ingest::on_servers(&setup, &urls, &servers, false).await;
            let cell = Cell {
                nodes: topology.nodes,
                sync,
                engine,
                ingest,
            };
            done(&cell);
            cells.push(cell);
            drop(brokers);
        }
    }
    DurabilityRun { counts, cells }
}

/// Deletes the engine's stream, so the service's run finds only its own streams.
async fn forget_engine_stream(urls: &str) {
    let servers: Vec<&str> = urls.split(',').collect();
    let client = async_nats::connect(servers).await.unwrap();
    async_nats::jetstream::new(client)
        .delete_stream(JETSTREAM_CEILING_STREAM)
        .await
        .unwrap();
}
