//! The writer's rules: group commit, failures that leave nothing behind, the write health readiness reads.

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
    commit_batch(&mut conn, &mut vec![work], &WriteHealth::default());
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

/// A database that refuses to grow past its present size, as a full disk does.
fn full_database() -> Connection {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch("CREATE TABLE t (x INTEGER); CREATE TABLE filler (b BLOB);")
        .unwrap();
    let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap();
    conn.execute_batch(&format!("PRAGMA max_page_count = {pages}")).unwrap();
    conn
}

fn commit(conn: &mut Connection, health: &WriteHealth, jobs: Vec<Job>) -> bool {
    commit_batch(conn, &mut { jobs }, health)
}

fn fill(conn: &Connection) -> rusqlite::Result<usize> {
    conn.execute("INSERT INTO filler VALUES (zeroblob(1000000))", [])
}

fn read(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0))
}

#[test]
fn a_write_failing_on_a_full_disk_marks_writes_failed_until_a_write_commits() {
    let mut conn = full_database();
    let health = WriteHealth::default();
    let (work, mut answer) = job(fill);
    assert!(!commit(&mut conn, &health, vec![work]));
    assert!(matches!(answer.try_recv().unwrap(), Err(StoreError::Unavailable(_))));
    let (cause, _) = health.failure().expect("the full disk is remembered");
    let driver = cause.source().and_then(|f| f.source()).unwrap();
    let code = driver
        .downcast_ref::<rusqlite::Error>()
        .and_then(|e| e.sqlite_error_code());
    assert_eq!(code, Some(rusqlite::ErrorCode::DiskFull), "{cause}");

    conn.execute_batch("PRAGMA max_page_count = 100000").unwrap();
    let (work, _) = job(|c| c.execute("INSERT INTO t VALUES (1)", []));
    assert!(
        commit(&mut conn, &health, vec![work]),
        "the first commit after failures says so"
    );
    assert!(health.failure().is_none());
    let (work, _) = job(|c| c.execute("INSERT INTO t VALUES (2)", []));
    assert!(!commit(&mut conn, &health, vec![work]), "only the first");
}

#[test]
fn a_commit_that_changed_nothing_does_not_end_a_failure() {
    let mut conn = full_database();
    let health = WriteHealth::default();
    let (work, _) = job(fill);
    commit(&mut conn, &health, vec![work]);
    // Reads and no-op writes commit on a full disk: they prove nothing about it.
    let (counting, mut counted) = job(read);
    let (no_op, _) = job(|c| c.execute("DELETE FROM t WHERE x = 42", []));
    assert!(!commit(&mut conn, &health, vec![counting, no_op]));
    assert_eq!(counted.try_recv().unwrap().unwrap(), 0, "the read itself is answered");
    assert!(health.failure().is_some(), "still failed");
}

#[test]
fn a_batch_whose_other_jobs_committed_changes_ends_a_failure() {
    let mut conn = full_database();
    let health = WriteHealth::default();
    let (work, _) = job(fill);
    commit(&mut conn, &health, vec![work]);
    conn.execute_batch("PRAGMA max_page_count = 100000").unwrap();
    let (rejected, _) = job(|c| c.execute("INSERT INTO no_such_table VALUES (1)", []));
    let (wrote, _) = job(|c| c.execute("INSERT INTO t VALUES (1)", []));
    assert!(commit(&mut conn, &health, vec![rejected, wrote]));
    assert!(health.failure().is_none());
}

#[test]
fn a_transaction_sqlite_rolled_back_on_a_full_disk_fails_every_job_of_its_batch() {
    let mut conn = full_database();
    let health = WriteHealth::default();
    let (before, mut before_answer) = job(|c| c.execute("INSERT INTO t VALUES (1)", []));
    let (filling, _) = job(fill);
    let (after, mut after_answer) = job(|c| c.execute("INSERT INTO t VALUES (2)", []));
    commit(&mut conn, &health, vec![before, filling, after]);
    let answers = [before_answer.try_recv().unwrap(), after_answer.try_recv().unwrap()];
    // Whatever SQLite did, each job's answer says whether it is stored.
    for (answer, x) in [(&answers[0], 1), (&answers[1], 2)] {
        assert_eq!(
            answer.is_ok(),
            rows(&conn).contains(&x),
            "job {x}: {answer:?} vs {:?}",
            rows(&conn)
        );
    }
    assert!(health.failure().is_some());
}

#[test]
fn a_rejected_job_does_not_count_against_the_disk() {
    let mut conn = Connection::open_in_memory().unwrap();
    let health = WriteHealth::default();
    let (work, mut answer) = job(|c| c.execute("INSERT INTO no_such_table VALUES (1)", []));
    commit(&mut conn, &health, vec![work]);
    assert!(matches!(answer.try_recv().unwrap(), Err(StoreError::Rejected(_))));
    assert!(health.failure().is_none());
}

#[test]
fn a_transaction_that_cannot_begin_marks_writes_failed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let mut conn = Connection::open(&path).unwrap();
    conn.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (x INTEGER)")
        .unwrap();
    let other = Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    conn.busy_timeout(std::time::Duration::ZERO).unwrap();
    let health = WriteHealth::default();
    let (work, mut answer) = job(|c| c.execute("INSERT INTO t VALUES (1)", []));
    commit(&mut conn, &health, vec![work]);
    assert!(answer.try_recv().unwrap().is_err());
    assert!(health.failure().is_some(), "a BEGIN that failed counts");
    other.execute_batch("ROLLBACK").unwrap();
    let (work, _) = job(|c| c.execute("INSERT INTO t VALUES (1)", []));
    assert!(commit(&mut conn, &health, vec![work]));
    assert!(health.failure().is_none());
}

#[test]
fn a_probe_writes_to_the_wal_though_it_changes_no_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let mut conn = Connection::open(&path).unwrap();
    conn.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (x INTEGER)")
        .unwrap();
    let wal = WalFile::of(&path);
    assert!(wal.shrink(&conn).unwrap());
    assert_eq!(wal.size(), 0);
    let health = WriteHealth::default();
    health.failed(&StoreError::Unavailable("disk full".into()));
    let (work, mut answer) = probe();
    assert!(
        commit(&mut conn, &health, vec![work]),
        "a committed probe ends the failure"
    );
    answer.try_recv().unwrap().unwrap();
    assert!(wal.size() > 0, "the probe's page reached the WAL");
    let rows: i64 = read(&conn).unwrap();
    assert_eq!(rows, 0);
}

#[test]
fn a_job_whose_transaction_cannot_begin_does_not_run() {
    let (work, mut answer) = job(|c: &Connection| c.execute("INSERT INTO t VALUES (1)", []));
    (work(None).complete)(Some(StoreError::Unavailable("disk full".into())));
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
