//! The embedded store: SQLite in WAL mode, one writer thread with group commit, pooled readers.

mod maintenance;
mod pager;
mod queries;
mod retention;
mod rows;
mod schedules;
mod schema;
mod wal;
mod writer;

use async_trait::async_trait;
use domain::ports::{AlarmRecord, AlarmStore, DigestClaim, Failure, PreparedDigest, SentDigest, StoreError};
use domain::query::{AckOutcome, AlarmFilter, Counts, HistoryEntry, HistoryLimits, Page, PageRequest};
use domain::retention::{Sweep, Swept};
use domain::{AlarmEvent, AlarmId, ApplyOutcome, DueAlarm, EventTime, UserId};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use store_codec::prepared;
use tokio::sync::{mpsc, oneshot};
use wal::{WalFile, WAL_SIZE_LIMIT};
use writer::{job, probe, to_store_error, Job, WriteHealth};

/// How much SQLite syncs to disk at commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous=FULL`: a committed event survives a power loss.
    #[default]
    Full,
    /// `synchronous=NORMAL`: survives a crash of the process, may lose the last commits on
    /// power loss.
    Normal,
}

/// The writer connection's page cache, KiB.
const WRITER_CACHE_KIB: u32 = 16 * 1024;
/// WAL pages written before a checkpoint copies them into the database (SQLite's default
/// is 1,000). Kept for ingest speed; [`wal`] bounds what the WAL keeps afterwards.
const CHECKPOINT_PAGES: u32 = 8_000;
/// How long after a write failed `ping` answers with that failure rather than trying a
/// write of its own: longer than intake's longest pause between retries (5 s, up to twice
/// that with jitter), so while intake retries, only its own writes can bring readiness
/// back. A probe is one page; it can fit where a batch of events does not.
const PROBE_AFTER_QUIET: Duration = Duration::from_secs(15);

/// Tuning of the embedded store.
#[derive(Debug, Clone, Copy, Default)]
pub struct SqliteOptions {
    /// What a commit promises.
    pub durability: Durability,
    /// How much event history is kept.
    pub history: HistoryLimits,
}

/// The embedded [`AlarmStore`].
#[derive(Clone)]
pub struct SqliteStore {
    writer: mpsc::Sender<Job>,
    writes: Arc<WriteHealth>,
    probe_after: Duration,
    readers: Option<Arc<ReaderPool>>,
    history: HistoryLimits,
}

/// Read-only connections to a file database; WAL lets them read while the writer writes.
struct ReaderPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl ReaderPool {
    fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, StoreError> {
        let conn = self
            .idle
            .lock()
            .map_err(|_| StoreError::Unavailable("reader pool poisoned".into()))?
            .pop();
        let conn = match conn {
            Some(c) => c,
            None => open_reader(&self.path).map_err(to_store_error)?,
        };
        let result = f(&conn).map_err(to_store_error);
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(conn);
        }
        result
    }
}

fn open_reader(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    Ok(conn)
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl SqliteStore {
    /// Opens (creating if needed, parent directories included) the database at `path`.
    pub fn open(path: impl AsRef<Path>, options: SqliteOptions) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| StoreError::Unavailable(format!("{}: {e}", parent.display()).into()))?;
        }
        let conn = Connection::open(&path).map_err(to_store_error)?;
        let sync = match options.durability {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        };
        // The writer's statement journals (one savepoint per job) stay in memory, its page
        // cache holds the hot part of the indexes instead of re-reading it per event, and
        // the WAL is checkpointed less often, so a page written by many commits is copied
        // back once; the WAL file is truncated back to a bound after each checkpoint.
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = {sync}; PRAGMA foreign_keys = ON;
             PRAGMA temp_store = MEMORY; PRAGMA cache_size = -{WRITER_CACHE_KIB};
             PRAGMA wal_autocheckpoint = {CHECKPOINT_PAGES};
             PRAGMA journal_size_limit = {WAL_SIZE_LIMIT};"
        ))
        .map_err(to_store_error)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(to_store_error)?;
        schema::migrate(&conn).map_err(to_store_error)?;
        let wal = WalFile::of(&path);
        let readers = Arc::new(ReaderPool {
            path,
            idle: Mutex::new(Vec::new()),
        });
        let (writer, writes) = spawn_writer(conn, Some(wal));
        Ok(Self {
            writer,
            writes,
            probe_after: PROBE_AFTER_QUIET,
            readers: Some(readers),
            history: options.history,
        })
    }

    /// A private in-memory database, for tests and demos; reads go through the writer.
    pub fn open_in_memory(history: HistoryLimits) -> Result<Self, StoreError> {
        let conn = Connection::open_in_memory().map_err(to_store_error)?;
        schema::migrate(&conn).map_err(to_store_error)?;
        let (writer, writes) = spawn_writer(conn, None);
        Ok(Self {
            writer,
            writes,
            probe_after: PROBE_AFTER_QUIET,
            readers: None,
            history,
        })
    }

    async fn write<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (job, done) = job(work);
        self.submit(job, done).await
    }

    async fn submit<T>(&self, job: Job, done: oneshot::Receiver<Result<T, StoreError>>) -> Result<T, StoreError> {
        self.writer
            .send(job)
            .await
            .map_err(|_| StoreError::Unavailable("writer stopped".into()))?;
        await_reply(done).await
    }

    async fn read<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        match &self.readers {
            Some(pool) => {
                let pool = Arc::clone(pool);
                tokio::task::spawn_blocking(move || pool.with(work))
                    .await
                    .map_err(|e| StoreError::Unavailable(format!("reader task failed: {e}").into()))?
            }
            None => self.write(work).await,
        }
    }
}

