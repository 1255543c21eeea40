//! A JetStream cluster of nats-server processes on loopback ports: a config file with
//! `cluster {}` and routes and a store directory per node; nodes are killed, paused,
//! stopped and restarted by PID, on the same ports and store. Each node serves its
//! monitoring endpoint, so a test can ask every node what its own copy of a stream holds.

use crate::eventually;
use crate::nats::nats_server_binary;
use crate::process::{free_port, spawn_until_ready, stop};
use async_nats::jetstream::{self, stream};
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// The cluster's name in every node's config.
const CLUSTER_NAME: &str = "alarm-digest-test";

/// How often JetStream syncs its files to disk, as the compose files run it
/// (`ops/nats/durable.conf`, the setting the README recommends): after every write.
pub fn sync_interval() -> String {
    let path = crate::workspace_root().join("ops/nats/durable.conf");
    let path = path.display();
    let text = std::fs::read_to_string(path.to_string()).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .find_map(|l| l.trim().strip_prefix("sync_interval:"))
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| panic!("{path} sets sync_interval"))
}

/// One node: its ports, its config file and, while it runs, its process.
struct Node {
    name: String,
    client_port: u16,
    /// The monitoring port (`/jsz`): what this node itself stores.
    monitor_port: u16,
    config: PathBuf,
    child: Option<Child>,
    /// Stopped by SIGSTOP and not yet continued.
    paused: bool,
}

/// What the cluster says of one stream at one moment.
#[derive(Debug, Clone)]
pub struct StreamState {
    /// The node that leads it, as stream info names it.
    pub leader: Option<usize>,
    /// Stream info reports every replica current and online.
    pub replicas_current: bool,
    /// The leader's last sequence.
    pub last_sequence: u64,
    /// Each running node of the stream and the last sequence its own copy holds.
    pub copies: Vec<(String, Option<u64>)>,
}

/// A running cluster; every node still running is killed when dropped.
pub struct NatsCluster {
    nodes: Vec<Node>,
    _dir: TempDir,
}

impl NatsCluster {
    /// Starts `size` nodes routed to each other, each syncing as [`sync_interval`] says, and
    /// waits until JetStream can place a stream with `size` replicas.
    pub async fn start(size: usize) -> Self {
        let sync = sync_interval();
        Self::start_with_sync(size, Some(sync.as_str())).await
    }

