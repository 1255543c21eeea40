//! The MongoDB-wire server for tests: `MONGODB_URI` when set, else one SecantusDB per test
//! binary, started on a free port and killed by PID when the binary exits; a database of
//! one test, dropped with it.

use crate::process::{free_port, spawn_until_ready};
use std::io::Write;
use std::path::PathBuf;
use std::process::{ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// The shared server's watchdog pipe: when this process exits the pipe closes and the
/// watchdog shell kills the server by its PID.
static SHARED: OnceLock<(String, Mutex<ChildStdin>)> = OnceLock::new();

/// The URI of a MongoDB-wire server; panics with instructions when none can be had.
pub fn mongo_uri() -> String {
    if shared_is_the_test_server() {
        return SHARED.get_or_init(start_secantus).0.clone();
    }
    std::env::var("MONGODB_URI").unwrap_or_default()
}

/// Whether [`mongo_uri`] is this run's own MongoDB-wire test server, shared by every test
/// of the process, rather than a server `MONGODB_URI` names.
pub fn shared_is_the_test_server() -> bool {
    std::env::var("MONGODB_URI").map_or(true, |uri| uri.is_empty())
}

/// A database name no other test uses.
pub fn unique_database(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

fn secantus_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("SECANTUSD") {
        return PathBuf::from(path);
    }
    let local = crate::workspace_root().join(".venv/bin/secantusd-py");
    if local.exists() {
        return local;
    }
    PathBuf::from("secantusd-py")
}

fn start_secantus() -> (String, Mutex<ChildStdin>) {
    let port = free_port().to_string();
    let binary = secantus_binary();
    let mut cmd = Command::new("sh");
    // The shell keeps the server's PID and kills it when its stdin (our pipe) closes.
    cmd.args(["-c", r#""$@" & pid=$!; read _; kill "$pid"; wait "$pid""#, "watchdog"])
        .arg(&binary)
        .args(["--host", "127.0.0.1", "--port", &port, "--storage-path", ":memory:"])
        .stdin(Stdio::piped());
    cmd.env("PYTHONUNBUFFERED", "1");
    let (mut child, _) = spawn_until_ready(cmd, "listening on", Duration::from_secs(60));
    let stdin = child.stdin.take().expect("watchdog stdin");
    std::mem::forget(child);
    let mut stdin = stdin;
    let _ = stdin.flush();
    (
        format!("mongodb://127.0.0.1:{port}/?directConnection=true"),
        Mutex::new(stdin),
    )
}

/// The test server's URI with `database` as its path, keeping any query string.
pub fn mongo_uri_for(database: &str) -> String {
    let uri = mongo_uri();
    let (scheme, rest) = uri.split_once("://").expect("a mongodb:// URI");
    let (authority, tail) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let query = tail.split_once('?').map(|(_, q)| format!("?{q}")).unwrap_or_default();
    format!("{scheme}://{authority}/{database}{query}")
}

/// The test server's URI for `database` as a client of a replica set sees it: a direct
/// connection to a replica-set member that advertises itself under the URI's own address is
/// rewritten to discover the set (`replicaSet=NAME`). On a direct connection the driver
/// sends a primary read as `primaryPreferred` (server selection's rule for a single server),
/// so a test could not tell it from a secondary-friendly one; through the set, read
/// preferences go on the wire as they would in production. Any other URI is kept.
pub async fn mongo_replica_set_uri_for(database: &str) -> String {
    let uri = mongo_uri_for(database);
    let Some((before, after)) = uri.split_once("directConnection=true") else {
        return uri;
    };
    let client = mongodb::Client::with_uri_str(&uri).await.expect("a MongoDB URI");
    let hello = client
        .database("admin")
        .run_command(mongodb::bson::doc! { "hello": 1 })
        .await
        .expect("hello from the test server");
    let authority = uri
        .split_once("://")
        .and_then(|(_, rest)| rest.split(['/', '?']).next())
        .unwrap_or_default();
    let advertised = hello
        .get_array("hosts")
        .map(|hosts| hosts.iter().any(|h| h.as_str() == Some(authority)))
        .unwrap_or(false);
    match hello.get_str("setName") {
        Ok(set) if advertised => format!("{before}replicaSet={set}{after}"),
        _ => uri,
    }
}

/// A SecantusDB of one test, on disk, that the test can stop and start again on the same
/// port and data: a store outage. Killed by PID when dropped.
pub struct SecantusServer {
    child: Option<std::process::Child>,
    /// Its port.
    pub port: u16,
    dir: tempfile::TempDir,
}

impl SecantusServer {
    /// Starts a server on a free port with a fresh data directory.
    pub fn start() -> Self {
        let mut server = Self {
            child: None,
            port: free_port(),
            dir: tempfile::tempdir().unwrap(),
        };
        server.resume();
        server
    }

    /// `mongodb://127.0.0.1:PORT/DATABASE?directConnection=true`.
    pub fn uri(&self, database: &str) -> String {
        format!("mongodb://127.0.0.1:{}/{database}?directConnection=true", self.port)
    }

    /// Stops the server (SIGTERM, so what it committed is on disk) and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and data directory.
    pub fn resume(&mut self) {
        let mut cmd = Command::new(secantus_binary());
        cmd.args([
            "--host",
            "127.0.0.1",
            "--port",
            &self.port.to_string(),
            "--storage-path",
        ])
        .arg(self.dir.path());
        cmd.env("PYTHONUNBUFFERED", "1");
        let (child, _) = spawn_until_ready(cmd, "listening on", Duration::from_secs(60));
        self.child = Some(child);
    }
}

impl Drop for SecantusServer {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            crate::process::stop(child);
        }
    }
}

/// A database of one test on the test server, dropped when this is dropped: at the end of
/// the test, and also when it panics first.
pub struct TestDatabase {
    name: String,
}

impl TestDatabase {
    /// A database no other test uses, named after `prefix`; it is created by its first write.
    pub fn new(prefix: &str) -> Self {
        Self {
            name: unique_database(prefix),
        }
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The test server's URI with this database as its path (see [`mongo_uri_for`]).
    pub fn uri(&self) -> String {
        mongo_uri_for(&self.name)
    }
}

/// How long dropping a test's database may take before it is left behind: a test that
/// stopped the server must not hang in its cleanup.
const DROP_PATIENCE: Duration = Duration::from_secs(10);

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // `Drop` cannot await, and blocking on the test's own runtime from inside it would
        // panic; a thread with a runtime of its own can block, wherever this is dropped.
        let (uri, name) = (mongo_uri(), self.name.clone());
        let dropped = std::thread::spawn(move || drop_database(&uri, &name)).join();
        if let Ok(Err(e)) = dropped {
            eprintln!("test database {}: not dropped: {e}", self.name);
        }
    }
}

/// Drops database `name` of the server at `uri`, on a runtime of its own.
fn drop_database(uri: &str, name: &str) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let mut options = mongodb::options::ClientOptions::parse(uri).await?;
        options.server_selection_timeout = Some(DROP_PATIENCE);
        let client = mongodb::Client::with_options(options)?;
        tokio::time::timeout(DROP_PATIENCE, client.database(name).drop()).await??;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn database_names() -> Vec<String> {
        let client = mongodb::Client::with_uri_str(mongo_uri()).await.unwrap();
        client.list_database_names().await.unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_test_database_is_dropped_with_its_fixture_even_inside_a_runtime() {
        let database = TestDatabase::new("testkit");
        let name = database.name().to_string();
        let client = mongodb::Client::with_uri_str(database.uri()).await.unwrap();
        let collection = client.database(&name).collection::<mongodb::bson::Document>("probe");
        collection.insert_one(mongodb::bson::doc! { "x": 1 }).await.unwrap();
        assert!(database_names().await.contains(&name), "{name} was created");
        drop(database);
        assert!(!database_names().await.contains(&name), "{name} is gone");
    }
}
