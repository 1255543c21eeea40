//! SQL for the API's reads: filtered keyset pages, the statistics' one-statement read,
//! bounded history, acknowledgements, counts.

use super::rows::{record_at, RECORD_COLUMNS};
use super::SqliteStore;
use async_trait::async_trait;
use domain::episodes::Lifecycle;
use domain::ports::{AlarmActivityStore, AlarmRecord, StoreError};
use domain::query::{
    AckOutcome, AlarmActivity, AlarmFilter, Counts, HistoryEntry, HistoryLimits, Page, PageRequest, SortOrder,
};
use domain::{AlarmEvent, AlarmId, ApplyOutcome, EventTime, Status, StatusRegisters, UserId, Version};
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};

/// Older history entries are deleted every this many events of an alarm, in one range
/// delete, rather than one per event; reads return only the newest `cap`.
const TRIM_EVERY: i64 = 16;

/// Appends the alarm's `seq`-th event to its history; its oldest entries beyond the newest
/// `cap` go every [`TRIM_EVERY`] events.
pub(super) fn record_history(
    conn: &Connection,
    ev: &AlarmEvent,
    outcome: ApplyOutcome,
    now_ms: i64,
    seq: i64,
    cap: usize,
) -> rusqlite::Result<()> {
    let (user, alarm) = (ev.user_id.as_str(), ev.alarm_id.as_str());
    conn.prepare_cached(
        "INSERT INTO alarm_history (user_id, alarm_id, seq, changed_at, rank, outcome, received_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        user,
        alarm,
        seq,
        ev.version.changed_at.as_nanos(),
        ev.version.status.rank(),
        outcome.as_str(),
        now_ms
    ])?;
    let oldest_kept = seq - cap as i64 + 1;
    if oldest_kept > 1 && seq % TRIM_EVERY == 0 {
        conn.prepare_cached("DELETE FROM alarm_history WHERE user_id = ?1 AND alarm_id = ?2 AND seq < ?3")?
            .execute(params![user, alarm, oldest_kept])?;
    }
    Ok(())
}

fn outcome_of(text: &str) -> ApplyOutcome {
    match text {
        "applied" => ApplyOutcome::Applied,
        "stale" => ApplyOutcome::Stale,
        _ => ApplyOutcome::Duplicate,
    }
}

/// An alarm's newest `cap` history entries in ChangedAt order, then severity, then arrival.
pub(super) fn history(
    conn: &Connection,
    user: &UserId,
    alarm: &AlarmId,
    cap: usize,
) -> rusqlite::Result<Vec<HistoryEntry>> {
    let mut stmt = conn.prepare_cached(
        "SELECT changed_at, rank, outcome, received_ms FROM alarm_history WHERE user_id = ?1 AND alarm_id = ?2
             AND seq > (SELECT events_received FROM alarms WHERE user_id = ?1 AND alarm_id = ?2) - ?3
         ORDER BY changed_at, rank, seq",
    )?;
    let rows = stmt.query_map(params![user.as_str(), alarm.as_str(), cap as i64], |row| {
        let rank: i64 = row.get(1)?;
        Ok(HistoryEntry {
            version: Version {
                changed_at: EventTime::from_nanos(row.get(0)?),
                status: Status::from_rank(rank).unwrap_or(Status::Cleared),
            },
            outcome: outcome_of(&row.get::<_, String>(2)?),
            received_ms: row.get(3)?,
        })
    })?;
    rows.collect()
}