    /// Like [`NatsCluster::start`], each node syncing its JetStream files every
    /// `sync` (`"always"`, `"1s"`, ...); `None` leaves `sync_interval` out of the
    /// config, for the server default (every two minutes).
    pub async fn start_with_sync(size: usize, sync: Option<&str>) -> Self {
        let dir = tempfile::tempdir().expect("cluster dir");
        let ports: Vec<(u16, u16, u16)> = (0..size).map(|_| (free_port(), free_port(), free_port())).collect();
        let routes: Vec<String> = ports
            .iter()
            .map(|(_, route, _)| format!("\"nats-route://127.0.0.1:{route}\""))
            .collect();
        let mut nodes = Vec::with_capacity(size);
        let sync = sync.map_or(String::new(), |every| format!(", sync_interval: {every}"));
        for (i, (client_port, route_port, monitor_port)) in ports.iter().enumerate() {
            let name = format!("n{}", i + 1);
            let store = dir.path().join(&name);
            std::fs::create_dir_all(&store).unwrap();
            let config = dir.path().join(format!("{name}.conf"));
            let text = format!(
                "server_name: \"{name}\"\nlisten: \"127.0.0.1:{client_port}\"\nhttp: \"127.0.0.1:{monitor_port}\"\n\
                 jetstream {{ store_dir: \"{}\"{sync} }}\n\
                 cluster {{\n  name: \"{CLUSTER_NAME}\"\n  listen: \"127.0.0.1:{route_port}\"\n  routes: [{}]\n}}\n",
                store.display(),
                routes.join(", ")
            );
            std::fs::write(&config, text).unwrap();
            nodes.push(Node {
                name,
                client_port: *client_port,
                monitor_port: *monitor_port,
                config,
                child: None,
                paused: false,
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
    pub fn size(&self) -> usize {
        self.nodes.len()
    }

    /// SIGKILL node `i`, like a crash or a pulled cable.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.nodes[i].child.take() {
            stop(&mut child);
        }
    }

    /// SIGSTOP node `i`: a process pause (a long GC, a frozen VM, a stalled disk). It keeps
    /// its connections and its belief that it leads, and answers nothing until resumed.
    pub fn pause(&mut self, i: usize) {
        self.signal(i, "-STOP");
        self.nodes[i].paused = true;
    }

    /// SIGCONT node `i` after [`NatsCluster::pause`].
    pub fn resume(&mut self, i: usize) {
        self.signal(i, "-CONT");
        self.nodes[i].paused = false;
    }

    fn signal(&self, i: usize, signal: &str) {
        let child = self.nodes[i].child.as_ref().expect("the node runs");
        let status = Command::new("kill").args([signal, &child.id().to_string()]).status();
        assert!(
            status.is_ok_and(|s| s.success()),
            "kill {signal} {}",
            self.nodes[i].name
        );
    }

    /// Whether node `i` runs and is not paused.
    fn answers(&self, i: usize) -> bool {
        self.nodes[i].child.is_some() && !self.nodes[i].paused
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
        // The election has no event a client can await; ask until a probe stream fits.
        let what = format!("the cluster to place an R{replicas} stream");
        eventually(what, timeout, || async {
            let probe = stream::Config {
                name: "PLACEMENT_PROBE".into(),
                subjects: vec!["placement.probe".into()],
                num_replicas: replicas,
                storage: stream::StorageType::Memory,
                ..Default::default()
            };
            js.create_stream(probe).await.map_err(|e| e.to_string())?;
            js.delete_stream("PLACEMENT_PROBE").await.map_err(|e| e.to_string())
        })
        .await;
    }

    /// Waits until stream `name` has a leader and every node of it holds the whole stream:
    /// stream info reports each replica current, and each node's own copy (its `/jsz`)
    /// reaches the last sequence the leader reported. Stream info alone is not enough:
    /// nats-server reports the replicas a replica-count change adds as current while they
    /// are still copying the stream from the leader, and a leader lost then leaves the
    /// stream without one (see the `cluster::broker` reproduction). Returns the leader's
    /// node index.
    pub async fn wait_stream_current(&self, js: &jetstream::Context, name: &str, timeout: Duration) -> usize {
        // Raft catch-up has no event a client can await; ask until every copy is whole.
        let what = format!("stream {name} to have a leader with every node holding the stream");
        eventually(what, timeout, || async {
            let state = self.stream_state(js, name).await?;
            let copies_behind: Vec<String> = state
                .copies
                .iter()
                .filter(|(_, copy)| copy.is_none_or(|seq| seq < state.last_sequence))
                .map(|(node, copy)| format!("{node} holds {copy:?}"))
                .collect();
            match state.leader {
                Some(leader) if state.replicas_current && copies_behind.is_empty() => Ok(leader),
                _ => Err(format!(
                    "leader {:?}, replicas current: {}, last sequence {}, copies behind it: [{}]",
                    state.leader.map(|i| self.name(i).to_string()),
                    state.replicas_current,
                    state.last_sequence,
                    copies_behind.join(", ")
                )),
            }
        })
        .await
    }

    /// What stream info says of stream `name`, and what each of its running, unpaused
    /// nodes holds of it by its own account.
    pub async fn stream_state(&self, js: &jetstream::Context, name: &str) -> Result<StreamState, String> {
        let info = stream_info(js, name).await?;
        let replicas_current = replicas_current(&info);
        let cluster = info.cluster.clone().unwrap_or_default();
        let peers = cluster
            .leader
            .iter()
            .chain(cluster.replicas.iter().map(|r| &r.name))
            .filter_map(|peer| self.index_of(peer))
            .filter(|i| self.answers(*i));
        let mut copies = Vec::new();
        for i in peers {
            copies.push((self.name(i).to_string(), self.own_last_sequence(i, name).await));
        }
        Ok(StreamState {
            leader: cluster.leader.as_deref().and_then(|l| self.index_of(l)),
            replicas_current,
            last_sequence: info.state.last_sequence,
            copies,
        })
    }

    /// The last sequence node `i`'s own copy of stream `name` holds, from its monitoring
    /// endpoint; `None` when it does not answer or holds no copy. It answers while the
    /// stream has no leader.
    pub async fn own_last_sequence(&self, i: usize, name: &str) -> Option<u64> {
        let url = format!(
            "http://127.0.0.1:{}/jsz?accounts=true&streams=true",
            self.nodes[i].monitor_port
        );
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .ok()?;
        let jsz = get_json(&client, &url).await.ok()?;
        stream_detail(&jsz, name).and_then(|stream| stream["state"]["last_seq"].as_u64())
    }

    /// Every node's monitoring URL (`http://127.0.0.1:port`), for [`interest_report`].
    pub fn monitor_urls(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|n| format!("http://127.0.0.1:{}", n.monitor_port))
            .collect()
    }

    /// Waits until stream `name` has a leader among the running, unpaused nodes (after its
    /// leader was lost or paused); returns that node's index.
    pub async fn wait_leader(&self, js: &jetstream::Context, name: &str, timeout: Duration) -> usize {
        // An election has no event a client can await; ask until a running node leads.
        let what = format!("stream {name} to have a leader among the running, unpaused nodes");
        eventually(what, timeout, || async {
            let info = async {
                let mut stream = js.get_stream(name).await.map_err(|e| e.to_string())?;
                stream
                    .info()
                    .await
                    .map(|i| i.cluster.clone())
                    .map_err(|e| e.to_string())
            };
            match tokio::time::timeout(Duration::from_secs(2), info).await {
                Ok(Ok(cluster)) => {
                    let leader = cluster.and_then(|c| c.leader);
                    match leader.as_deref().and_then(|l| self.index_of(l)) {
                        Some(i) if self.answers(i) => Ok(i),
                        _ => Err(format!(
                            "stream info names leader {leader:?}, not a running, unpaused node"
                        )),
                    }
                }
                Ok(Err(e)) => Err(format!("stream info failed: {e}")),
                Err(_) => {
                    Err("stream info did not answer within 2 s (the client's server may be the paused one)".into())
                }
            }
        })
        .await
    }

    fn urls_of_running(&self) -> Vec<String> {
        (0..self.nodes.len())
            .filter(|i| self.answers(*i))
            .map(|i| self.url(i))
            .collect()
    }
}

impl Drop for NatsCluster {
    fn drop(&mut self) {
        // SIGKILL ends a paused node too.
        for node in &mut self.nodes {
            if let Some(child) = node.child.as_mut() {
                stop(child);
            }
        }
    }
}

/// Stream info of `name`, or why there is none within 2 s (a stream without a leader
/// answers nothing).
pub async fn stream_info(js: &jetstream::Context, name: &str) -> Result<stream::Info, String> {
    let info = async {
        let mut stream = js.get_stream(name).await.map_err(|e| e.to_string())?;
        stream.info().await.cloned().map_err(|e| e.to_string())
    };
    tokio::time::timeout(Duration::from_secs(2), info)
        .await
        .map_err(|_| "stream info did not answer within 2 s".to_string())?
}

/// Whether stream info reports every replica of the stream there, current and online.
pub fn replicas_current(info: &stream::Info) -> bool {
    let cluster = info.cluster.clone().unwrap_or_default();
    cluster.replicas.len() + 1 >= info.config.num_replicas && cluster.replicas.iter().all(|r| r.current && !r.offline)
}

/// The JSON a node's monitoring endpoint answers at `url`, or why there is none.
async fn get_json(client: &reqwest::Client, url: &str) -> Result<serde_json::Value, String> {
    let response = client.get(url).send().await.map_err(|e| e.to_string())?;
    response.json().await.map_err(|e| e.to_string())
}

/// What a node's `/jsz?accounts=true&streams=true` says of stream `name`, if it holds a copy.
fn stream_detail<'a>(jsz: &'a serde_json::Value, name: &str) -> Option<&'a serde_json::Value> {
    jsz["account_details"]
        .as_array()?
        .iter()
        .flat_map(|account| account["stream_detail"].as_array().into_iter().flatten())
        .find(|stream| stream["name"] == name)
}

