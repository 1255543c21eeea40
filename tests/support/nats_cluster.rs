//! A JetStream cluster of nats-server processes on loopback ports: a config file with
//! `cluster {}` and routes and a store directory per node; nodes are killed, stopped and
//! restarted by PID, on the same ports and store.

use super::nats::nats_server_binary;
use super::process::{free_port, spawn_until_ready, stop};
use async_nats::jetstream::{self, stream};
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// The cluster's name in every node's config.
const CLUSTER_NAME: &str = "alarm-digest-test";

/// One node: its ports, its config file and, while it runs, its process.
struct Node {
    name: String,
    client_port: u16,
    config: PathBuf,
    child: Option<Child>,
}

/// A running cluster; every node still running is killed when dropped.
pub struct NatsCluster {
    nodes: Vec<Node>,
    _dir: TempDir,
}

impl NatsCluster {
    /// Starts `size` nodes routed to each other and waits until JetStream can place a
    /// stream with `size` replicas.
    pub async fn start(size: usize) -> Self {
        let dir = tempfile::tempdir().expect("cluster dir");
        let ports: Vec<(u16, u16)> = (0..size).map(|_| (free_port(), free_port())).collect();
        let routes: Vec<String> = ports
            .iter()
            .map(|(_, route)| format!("\"nats-route://127.0.0.1:{route}\""))
            .collect();
        let mut nodes = Vec::with_capacity(size);
        for (i, (client_port, route_port)) in ports.iter().enumerate() {
            let name = format!("n{}", i + 1);
            let store = dir.path().join(&name);
            std::fs::create_dir_all(&store).unwrap();
            let config = dir.path().join(format!("{name}.conf"));
            let text = format!(
                "server_name: \"{name}\"\nlisten: \"127.0.0.1:{client_port}\"\n\
                 jetstream {{ store_dir: \"{}\" }}\n\
                 cluster {{\n  name: \"{CLUSTER_NAME}\"\n  listen: \"127.0.0.1:{route_port}\"\n  routes: [{}]\n}}\n",
                store.display(),
                routes.join(", ")
            );
            std::fs::write(&config, text).unwrap();
            nodes.push(Node {
                name,
                client_port: *client_port,
                config,
                child: None,
            });
        }
        let mut cluster = Self { nodes, _dir: dir };
        for i in 0..size {
            cluster.restart(i);
        }
        cluster.wait_for_placement(size, Duration::from_secs(60)).await;
        cluster
    }

    /// The client URL of node `i`.
    pub fn url(&self, i: usize) -> String {
        format!("nats://127.0.0.1:{}", self.nodes[i].client_port)
    }

    /// Every node's URL, comma-separated, as `NATS_URL` takes them.
    pub fn urls(&self) -> String {
        (0..self.nodes.len()).map(|i| self.url(i)).collect::<Vec<_>>().join(",")
    }

    /// The server name of node `i` (`n1`, `n2`, ...).
    pub fn name(&self, i: usize) -> &str {
        &self.nodes[i].name
    }

    /// The node index of a server name, as stream info reports its leader.
    pub fn index_of(&self, server_name: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.name == server_name)
    }

    /// How many nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// SIGKILL node `i`, like a crash or a pulled cable.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.nodes[i].child.take() {
            stop(&mut child);
        }
    }

    /// SIGTERM node `i` (a clean shutdown) and waits for it to exit.
    pub fn terminate(&mut self, i: usize) {
        if let Some(mut child) = self.nodes[i].child.take() {
            let pid = child.id().to_string();
            let _ = Command::new("kill").args(["-TERM", &pid]).status();
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                if child.try_wait().unwrap().is_some() {
                    return;
                }
                if Instant::now() > deadline {
                    stop(&mut child);
                    return;
                }
                // A child's exit has no notification to await here; poll its status.
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// Starts node `i` again on the same ports and store, and returns once it listens.
    pub fn restart(&mut self, i: usize) {
        assert!(self.nodes[i].child.is_none(), "node {} is running", self.nodes[i].name);
        let mut cmd = Command::new(nats_server_binary());
        cmd.arg("-c").arg(&self.nodes[i].config);
        let (child, _) = spawn_until_ready(cmd, "Server is ready", Duration::from_secs(30));
        self.nodes[i].child = Some(child);
    }

    /// Waits until JetStream can create (and delete) a stream with `replicas` replicas:
    /// the meta leader is elected and knows enough peers.
    pub async fn wait_for_placement(&self, replicas: usize, timeout: Duration) {
        let client = async_nats::connect(self.urls_of_running()).await.unwrap();
        let js = jetstream::new(client);
        let deadline = Instant::now() + timeout;
        loop {
            let probe = stream::Config {
                name: "PLACEMENT_PROBE".into(),
                subjects: vec!["placement.probe".into()],
                num_replicas: replicas,
                storage: stream::StorageType::Memory,
                ..Default::default()
            };
            let created = js.create_stream(probe).await;
            if created.is_ok() && js.delete_stream("PLACEMENT_PROBE").await.is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the cluster could not place an R{replicas} stream within {timeout:?}: {:?}",
                created.err()
            );
            // The election has no event a client can await; ask again shortly.
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Waits until stream `name` has a leader and every replica is current (a restarted
    /// node caught up); returns the leader's node index.
    pub async fn wait_stream_current(&self, js: &jetstream::Context, name: &str, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        loop {
            let answer = tokio::time::timeout(Duration::from_secs(2), js.get_stream(name)).await;
            if let Ok(Ok(mut stream)) = answer {
                if let Ok(info) = stream.info().await {
                    let cluster = info.cluster.clone().unwrap_or_default();
                    let caught_up = cluster.replicas.len() + 1 >= info.config.num_replicas
                        && cluster.replicas.iter().all(|r| r.current && !r.offline);
                    if let Some(leader) = cluster.leader.as_deref().and_then(|l| self.index_of(l)) {
                        if caught_up {
                            return leader;
                        }
                    }
                }
            }
            assert!(
                Instant::now() < deadline,
                "stream {name} had no leader with every replica current within {timeout:?}"
            );
            // Raft catch-up has no event a client can await; ask again shortly.
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Waits until stream `name` has a leader among the running nodes (after its leader
    /// was lost); returns that node's index.
    pub async fn wait_leader(&self, js: &jetstream::Context, name: &str, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        loop {
            let info = async {
                let mut stream = js.get_stream(name).await.ok()?;
                stream.info().await.ok().map(|i| i.cluster.clone())
            };
            if let Ok(Some(cluster)) = tokio::time::timeout(Duration::from_secs(2), info).await {
                let leader = cluster.and_then(|c| c.leader).and_then(|l| self.index_of(&l));
                if let Some(i) = leader.filter(|i| self.nodes[*i].child.is_some()) {
                    return i;
                }
            }
            assert!(
                Instant::now() < deadline,
                "stream {name} elected no leader within {timeout:?}"
            );
            // An election has no event a client can await; ask again shortly.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn urls_of_running(&self) -> Vec<String> {
        (0..self.nodes.len())
            .filter(|i| self.nodes[*i].child.is_some())
            .map(|i| self.url(i))
            .collect()
    }
}

impl Drop for NatsCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            if let Some(child) = node.child.as_mut() {
                stop(child);
            }
        }
    }
}
