//! The single writer thread: group commit of queued jobs, replies only after COMMIT.

use crate::domain::ports::{Failure, StoreError};
use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

/// What to do once the transaction a job ran in has committed (`None`) or failed.
type Completion = Box<dyn FnOnce(Option<StoreError>) + Send>;
/// A unit of work run inside the writer's transaction, in its own savepoint; given no
/// connection (the transaction could not begin), it does not run and reports the error.
pub(super) type Job = Box<dyn FnOnce(Option<&Connection>) -> Completion + Send>;

/// The most jobs committed together; bounds the latency a single commit adds.
const MAX_JOBS_PER_COMMIT: usize = 512;

/// Wraps `work` as a job whose result reaches the returned receiver only after commit.
pub(super) fn job<T, F>(work: F) -> (Job, oneshot::Receiver<Result<T, StoreError>>)
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
{
    let (tx, rx) = oneshot::channel();
    let job: Job = Box::new(move |conn| {
        let Some(conn) = conn else {
            return Box::new(move |error: Option<StoreError>| {
                let error = error.unwrap_or_else(|| StoreError::Unavailable("the transaction did not begin".into()));
                let _ = tx.send(Err(error));
            });
        };
        let outcome = run_in_savepoint(conn, work);
        Box::new(move |commit_error| {
            let result = match (outcome, commit_error) {
                (Err(e), _) => Err(e),
                (Ok(_), Some(e)) => Err(e),
                (Ok(v), None) => Ok(v),
            };
            let _ = tx.send(result);
        })
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
/// commits, then completes each.
pub(super) fn run(mut conn: Connection, mut rx: mpsc::Receiver<Job>) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_JOBS_PER_COMMIT);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_JOBS_PER_COMMIT {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        commit_batch(&mut conn, &mut batch);
    }
}

/// Runs `batch` in one transaction and completes each job after COMMIT. A job whose
/// transaction cannot begin or commit is reported failed and leaves nothing behind, so a
/// retry of it (intake retries through a full disk) is counted once.
fn commit_batch(conn: &mut Connection, batch: &mut Vec<Job>) {
    // A COMMIT and a ROLLBACK that both failed (a full disk) leave the transaction open;
    // what it holds was reported failed, so it goes before anything new begins.
    if !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        let err = to_store_error(e);
        for job in batch.drain(..) {
            job(None)(Some(err.clone()));
        }
        return;
    }
    let completions: Vec<Completion> = batch.drain(..).map(|job| job(Some(conn))).collect();
    let commit_error = conn.execute_batch("COMMIT").err().map(|e| {
        let _ = conn.execute_batch("ROLLBACK");
        to_store_error(e)
    });
    for complete in completions {
        complete(commit_error.clone());
    }
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
mod tests {
    use super::*;
    use std::error::Error as _;

    fn rows(conn: &Connection) -> Vec<i64> {
        let mut statement = conn.prepare("SELECT x FROM t ORDER BY x").unwrap();
        let rows = statement.query_map([], |r| r.get(0)).unwrap();
        rows.map(Result::unwrap).collect()
    }

    #[test]
    fn a_job_reported_failed_leaves_nothing_behind_even_after_a_transaction_left_open() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (x INTEGER)").unwrap();
        // What a COMMIT and a ROLLBACK that both failed on a full disk leave: an open
        // transaction holding work that was reported failed.
        conn.execute_batch("BEGIN; INSERT INTO t VALUES (0);").unwrap();
        let (work, mut answer) = job(|c| c.execute("INSERT INTO t VALUES (1)", []));
        commit_batch(&mut conn, &mut vec![work]);
        let reported = answer.try_recv().expect("the job is answered after its commit");
        let _ = conn.execute_batch("COMMIT");
        // Before, the job ran outside a transaction that never began, was reported failed
        // and still landed: its retry then counted its events twice.
        match reported {
            Ok(_) => assert_eq!(rows(&conn), [1], "the reported-failed work is gone, this job committed"),
            Err(e) => assert!(
                rows(&conn).is_empty(),
                "reported failed ({e}) but written: {:?}",
                rows(&conn)
            ),
        }
    }

    #[test]
    fn a_job_whose_transaction_cannot_begin_does_not_run() {
        let (work, mut answer) = job(|c: &Connection| c.execute("INSERT INTO t VALUES (1)", []));
        let complete = work(None);
        complete(Some(StoreError::Unavailable("disk full".into())));
        assert!(matches!(answer.try_recv().unwrap(), Err(StoreError::Unavailable(_))));
    }

    #[test]
    fn a_sqlite_failure_keeps_the_driver_error_as_its_source() {
        let busy = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
            Some("database is locked".into()),
        );
        let error = to_store_error(busy);
        assert!(error.is_transient());
        let failure = error.source().expect("the failure is the store error's source");
        let driver = failure.source().expect("the driver error is the failure's source");
        assert!(driver.downcast_ref::<rusqlite::Error>().is_some(), "{driver}");
    }
}