/// What each node behind `monitors` holds of stream `stream`, at this moment, from its own
/// `/jsz`: the leader it believes in, its copy's messages and last sequence, and for each
/// consumer of the stream it holds, the consumer's leader as it sees it, what it counts
/// pending and unacknowledged, and the stream sequence its ack floor reached. Printed when
/// two answers of the cluster disagree, so the log says which node answered from where.
pub async fn stream_views(monitors: &[String], stream: &str) -> String {
    let client = match reqwest::Client::builder().timeout(Duration::from_secs(2)).build() {
        Ok(client) => client,
        Err(e) => return format!("no HTTP client: {e}"),
    };
    let mut lines = Vec::new();
    for monitor in monitors {
        let url = format!("{monitor}/jsz?accounts=true&streams=true&consumers=true");
        let jsz = match get_json(&client, &url).await {
            Ok(jsz) => jsz,
            Err(e) => {
                lines.push(format!("{monitor}: does not answer ({e})"));
                continue;
            }
        };
        let node = jsz["server_name"].as_str().unwrap_or(monitor).to_string();
        let Some(detail) = stream_detail(&jsz, stream) else {
            lines.push(format!("{node}: holds no copy of {stream}"));
            continue;
        };
        let consumers: Vec<String> = detail["consumer_detail"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                format!(
                    "consumer {} led by {} ({} pending, {} unacked, ack floor at stream seq {})",
                    c["name"],
                    c["cluster"]["leader"],
                    c["num_pending"],
                    c["num_ack_pending"],
                    c["ack_floor"]["stream_seq"]
                )
            })
            .collect();
        lines.push(format!(
            "{node}: {stream} led by {} as it sees it; its copy holds {} messages, last seq {}; {}",
            detail["cluster"]["leader"],
            detail["state"]["messages"],
            detail["state"]["last_seq"],
            if consumers.is_empty() {
                "no consumer".to_string()
            } else {
                consumers.join("; ")
            }
        ));
    }
    lines.join("\n")
}