async fn await_reply<T>(done: oneshot::Receiver<Result<T, StoreError>>) -> Result<T, StoreError> {
    done.await
        .map_err(|_| StoreError::Unavailable("writer stopped before answering".into()))?
}

fn spawn_writer(conn: Connection, wal: Option<WalFile>) -> (mpsc::Sender<Job>, Arc<WriteHealth>) {
    let (tx, rx) = mpsc::channel(4096);
    let health = Arc::new(WriteHealth::default());
    let writes = Arc::clone(&health);
    std::thread::Builder::new()
        .name("sqlite-writer".into())
        .spawn(move || writer::run(conn, rx, writes, wal))
        .expect("spawning the SQLite writer thread");
    (tx, health)
}

#[async_trait]
impl AlarmStore for SqliteStore {
    async fn apply(&self, events: &[AlarmEvent]) -> Result<Vec<ApplyOutcome>, StoreError> {
        let events = events.to_vec();
        let cap = self.history.events_per_alarm;
        self.write(move |conn| {
            let now = now_ms();
            events.iter().map(|ev| rows::apply_event(conn, ev, now, cap)).collect()
        })
        .await
    }

    async fn due_alarms(&self, user: &UserId) -> Result<Vec<DueAlarm>, StoreError> {
        let user = user.clone();
        self.read(move |conn| rows::due_alarms(conn, &user)).await
    }

    async fn prepare_digest(&self, claim: &DigestClaim, digest: &PreparedDigest) -> Result<bool, StoreError> {
        let (claim, digest) = (claim.clone(), digest.clone());
        self.write(move |conn| rows::prepare(conn, &claim, &digest)).await
    }

    async fn abandon_digest(&self, claim: &DigestClaim) -> Result<bool, StoreError> {
        let claim = claim.clone();
        self.write(move |conn| rows::abandon(conn, &claim)).await
    }

    async fn record_delivery(&self, claim: &DigestClaim, digest: &PreparedDigest) -> Result<bool, StoreError> {
        let (claim, digest) = (claim.clone(), digest.clone());
        self.write(move |conn| rows::record_delivery(conn, &claim, &digest, now_ms()))
            .await
    }

    async fn sent_digests(&self, user: &UserId) -> Result<Vec<SentDigest>, StoreError> {
        let user = user.clone();
        let text = self.read(move |conn| rows::sent_digests(conn, &user)).await?;
        prepared::decode_sent(&text)
    }

    async fn claim_digest(
        &self,
        user: &UserId,
        holder: &str,
        now: EventTime,
        ttl: Duration,
    ) -> Result<Option<DigestClaim>, StoreError> {
        let (user, holder) = (user.clone(), holder.to_string());
        let now_ms = now.as_nanos() / 1_000_000;
        let expires = now_ms.saturating_add(ttl.as_millis() as i64);
        self.write(move |conn| rows::claim(conn, &user, &holder, now_ms, expires))
            .await
    }

    async fn release_digest(&self, claim: &DigestClaim) -> Result<bool, StoreError> {
        let claim = claim.clone();
        self.write(move |conn| rows::release(conn, &claim)).await
    }

    async fn alarm(&self, user: &UserId, alarm: &AlarmId) -> Result<Option<AlarmRecord>, StoreError> {
        let (user, alarm) = (user.clone(), alarm.clone());
        self.read(move |conn| rows::alarm(conn, &user, &alarm)).await
    }

    async fn list_alarms(&self, filter: &AlarmFilter, page: &PageRequest) -> Result<Page<AlarmRecord>, StoreError> {
        let (filter, page) = (filter.clone(), page.clone());
        self.read(move |conn| queries::list(conn, &filter, &page)).await
    }

    async fn history(&self, user: &UserId, alarm: &AlarmId) -> Result<Vec<HistoryEntry>, StoreError> {
        let (user, alarm) = (user.clone(), alarm.clone());
        let cap = self.history.events_per_alarm;
        self.read(move |conn| queries::history(conn, &user, &alarm, cap)).await
    }