/// Drops the histories of alarms outside the `limits.alarms` that changed last (latest
/// ChangedAt, then AlarmID, then UserID: the listing's order and index).
pub(super) fn trim_history(conn: &Connection, limits: HistoryLimits) -> rusqlite::Result<u64> {
    let cutoff: Option<(i64, String, String)> = conn
        .query_row(
            "SELECT changed_at, alarm_id, user_id FROM alarms
             ORDER BY changed_at DESC, alarm_id DESC, user_id DESC LIMIT 1 OFFSET ?1",
            [limits.alarms as i64 - 1],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((changed_at, alarm_id, user_id)) = cutoff else {
        return Ok(0);
    };
    let dropped = conn.execute(
        "DELETE FROM alarm_history WHERE (user_id, alarm_id) IN (
             SELECT user_id, alarm_id FROM alarms WHERE (changed_at, alarm_id, user_id) < (?1, ?2, ?3))",
        params![changed_at, alarm_id, user_id],
    )?;
    Ok(dropped as u64)
}

/// Acknowledgement times of one alarm, oldest first.
pub(super) fn acknowledgements(conn: &Connection, user: &UserId, alarm: &AlarmId) -> rusqlite::Result<Vec<EventTime>> {
    let mut stmt =
        conn.prepare_cached("SELECT acked_at FROM alarm_acks WHERE user_id = ?1 AND alarm_id = ?2 ORDER BY acked_at")?;
    let rows = stmt.query_map(params![user.as_str(), alarm.as_str()], |r| {
        Ok(EventTime::from_nanos(r.get(0)?))
    })?;
    rows.collect()
}

/// Records an acknowledgement of a known alarm.
pub(super) fn acknowledge(
    conn: &Connection,
    user: &UserId,
    alarm: &AlarmId,
    at: EventTime,
) -> rusqlite::Result<AckOutcome> {
    let known: Option<i64> = conn
        .prepare_cached("SELECT 1 FROM alarms WHERE user_id = ?1 AND alarm_id = ?2")?
        .query_row(params![user.as_str(), alarm.as_str()], |r| r.get(0))
        .optional()?;
    if known.is_none() {
        return Ok(AckOutcome::UnknownAlarm);
    }
    let inserted = conn
        .prepare_cached("INSERT OR IGNORE INTO alarm_acks (user_id, alarm_id, acked_at) VALUES (?1, ?2, ?3)")?
        .execute(params![user.as_str(), alarm.as_str(), at.as_nanos()])?;
    Ok(if inserted == 1 {
        AckOutcome::Recorded
    } else {
        AckOutcome::AlreadyRecorded
    })
}

/// Totals.
pub(super) fn counts(conn: &Connection) -> rusqlite::Result<Counts> {
    // One statement, so one snapshot: read apart, a sweep committing in between showed
    // its alarms gone but not yet counted as removed.
    conn.query_row(
        "SELECT count(*), coalesce(sum(active), 0), coalesce(sum(events_received), 0),
                (SELECT count(*) FROM alarm_tombstones),
                coalesce((SELECT value FROM store_totals WHERE name = ?1), 0)
         FROM alarms",
        [super::retention::REMOVED],
        |r| {
            Ok(Counts {
                alarms: r.get::<_, i64>(0)? as u64,
                active: r.get::<_, i64>(1)? as u64,
                events_received: r.get::<_, i64>(2)? as u64,
                tombstones: r.get::<_, i64>(3)? as u64,
                removed: r.get::<_, i64>(4)? as u64,
            })
        },
    )
}

/// Numbered SQL parameters of one statement.
#[derive(Default)]
struct Args(Vec<Value>);

impl Args {
    /// Adds a value and returns its placeholder.
    fn push(&mut self, value: Value) -> String {
        self.0.push(value);
        format!("?{}", self.0.len())
    }
}

/// The metadata columns `q` searches.
const TEXT_COLUMNS: [&str; 5] = ["name", "service", "service_name", "user_name", "summary"];

