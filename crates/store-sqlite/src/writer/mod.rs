//! The single writer thread: group commit of queued jobs, replies only after COMMIT, and
//! what its last write says about the disk.

use super::wal::WalFile;
use domain::ports::{Failure, StoreError};
use rusqlite::Connection;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::{mpsc, oneshot};

/// What to do once the transaction a job ran in has committed (`None`) or failed.
type Completion = Box<dyn FnOnce(Option<StoreError>) + Send>;
/// A unit of work run inside the writer's transaction, in its own savepoint; given no
/// connection (the transaction could not begin), it does not run and reports the error.
pub(super) type Job = Box<dyn FnOnce(Option<&Connection>) -> Ran + Send>;

/// A job that ran: what completes it, and what its own work said about writing.
pub(super) struct Ran {
    complete: Completion,
    work: Work,
}

/// What a job's work did before COMMIT.
#[derive(Debug, Clone)]
enum Work {
    /// Changed something, so its COMMIT has to reach the disk.
    Wrote,
    /// Succeeded without changing anything (a COMMIT of nothing proves nothing).
    Unchanged,
    /// Failed; transient failures (full disk, IO) count against the store's health.
    Failed(StoreError),
}

/// The most jobs committed together; bounds the latency a single commit adds.
const MAX_JOBS_PER_COMMIT: usize = 512;

/// Whether the writer's last write reached the disk. On a full disk reads still answer
/// while every write fails, so readiness asks this rather than a read.
#[derive(Debug, Default)]
pub(super) struct WriteHealth {
    last_failure: Mutex<Option<(StoreError, Instant)>>,
}

impl WriteHealth {
    /// The transient failure (full disk, IO, busy) of the last write and when it happened;
    /// `None` when nothing failed or a write committed since.
    pub(super) fn failure(&self) -> Option<(StoreError, Instant)> {
        self.last_failure.lock().ok().and_then(|f| f.clone())
    }

    fn failed(&self, error: &StoreError) {
        if !error.is_transient() {
            return;
        }
        if let Ok(mut last) = self.last_failure.lock() {
            *last = Some((error.clone(), Instant::now()));
        }
    }

    /// A write committed; true when it is the first since a failure.
    fn committed(&self) -> bool {
        self.last_failure
            .lock()
            .map(|mut last| last.take().is_some())
            .unwrap_or(false)
    }
}

/// Wraps `work` as a job whose result reaches the returned receiver only after commit.
pub(super) fn job<T, F>(work: F) -> (Job, oneshot::Receiver<Result<T, StoreError>>)
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
{
    build(work, false)
}

/// The smallest write that has to reach the disk: it rewrites the database header's
/// application id with its own value, so the header page goes to the WAL at COMMIT.
pub(super) fn probe() -> (Job, oneshot::Receiver<Result<(), StoreError>>) {
    build(
        |conn| {
            let id: i64 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
            conn.execute_batch(&format!("PRAGMA application_id = {id}"))
        },
        true,
    )
}

/// A job running `work`; `always_writes` for work whose writes SQLite does not count as
/// changed rows (a header field).
fn build<T, F>(work: F, always_writes: bool) -> (Job, oneshot::Receiver<Result<T, StoreError>>)
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
{
    let (tx, rx) = oneshot::channel();
    let job: Job = Box::new(move |conn| {
        let Some(conn) = conn else {
            return Ran {
                complete: Box::new(move |error: Option<StoreError>| {
                    let error =
                        error.unwrap_or_else(|| StoreError::Unavailable("the transaction did not begin".into()));
                    let _ = tx.send(Err(error));
                }),
                work: Work::Unchanged,
            };
        };
        let changes_before = conn.total_changes();
        let outcome = run_in_savepoint(conn, work);
        let work = match &outcome {
            Err(e) => Work::Failed(e.clone()),
            Ok(_) if always_writes || conn.total_changes() > changes_before => Work::Wrote,
            Ok(_) => Work::Unchanged,
        };
        let complete: Completion = Box::new(move |commit_error| {
            let result = match (outcome, commit_error) {
                (Err(e), _) => Err(e),
                (Ok(_), Some(e)) => Err(e),
                (Ok(v), None) => Ok(v),
            };
            let _ = tx.send(result);
        });
        Ran { complete, work }
    });
    (job, rx)
}

fn run_in_savepoint<T>(
    conn: &Connection,
    work: impl FnOnce(&Connection) -> rusqlite::Result<T>,
) -> Result<T, StoreError> {
    conn.execute_batch("SAVEPOINT job").map_err(to_store_error)?;
    match work(conn) {
        Ok(v) => {
            conn.execute_batch("RELEASE job").map_err(to_store_error)?;
            Ok(v)
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK TO job; RELEASE job");
            Err(to_store_error(e))
        }
    }
}

