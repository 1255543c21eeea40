//! The SQLite ceiling: one plain upsert per event into a table with the `alarms` table's
//! key and columns, WAL, a given `synchronous`, a cached statement, 1,000 per transaction.

use super::{now_ms, Row};
use domain::AlarmEvent;
use rusqlite::{params, Connection};
use std::time::{Duration, Instant};

/// Events per transaction.
pub const PER_TRANSACTION: usize = 1000;

/// The `alarms` table's key and columns (schema v3), without its secondary indexes.
const TABLE: &str = "
CREATE TABLE alarms (
    user_id TEXT NOT NULL, alarm_id TEXT NOT NULL,
    cleared_at INTEGER, warning_at INTEGER, critical_at INTEGER,
    status TEXT NOT NULL, changed_at INTEGER NOT NULL, active INTEGER NOT NULL, due INTEGER NOT NULL,
    delivered_rank INTEGER, delivered_at INTEGER, delivered_ms INTEGER,
    name TEXT, service TEXT, user_name TEXT,
    first_seen_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,
    events_received INTEGER NOT NULL DEFAULT 0, resolved_ms INTEGER,
    PRIMARY KEY (user_id, alarm_id)
) WITHOUT ROWID;";

/// The adapter's secondary indexes on `alarms`, read from a database the adapter itself
/// created, so the diagnostic "what do they cost" row follows the schema.
pub fn adapter_indexes() -> Vec<String> {
    use store_sqlite::{SqliteOptions, SqliteStore};
    let dir = tempfile::tempdir().expect("temp dir for the adapter's schema");
    let path = dir.path().join("schema.db");
    drop(SqliteStore::open(&path, SqliteOptions::default()).expect("the adapter creates its schema"));
    let conn = Connection::open(&path).expect("open the adapter's database");
    let mut statement = conn
        .prepare("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'alarms' AND sql IS NOT NULL")
        .unwrap();
    let rows = statement.query_map([], |r| r.get(0)).unwrap();
    rows.map(Result::unwrap).collect()
}

const UPSERT: &str = "
INSERT INTO alarms (user_id, alarm_id, cleared_at, warning_at, critical_at, status, changed_at, active, due,
                    name, service, user_name, first_seen_ms, updated_ms, events_received, resolved_ms)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9, ?10, ?11, ?12, ?12, 1, CASE WHEN ?8 THEN NULL ELSE ?12 END)
ON CONFLICT (user_id, alarm_id) DO UPDATE SET
    cleared_at = excluded.cleared_at, warning_at = excluded.warning_at, critical_at = excluded.critical_at,
    status = excluded.status, changed_at = excluded.changed_at, active = excluded.active, due = excluded.due,
    name = excluded.name, service = excluded.service, user_name = excluded.user_name,
    updated_ms = excluded.updated_ms, events_received = alarms.events_received + 1,
    resolved_ms = excluded.resolved_ms";

/// Upserts one row per event into a fresh database with `synchronous` (`FULL`, `NORMAL`),
/// [`PER_TRANSACTION`] per commit; with `indexed`, the table has the adapter's indexes too.
/// Returns the time from the first statement to the last commit.
pub fn upsert(events: &[AlarmEvent], synchronous: &str, indexed: bool) -> Duration {
    let dir = tempfile::tempdir().expect("temp dir for the SQLite ceiling");
    let mut conn = Connection::open(dir.path().join("ceiling.db")).expect("open the ceiling database");
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous};"
    ))
    .unwrap();
    conn.execute_batch(TABLE).unwrap();
    if indexed {
        for index in adapter_indexes() {
            conn.execute_batch(&index).unwrap();
        }
    }
    let started = Instant::now();
    for chunk in events.chunks(PER_TRANSACTION) {
        let tx = conn.transaction().unwrap();
        {
            let mut stmt = tx.prepare_cached(UPSERT).unwrap();
            let now = now_ms();
            for ev in chunk {
                let r = Row::of(ev);
                stmt.execute(params![
                    r.user_id,
                    r.alarm_id,
                    r.cleared_at,
                    r.warning_at,
                    r.critical_at,
                    r.status,
                    r.changed_at,
                    r.active,
                    r.name,
                    r.service,
                    r.user_name,
                    now,
                ])
                .unwrap();
            }
        }
        tx.commit().unwrap();
    }
    started.elapsed()
}