/// The `WHERE` conditions on `alarms` (unqualified columns) that `filter` asks for.
fn conditions(filter: &AlarmFilter, args: &mut Args) -> Vec<String> {
    let mut clauses: Vec<String> = Vec::new();
    if let Some(u) = &filter.user_id {
        clauses.push(format!("user_id = {}", args.push(Value::Text(u.as_str().into()))));
    }
    if !filter.statuses.is_empty() {
        let list: Vec<String> = filter
            .statuses
            .iter()
            .map(|s| args.push(Value::Text(s.as_str().into())))
            .collect();
        clauses.push(format!("status IN ({})", list.join(", ")));
    }
    if let Some(active) = filter.active {
        clauses.push(format!("active = {}", args.push(Value::Integer(i64::from(active)))));
    }
    if !filter.lifecycles.is_empty() {
        let any: Vec<String> = filter.lifecycles.iter().map(|&l| lifecycle_condition(l)).collect();
        clauses.push(format!("({})", any.join(" OR ")));
    }
    for (column, value) in [("name", &filter.name), ("user_name", &filter.user_name)] {
        if let Some(v) = value {
            clauses.push(format!("{column} = {}", args.push(Value::Text(v.clone()))));
        }
    }
    if let Some(v) = &filter.service {
        // A service is asked for by id or by name: an Allma alarm has both.
        let p = args.push(Value::Text(v.clone()));
        clauses.push(format!("(service = {p} OR service_name = {p})"));
    }
    if let Some(text) = &filter.text {
        let p = args.push(Value::Text(text.to_lowercase()));
        let any: Vec<String> = TEXT_COLUMNS
            .iter()
            .map(|column| format!("instr(lower(coalesce({column}, '')), {p}) > 0"))
            .collect();
        clauses.push(format!("({})", any.join(" OR ")));
    }
    if let Some(t) = filter.changed_after {
        clauses.push(format!("changed_at > {}", args.push(Value::Integer(t.as_nanos()))));
    }
    if let Some(t) = filter.changed_before {
        clauses.push(format!("changed_at < {}", args.push(Value::Integer(t.as_nanos()))));
    }
    clauses
}

/// An acknowledgement of the alarm later than its latest CLEARED (any, if it never
/// cleared): the alarm is acknowledged in its current episode ([`Lifecycle::of`]).
const ACKED_IN_CURRENT_EPISODE: &str = "EXISTS (SELECT 1 FROM alarm_acks k
    WHERE k.user_id = alarms.user_id AND k.alarm_id = alarms.alarm_id
      AND (alarms.cleared_at IS NULL OR k.acked_at > alarms.cleared_at))";

/// The condition on `alarms` of one lifecycle, the rule of [`Lifecycle::of`] in SQL.
fn lifecycle_condition(lifecycle: Lifecycle) -> String {
    match lifecycle {
        Lifecycle::Triggered => format!("(active = 1 AND NOT {ACKED_IN_CURRENT_EPISODE})"),
        Lifecycle::Acknowledged => format!("(active = 1 AND {ACKED_IN_CURRENT_EPISODE})"),
        Lifecycle::Resolved => "active = 0".to_string(),
    }
}

/// `clauses` joined into one condition; `1` when there are none.
fn all_of(clauses: &[String]) -> String {
    if clauses.is_empty() {
        "1".to_string()
    } else {
        clauses.join(" AND ")
    }
}

/// One page of alarms matching `filter`, by keyset over (changed_at, alarm_id, user_id).
pub(super) fn list(conn: &Connection, filter: &AlarmFilter, page: &PageRequest) -> rusqlite::Result<Page<AlarmRecord>> {
    let mut args = Args::default();
    let mut clauses = conditions(filter, &mut args);
    let (cmp, dir) = match page.order {
        SortOrder::Asc => (">", "ASC"),
        SortOrder::Desc => ("<", "DESC"),
    };
    if let Some(key) = &page.after {
        let (t, a, u) = (
            args.push(Value::Integer(key.changed_at.as_nanos())),
            args.push(Value::Text(key.alarm_id.as_str().into())),
            args.push(Value::Text(key.user_id.as_str().into())),
        );
        clauses.push(format!("(changed_at, alarm_id, user_id) {cmp} ({t}, {a}, {u})"));
    }
    let limit = args.push(Value::Integer(page.limit as i64 + 1));
    let condition = all_of(&clauses);
    let sql = format!(
        "SELECT {RECORD_COLUMNS} FROM alarms WHERE {condition} ORDER BY changed_at {dir}, alarm_id {dir}, user_id {dir} LIMIT {limit}"
    );
    let mut stmt = conn.prepare(&sql)?;
    let items: Vec<AlarmRecord> = stmt
        .query_map(params_from_iter(args.0.iter()), record_at)?
        .collect::<Result<_, _>>()?;
    let mut page = domain::query::page_from(items, page.limit);
    for item in &mut page.items {
        item.acknowledgements = acknowledgements(conn, &item.user_id, &item.alarm_id)?;
    }
    Ok(page)
}

