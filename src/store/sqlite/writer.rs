//! The single writer thread: group commit of queued jobs, replies only after COMMIT.

use crate::domain::ports::{Failure, StoreError};
use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

/// What to do once the transaction a job ran in has committed (`None`) or failed.
type Completion = Box<dyn FnOnce(Option<StoreError>) + Send>;
/// A unit of work run inside the writer's transaction, in its own savepoint.
pub(super) type Job = Box<dyn FnOnce(&Connection) -> Completion + Send>;

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

fn commit_batch(conn: &mut Connection, batch: &mut Vec<Job>) {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        let err = to_store_error(e);
        for job in batch.drain(..) {
            job(conn)(Some(err.clone()));
        }
        return;
    }
    let completions: Vec<Completion> = batch.drain(..).map(|job| job(conn)).collect();
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