    async fn acknowledge(&self, user: &UserId, alarm: &AlarmId, at: EventTime) -> Result<AckOutcome, StoreError> {
        let (user, alarm) = (user.clone(), alarm.clone());
        self.write(move |conn| queries::acknowledge(conn, &user, &alarm, at))
            .await
    }

    async fn counts(&self) -> Result<Counts, StoreError> {
        self.read(queries::counts).await
    }

    async fn trim_history(&self) -> Result<u64, StoreError> {
        let limits = self.history;
        self.write(move |conn| queries::trim_history(conn, limits)).await
    }

    async fn sweep(&self, sweep: &Sweep) -> Result<Swept, StoreError> {
        let sweep = *sweep;
        self.write(move |conn| retention::sweep(conn, &sweep, now_ms())).await
    }

    /// Answers while the store takes writes: a read while the last write committed; while
    /// it failed (a full disk still answers reads), that failure, until a write commits
    /// again, and once no write failed for a while, a one-page write of its own, so
    /// readiness comes back when space does even without traffic.
    async fn ping(&self) -> Result<(), StoreError> {
        if self.writer.is_closed() {
            return Err(StoreError::Unavailable("the writer thread stopped".into()));
        }
        match self.writes.failure() {
            None => self.read(|conn| conn.query_row("SELECT 1", [], |_| Ok(()))).await,
            Some((cause, at)) if at.elapsed() < self.probe_after => {
                let message = format!("the last write failed {}s ago: {cause}", at.elapsed().as_secs());
                Err(StoreError::Unavailable(Failure::from(message).with_cause(cause)))
            }
            Some(_) => {
                let (job, done) = probe();
                self.submit(job, done).await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    /// A store whose database refuses to grow past its present size, as on a full disk.
    async fn full_store(dir: &Path) -> SqliteStore {
        let store = SqliteStore::open(dir.join("alarms.db"), SqliteOptions::default()).unwrap();
        store
            .write(|c| {
                c.execute_batch("CREATE TABLE filler (b BLOB)")?;
                let pages: i64 = c.query_row("PRAGMA page_count", [], |r| r.get(0))?;
                c.execute_batch(&format!("PRAGMA max_page_count = {pages}"))
            })
            .await
            .unwrap();
        store
    }

    async fn fill(store: &SqliteStore) -> Result<usize, StoreError> {
        store
            .write(|c| c.execute("INSERT INTO filler VALUES (zeroblob(1000000))", []))
            .await
    }

    fn is_disk_full(error: &StoreError) -> bool {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = error.source();
        while let Some(e) = cause {
            if let Some(driver) = e.downcast_ref::<rusqlite::Error>() {
                return driver.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull);
            }
            cause = e.source();
        }
        false
    }

    #[tokio::test]
    async fn ping_fails_with_the_write_failure_while_reads_still_answer_until_a_write_commits() {
        let dir = tempfile::tempdir().unwrap();
        let store = full_store(dir.path()).await;
        store.ping().await.unwrap();
        assert!(fill(&store).await.is_err(), "the database is full");
        for _ in 0..3 {
            let error = store.ping().await.expect_err("no write committed since the failure");
            assert!(error.is_transient(), "{error}");
            assert!(is_disk_full(&error), "the full disk is the cause: {error}");
            store.counts().await.expect("reads still answer");
        }
        store
            .write(|c| c.execute_batch("PRAGMA max_page_count = 1000000"))
            .await
            .unwrap();
        assert!(
            store.ping().await.is_err(),
            "a write that changed nothing proves nothing"
        );
        fill(&store).await.unwrap();
        store.ping().await.unwrap();
    }

    #[tokio::test]
    async fn ping_tries_a_write_of_its_own_once_no_write_failed_for_a_while() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = full_store(dir.path()).await;
        store.probe_after = Duration::ZERO;
        assert!(fill(&store).await.is_err());
        // The probe rewrites one page that exists already, so it commits on this
        // "full" database: readiness comes back with no traffic to prove it.
        store.ping().await.expect("the probe committed");
        assert!(store.writes.failure().is_none());
    }
    #[tokio::test]
    async fn an_idle_store_truncates_a_wal_grown_past_its_bound() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alarms.db");
        let store = SqliteStore::open(&path, SqliteOptions::default()).unwrap();
        store
            .write(|c| c.execute_batch("CREATE TABLE filler (b BLOB)"))
            .await
            .unwrap();
        for _ in 0..6 {
            fill(&store).await.unwrap();
        }
        let wal = WalFile::of(&path);
        assert!(wal.oversized(), "{} bytes", wal.size());
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while wal.oversized() {
            assert!(std::time::Instant::now() < deadline, "still {} bytes", wal.size());
            // The writer shrinks it on its own once idle; nothing to await from here.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        fill(&store).await.expect("the writer still writes after shrinking");
        store.ping().await.unwrap();
    }
}
