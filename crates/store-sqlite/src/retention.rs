//! Retention on SQLite: removing cleared alarms in batches behind tombstones, and the
//! tombstone lookups of apply.

use domain::retention::{Sweep, Swept};
use domain::{AlarmEvent, EventTime};
use rusqlite::{params, Connection, OptionalExtension};

/// The running total of alarms removed, in `store_totals`.
pub(super) const REMOVED: &str = "alarms_removed";

/// The ChangedAt of the clear that removed this event's alarm, if it has a tombstone.
pub(super) fn tombstone(conn: &Connection, ev: &AlarmEvent) -> rusqlite::Result<Option<EventTime>> {
    conn.prepare_cached("SELECT cleared_at FROM alarm_tombstones WHERE user_id = ?1 AND alarm_id = ?2")?
        .query_row(params![ev.user_id.as_str(), ev.alarm_id.as_str()], |r| {
            Ok(EventTime::from_nanos(r.get(0)?))
        })
        .optional()
}

/// Forgets the tombstone of an alarm that came back: its row holds the clear again.
pub(super) fn drop_tombstone(conn: &Connection, ev: &AlarmEvent) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM alarm_tombstones WHERE user_id = ?1 AND alarm_id = ?2")?
        .execute(params![ev.user_id.as_str(), ev.alarm_id.as_str()])?;
    Ok(())
}

/// One sweep in the writer's transaction: the alarms cleared before the cut-off, oldest
/// clear first, each replaced by its tombstone; then the oldest expired tombstones.
pub(super) fn sweep(conn: &Connection, sweep: &Sweep, now_ms: i64) -> rusqlite::Result<Swept> {
    let batch = sweep.batch as i64;
    let doomed: Vec<(String, String, i64)> = conn
        .prepare_cached(
            "SELECT user_id, alarm_id, changed_at FROM alarms
             WHERE resolved_ms IS NOT NULL AND resolved_ms < ?1 AND active = 0
             ORDER BY resolved_ms LIMIT ?2",
        )?
        .query_map(params![sweep.cleared_before_ms, batch], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut bury = conn.prepare_cached(
        "INSERT INTO alarm_tombstones (user_id, alarm_id, cleared_at, removed_ms) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (user_id, alarm_id) DO UPDATE SET
             cleared_at = max(cleared_at, excluded.cleared_at), removed_ms = excluded.removed_ms",
    )?;
    for (user, alarm, cleared_at) in &doomed {
        bury.execute(params![user, alarm, cleared_at, now_ms])?;
        for table in ["alarm_history", "alarm_acks", "alarms"] {
            conn.prepare_cached(&format!("DELETE FROM {table} WHERE user_id = ?1 AND alarm_id = ?2"))?
                .execute(params![user, alarm])?;
        }
    }
    if !doomed.is_empty() {
        conn.prepare_cached(
            "INSERT INTO store_totals (name, value) VALUES (?1, ?2)
             ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
        )?
        .execute(params![REMOVED, doomed.len() as i64])?;
    }
    let tombstones = conn
        .prepare_cached(
            "DELETE FROM alarm_tombstones WHERE (user_id, alarm_id) IN (
                 SELECT user_id, alarm_id FROM alarm_tombstones WHERE removed_ms < ?1 ORDER BY removed_ms LIMIT ?2)",
        )?
        .execute(params![sweep.tombstones_before_ms, batch])?;
    Ok(Swept {
        alarms: doomed.len() as u64,
        tombstones: tombstones as u64,
    })
}

/// Removes up to `limit` notification records sent before `sent_before_ms`.
pub(super) fn sweep_notifications(conn: &Connection, sent_before_ms: i64, limit: usize) -> rusqlite::Result<u64> {
    let removed = conn
        .prepare_cached(
            "DELETE FROM pager_notifications WHERE idempotency_key IN (
                 SELECT idempotency_key FROM pager_notifications WHERE sent_at < ?1 ORDER BY sent_at LIMIT ?2)",
        )?
        .execute(params![sent_before_ms.saturating_mul(1_000_000), limit as i64])?;
    Ok(removed as u64)
}