/// What each node behind `monitors` says, at this moment, of who receives `subject` and who
/// leads stream `stream`: its routes, the subscriptions it matches to `subject` (local and
/// from routes) and the leader it believes in. A publish answered "no responders" is one
/// whose node matched nothing; this says which node and which interest was missing.
pub async fn interest_report(monitors: &[String], subject: &str, stream: &str) -> String {
    let client = match reqwest::Client::builder().timeout(Duration::from_secs(2)).build() {
        Ok(client) => client,
        Err(e) => return format!("no HTTP client: {e}"),
    };
    let mut lines = Vec::new();
    for monitor in monitors {
        let varz = get_json(&client, &format!("{monitor}/varz")).await;
        let Ok(varz) = varz else {
            lines.push(format!("{monitor}: does not answer"));
            continue;
        };
        let routes = get_json(&client, &format!("{monitor}/routez"))
            .await
            .unwrap_or_default();
        let remotes: Vec<String> = routes["routes"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| format!("{}(rid {})", r["remote_name"].as_str().unwrap_or("?"), r["rid"]))
            .collect();
        let subs = get_json(&client, &format!("{monitor}/subsz?subs=1&test={subject}"))
            .await
            .unwrap_or_default();
        let matched: Vec<String> = subs["subscriptions_list"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| format!("{} on cid {}", s["subject"].as_str().unwrap_or("?"), s["cid"]))
            .collect();
        let jsz = get_json(&client, &format!("{monitor}/jsz?accounts=true&streams=true"))
            .await
            .unwrap_or_default();
        let leader = stream_detail(&jsz, stream)
            .map(|s| format!("{} (last seq {})", s["cluster"]["leader"], s["state"]["last_seq"]));
        lines.push(format!(
            "{}: routes [{}]; subscriptions matching {subject}: [{}]; {stream} leader as it sees it: {}",
            varz["server_name"].as_str().unwrap_or(monitor),
            remotes.join(", "),
            matched.join(", "),
            leader.unwrap_or_else(|| "holds no copy".into())
        ));
    }
    lines.join("\n")
}
