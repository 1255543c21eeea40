//! Keeping the WAL file bounded: SQLite truncates it back after checkpoints, and the
//! writer checkpoints it away when idle or just recovered from failed writes.

use domain::failure::Chain;
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `PRAGMA journal_size_limit`, bytes: what SQLite truncates the WAL file back to when it
/// starts it over after a checkpoint. Without it the file keeps its largest size forever
/// (34 MB beside a 9 MB database after a full disk). Under sustained load the WAL still
/// grows to about [`super::CHECKPOINT_PAGES`] pages between checkpoints; this bounds what
/// stays behind, and is also the size over which an idle writer checkpoints it away.
pub(super) const WAL_SIZE_LIMIT: u64 = 4 * 1024 * 1024;

/// How long without a job before the writer counts as idle and shrinks an oversized WAL.
/// Longer than the gaps between intake batches, so deferred checkpoints stay deferred
/// while events flow.
pub(super) const IDLE: Duration = Duration::from_secs(1);

/// The WAL file beside a database file.
#[derive(Debug, Clone)]
pub(super) struct WalFile {
    path: PathBuf,
}

impl WalFile {
    /// The WAL of the database at `database` (SQLite names it `<database>-wal`).
    pub(super) fn of(database: &Path) -> Self {
        let mut path = database.as_os_str().to_owned();
        path.push("-wal");
        Self { path: path.into() }
    }

    /// Its size in bytes now; 0 when there is none.
    pub(super) fn size(&self) -> u64 {
        std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0)
    }

    /// Whether it is larger than [`WAL_SIZE_LIMIT`].
    pub(super) fn oversized(&self) -> bool {
        self.size() > WAL_SIZE_LIMIT
    }

    /// Copies every frame into the database and truncates the WAL to nothing; false when
    /// readers of older snapshots outlasted the busy timeout, and the WAL was left as it
    /// was. An error when the disk refused the copy (the database has to grow into space
    /// the WAL holds), the WAL again left as it was.
    pub(super) fn shrink(&self, conn: &Connection) -> rusqlite::Result<bool> {
        let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
        Ok(busy == 0)
    }

    /// [`WalFile::shrink`], saying at WARN when it could not.
    pub(super) fn shrink_or_warn(&self, conn: &Connection) {
        let before = self.size();
        match self.shrink(conn) {
            Ok(true) => tracing::debug!(before, after = self.size(), "WAL checkpointed and truncated"),
            Ok(false) => tracing::debug!(before, "WAL checkpoint waited out by readers; trying again when idle"),
            Err(e) => tracing::warn!(error = %Chain(&e), before, "WAL checkpoint failed; trying again when idle"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wal_database(dir: &Path) -> (Connection, WalFile) {
        let path = dir.join("t.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;
             PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}; CREATE TABLE t (x BLOB);"
        ))
        .unwrap();
        (conn, WalFile::of(&path))
    }

    #[test]
    fn shrinking_the_wal_checkpoints_it_and_leaves_an_empty_file() {
        let dir = tempfile::tempdir().unwrap();
        let (conn, wal) = wal_database(dir.path());
        for _ in 0..80 {
            conn.execute("INSERT INTO t VALUES (zeroblob(65536))", []).unwrap();
        }
        assert!(
            wal.oversized(),
            "5 MiB written with checkpoints off: {} bytes",
            wal.size()
        );
        assert!(wal.shrink(&conn).unwrap());
        assert_eq!(wal.size(), 0);
        let rows: i64 = conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(rows, 80, "what the WAL held is in the database");
    }

    #[test]
    fn the_wal_file_is_truncated_to_its_limit_when_it_starts_over_after_a_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let (conn, wal) = wal_database(dir.path());
        conn.execute_batch("BEGIN").unwrap();
        for _ in 0..160 {
            conn.execute("INSERT INTO t VALUES (zeroblob(65536))", []).unwrap();
        }
        conn.execute_batch("COMMIT").unwrap();
        let peak = wal.size();
        assert!(peak > 2 * WAL_SIZE_LIMIT, "{peak} bytes");
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
            .unwrap();
        conn.execute("INSERT INTO t VALUES (1)", []).unwrap();
        assert!(wal.size() <= WAL_SIZE_LIMIT, "{} of {peak} bytes left", wal.size());
    }
}
