//! The SQLite schema, created on first use and versioned with `user_version`.

use rusqlite::Connection;

/// The schema version this build writes.
const VERSION: i64 = 7;

const V1: &str = "
CREATE TABLE IF NOT EXISTS alarms (
    user_id        TEXT    NOT NULL,
    alarm_id       TEXT    NOT NULL,
    cleared_at     INTEGER,
    warning_at     INTEGER,
    critical_at    INTEGER,
    status         TEXT    NOT NULL,
    changed_at     INTEGER NOT NULL,
    active         INTEGER NOT NULL,
    due            INTEGER NOT NULL,
    delivered_rank INTEGER,
    delivered_at   INTEGER,
    delivered_ms   INTEGER,
    name           TEXT,
    service        TEXT,
    user_name      TEXT,
    first_seen_ms  INTEGER NOT NULL,
    updated_ms     INTEGER NOT NULL,
    events_received INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, alarm_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS alarms_due ON alarms (user_id, changed_at, alarm_id) WHERE due = 1;
CREATE INDEX IF NOT EXISTS alarms_by_time ON alarms (changed_at, alarm_id, user_id);
CREATE TABLE IF NOT EXISTS alarm_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     TEXT    NOT NULL,
    alarm_id    TEXT    NOT NULL,
    changed_at  INTEGER NOT NULL,
    rank        INTEGER NOT NULL,
    outcome     TEXT    NOT NULL,
    received_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS alarm_events_by_alarm ON alarm_events (user_id, alarm_id, id);
CREATE TABLE IF NOT EXISTS alarm_acks (
    user_id  TEXT    NOT NULL,
    alarm_id TEXT    NOT NULL,
    acked_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, alarm_id, acked_at)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS digest_claims (
    user_id       TEXT    PRIMARY KEY,
    holder        TEXT,
    expires_at_ms INTEGER NOT NULL DEFAULT 0,
    epoch         INTEGER NOT NULL DEFAULT 0,
    pending       TEXT,
    answered      TEXT    NOT NULL DEFAULT '[]'
) WITHOUT ROWID;
";

/// The pager: policies, one conditional-write record per service (`due_at` is what the
/// timer loop claims on), and sent notifications under their unique idempotency key.
const V2: &str = "
CREATE TABLE IF NOT EXISTS pager_policies (
    service_id TEXT PRIMARY KEY,
    policy     TEXT    NOT NULL,
    updated_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pager_services (
    service_id TEXT    PRIMARY KEY,
    revision   INTEGER NOT NULL,
    state      TEXT    NOT NULL,
    outbox     TEXT    NOT NULL DEFAULT '[]',
    due_at     INTEGER
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS pager_services_due ON pager_services (due_at) WHERE due_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS pager_notifications (
    idempotency_key TEXT    PRIMARY KEY,
    service_id      TEXT    NOT NULL,
    notification    TEXT    NOT NULL,
    sent_at         INTEGER NOT NULL
) WITHOUT ROWID;
";

/// Retention: when the service applied each alarm's clear (`resolved_ms`, NULL while
/// active; an existing cleared alarm counts from its last update), the tombstones of
/// removed alarms, sent notifications by time, and running totals.
///
/// Fewer B-tree writes per event: the history is keyed by (user, alarm, seq), `seq` being
/// the alarm's event count when the event arrived, so an event is one entry in one tree
/// (it was a row, an index entry and an AUTOINCREMENT counter) and the cap is a range
/// delete. `alarms_active` goes (no query is selective on a boolean), and so does
/// `alarms_by_updated`, rewritten by every event: the history trim keeps the alarms that
/// changed last, by the time index the listing has anyway. `alarms_by_user_time` goes too:
/// a user's alarms are one range of the primary key, sorted when listed, which costs a
/// listing of one user a sort instead of costing every event two index writes.
const V3: &str = "
CREATE TABLE alarm_history (
    user_id     TEXT    NOT NULL,
    alarm_id    TEXT    NOT NULL,
    seq         INTEGER NOT NULL,
    changed_at  INTEGER NOT NULL,
    rank        INTEGER NOT NULL,
    outcome     TEXT    NOT NULL,
    received_ms INTEGER NOT NULL,
    PRIMARY KEY (user_id, alarm_id, seq)
) WITHOUT ROWID;
INSERT INTO alarm_history (user_id, alarm_id, seq, changed_at, rank, outcome, received_ms)
    SELECT e.user_id, e.alarm_id,
           a.events_received + 1 - row_number() OVER (PARTITION BY e.user_id, e.alarm_id ORDER BY e.id DESC),
           e.changed_at, e.rank, e.outcome, e.received_ms
    FROM alarm_events e JOIN alarms a ON a.user_id = e.user_id AND a.alarm_id = e.alarm_id;
DROP TABLE alarm_events;
DROP INDEX IF EXISTS alarms_active;
DROP INDEX IF EXISTS alarms_by_updated;
DROP INDEX IF EXISTS alarms_by_user_time;
ALTER TABLE alarms ADD COLUMN resolved_ms INTEGER;
UPDATE alarms SET resolved_ms = updated_ms WHERE active = 0;
CREATE INDEX IF NOT EXISTS alarms_resolved ON alarms (resolved_ms) WHERE resolved_ms IS NOT NULL;
CREATE TABLE IF NOT EXISTS alarm_tombstones (
    user_id    TEXT    NOT NULL,
    alarm_id   TEXT    NOT NULL,
    cleared_at INTEGER NOT NULL,
    removed_ms INTEGER NOT NULL,
    PRIMARY KEY (user_id, alarm_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS alarm_tombstones_by_removed ON alarm_tombstones (removed_ms);
CREATE INDEX IF NOT EXISTS pager_notifications_by_sent ON pager_notifications (sent_at);
CREATE TABLE IF NOT EXISTS store_totals (
    name  TEXT    PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
";

/// The user's latest sent digests, for people to look at: `[[id, recorded_ms, alarms]]`,
/// oldest first, beside the claim whose epoch counts them.
const V4: &str = "ALTER TABLE digest_claims ADD COLUMN sent TEXT NOT NULL DEFAULT '[]';";

/// The console: a service's sent notifications, newest first, without scanning the others'.
const V5: &str = "
CREATE INDEX IF NOT EXISTS pager_notifications_by_service ON pager_notifications (service_id, sent_at);
";

/// Two more metadata fields: a service's display name beside its id (an Allma alert names
/// both) and the one-line summary of Alertmanager and Grafana alerts. Alarms stored before
/// have neither until an event brings them.
const V6: &str = "
ALTER TABLE alarms ADD COLUMN service_name TEXT;
ALTER TABLE alarms ADD COLUMN summary TEXT;
";

/// Digest schedules and maintenance windows. A schedule's `wake_at` is when its timer next
/// needs a replica: its occurrence `next_due` while unclaimed, the end of its claim while
/// claimed (as the pager's `due_at`), so the claim reads one range of its index and never
/// passes over schedules another replica is firing. `claims` counts claims (the fencing
/// token of the latest); `lapsed` says whether the latest claim took over a lapsed one.
/// A window's `ends_at` is its final end (none for a recurring window without `until`),
/// which retention reads; `starts_at` is where it sorts in the list.
const V7: &str = "
CREATE TABLE IF NOT EXISTS digest_schedules (
    user_id       TEXT    PRIMARY KEY,
    expression    TEXT    NOT NULL,
    zone          TEXT    NOT NULL,
    send_empty    INTEGER NOT NULL,
    revision      INTEGER NOT NULL,
    next_due      INTEGER,
    wake_at       INTEGER,
    claimed_until INTEGER,
    claims        INTEGER NOT NULL DEFAULT 0,
    lapsed        INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS digest_schedules_by_wake ON digest_schedules (wake_at) WHERE wake_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS maintenance_windows (
    window_id TEXT    PRIMARY KEY,
    starts_at INTEGER NOT NULL,
    ends_at   INTEGER,
    body      TEXT    NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS maintenance_windows_by_start ON maintenance_windows (starts_at, window_id);
CREATE INDEX IF NOT EXISTS maintenance_windows_by_end ON maintenance_windows (ends_at) WHERE ends_at IS NOT NULL;
";

/// Creates or upgrades the schema; refuses a database written by a newer version.
pub(super) fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > VERSION {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_MISMATCH),
            Some(format!(
                "database schema version {current} is newer than this build ({VERSION})"
            )),
        ));
    }
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let upgraded = (|| {
        if current < 1 {
            conn.execute_batch(V1)?;
        }
        if current < 2 {
            conn.execute_batch(V2)?;
        }
        if current < 3 {
            conn.execute_batch(V3)?;
        }
        if current < 4 {
            conn.execute_batch(V4)?;
        }
        if current < 5 {
            conn.execute_batch(V5)?;
        }
        if current < 6 {
            conn.execute_batch(V6)?;
        }
        if current < 7 {
            conn.execute_batch(V7)?;
        }
        conn.execute_batch(&format!("PRAGMA user_version = {VERSION}"))
    })();
    match upgraded {
        Ok(()) => conn.execute_batch("COMMIT"),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}