/// Runs until every sender is gone: takes all queued jobs, runs them in one transaction,
/// commits, then completes each. With a WAL file, it also keeps that file small: right
/// after the first commit that follows failed ones (what failed commits appended is
/// garbage holding disk space), and whenever no job came for [`super::wal::IDLE`] while
/// the file is over its bound.
pub(super) fn run(mut conn: Connection, mut rx: mpsc::Receiver<Job>, health: Arc<WriteHealth>, wal: Option<WalFile>) {
    // Only to wait for the next job with a deadline; the writer never runs async work.
    let clock = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("building the SQLite writer's timer");
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_JOBS_PER_COMMIT);
    let mut shrink_when_idle = false;
    loop {
        let first = match (&wal, shrink_when_idle) {
            (Some(wal), true) => {
                match clock.block_on(async { tokio::time::timeout(super::wal::IDLE, rx.recv()).await }) {
                    Ok(next) => next,
                    Err(_idle) => {
                        wal.shrink_or_warn(&conn);
                        shrink_when_idle = wal.oversized();
                        continue;
                    }
                }
            }
            _ => clock.block_on(rx.recv()),
        };
        let Some(first) = first else { return };
        batch.push(first);
        while batch.len() < MAX_JOBS_PER_COMMIT {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let recovered = commit_batch(&mut conn, &mut batch, &health);
        if let Some(wal) = &wal {
            if recovered {
                wal.shrink_or_warn(&conn);
            }
            shrink_when_idle = health.failure().is_none() && wal.oversized();
        }
    }
}

/// Runs `batch` in one transaction and completes each job after COMMIT. A job whose
/// transaction cannot begin or commit is reported failed and leaves nothing behind, so a
/// retry of it (intake retries through a full disk) is counted once.
///
/// `health` learns the outcome: a BEGIN, a job or a COMMIT failing transiently marks the
/// store failed; a COMMIT of something changed marks it healthy again (true when that
/// ends a failure). A COMMIT of nothing changes neither, since it touches no disk.
fn commit_batch(conn: &mut Connection, batch: &mut Vec<Job>, health: &WriteHealth) -> bool {
    // A COMMIT and a ROLLBACK that both failed (a full disk) leave the transaction open;
    // what it holds was reported failed, so it goes before anything new begins.
    if !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        let err = to_store_error(e);
        health.failed(&err);
        for job in batch.drain(..) {
            (job(None).complete)(Some(err.clone()));
        }
        return false;
    }
    let mut ran: Vec<Ran> = Vec::with_capacity(batch.len());
    // A statement failing on a full disk can make SQLite roll the whole transaction back
    // on its own; the jobs after it must not then run (and commit) one by one outside it.
    let mut lost: Option<StoreError> = None;
    for job in batch.drain(..) {
        let r = job(if lost.is_some() { None } else { Some(conn) });
        if lost.is_none() && conn.is_autocommit() {
            lost = Some(match &r.work {
                Work::Failed(e) => e.clone(),
                _ => StoreError::Unavailable("the transaction was rolled back".into()),
            });
        }
        ran.push(r);
    }
    let commit_error = match lost {
        Some(e) => Some(e),
        None => conn.execute_batch("COMMIT").err().map(|e| {
            let _ = conn.execute_batch("ROLLBACK");
            to_store_error(e)
        }),
    };
    let mut recovered = false;
    if commit_error.is_none() && ran.iter().any(|r| matches!(r.work, Work::Wrote)) {
        recovered = health.committed();
    } else {
        for r in &ran {
            if let Work::Failed(e) = &r.work {
                health.failed(e);
            }
        }
        if let Some(e) = &commit_error {
            health.failed(e);
        }
    }
    for r in ran {
        (r.complete)(commit_error.clone());
    }
    recovered
}

/// Maps SQLite failures to the port's meanings: busy, locked, IO and full disk are worth
/// retrying; anything else is a rejection.
pub(super) fn to_store_error(e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode::*;
    match e.sqlite_error_code() {
        Some(DatabaseBusy | DatabaseLocked | SystemIoFailure | DiskFull | CannotOpen | OutOfMemory) => {
            StoreError::Unavailable(Failure::caused_by(e))
        }
        _ => StoreError::Rejected(Failure::caused_by(e)),
    }
}

#[cfg(test)]
mod tests;