/// Every alarm matching `filter` with its registers, its retained history and its
/// acknowledgements, in ONE statement: the history and the acknowledgements are gathered
/// per alarm as JSON arrays by correlated subqueries (each an index range), so the whole
/// answer is one read of one snapshot.
fn activity(conn: &Connection, filter: &AlarmFilter, cap: usize) -> rusqlite::Result<Vec<AlarmActivity>> {
    let mut args = Args::default();
    let condition = all_of(&conditions(filter, &mut args));
    let sql = format!(
        "SELECT user_id, alarm_id, cleared_at, warning_at, critical_at,
             (SELECT json_group_array(json_array(e.changed_at, e.rank)) FROM alarm_history e
              WHERE e.user_id = alarms.user_id AND e.alarm_id = alarms.alarm_id
                AND e.seq > alarms.events_received - {cap}),
             (SELECT json_group_array(k.acked_at) FROM alarm_acks k
              WHERE k.user_id = alarms.user_id AND k.alarm_id = alarms.alarm_id)
         FROM alarms WHERE {condition} ORDER BY changed_at, alarm_id, user_id"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params_from_iter(args.0.iter()), activity_at)?;
    rows.collect()
}

fn corrupt(what: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, what.into())
}

/// One row of [`activity`].
fn activity_at(row: &Row<'_>) -> rusqlite::Result<AlarmActivity> {
    let user_id = UserId::parse(row.get::<_, String>(0)?).map_err(|e| corrupt(e.to_string()))?;
    let alarm_id = AlarmId::parse(row.get::<_, String>(1)?).map_err(|e| corrupt(e.to_string()))?;
    let time = |i: usize| -> rusqlite::Result<Option<EventTime>> {
        Ok(row.get::<_, Option<i64>>(i)?.map(EventTime::from_nanos))
    };
    let seen = StatusRegisters {
        cleared: time(2)?,
        warning: time(3)?,
        critical: time(4)?,
    };
    let events: Vec<(i64, i64)> =
        serde_json::from_str(&row.get::<_, String>(5)?).map_err(|e| corrupt(format!("history of {alarm_id}: {e}")))?;
    let history = events
        .into_iter()
        .map(|(changed_at, rank)| {
            let status = Status::from_rank(rank).ok_or_else(|| corrupt(format!("history rank {rank}")))?;
            Ok(Version {
                changed_at: EventTime::from_nanos(changed_at),
                status,
            })
        })
        .collect::<rusqlite::Result<_>>()?;
    let mut acks: Vec<i64> =
        serde_json::from_str(&row.get::<_, String>(6)?).map_err(|e| corrupt(format!("acks of {alarm_id}: {e}")))?;
    acks.sort_unstable();
    Ok(AlarmActivity {
        user_id,
        alarm_id,
        seen,
        history,
        acknowledgements: acks.into_iter().map(EventTime::from_nanos).collect(),
    })
}

#[async_trait]
impl AlarmActivityStore for SqliteStore {
    async fn activity(&self, filter: &AlarmFilter) -> Result<Vec<AlarmActivity>, StoreError> {
        let (filter, cap) = (filter.clone(), self.history.events_per_alarm);
        self.read(move |conn| activity(conn, &filter, cap)).await
    }
}
