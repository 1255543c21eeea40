//! SQL for each store operation; decisions are made by the domain inside the writer's transaction.

use domain::ports::{AlarmRecord, DigestClaim, PreparedDigest};
use domain::retention::state_after_tombstone;
use domain::{
    AlarmEvent, AlarmId, AlarmMetadata, AlarmState, ApplyOutcome, DueAlarm, EventTime, Status, StatusRegisters, UserId,
    Version,
};
use rusqlite::{params, Connection, OptionalExtension, Row};
use store_codec::prepared;

const STATE_COLUMNS: &str = "cleared_at, warning_at, critical_at, delivered_at, delivered_rank";

fn conversion_error(what: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, what.into())
}

/// Reads the five state columns starting at `at`.
fn state_at(row: &Row<'_>, at: usize) -> rusqlite::Result<AlarmState> {
    let time = |i: usize| -> rusqlite::Result<Option<EventTime>> {
        Ok(row.get::<_, Option<i64>>(at + i)?.map(EventTime::from_nanos))
    };
    let delivered = match (time(3)?, row.get::<_, Option<i64>>(at + 4)?) {
        (Some(changed_at), Some(rank)) => {
            let status = Status::from_rank(rank).ok_or_else(|| conversion_error(format!("delivered rank {rank}")))?;
            Some(Version { changed_at, status })
        }
        _ => None,
    };
    Ok(AlarmState {
        seen: StatusRegisters {
            cleared: time(0)?,
            warning: time(1)?,
            critical: time(2)?,
        },
        delivered,
    })
}

fn nanos(t: Option<EventTime>) -> Option<i64> {
    t.map(EventTime::as_nanos)
}

/// Applies one event; the alarm row is read and written in the caller's transaction.
pub(super) fn apply_event(
    conn: &Connection,
    ev: &AlarmEvent,
    now_ms: i64,
    history_cap: usize,
) -> rusqlite::Result<ApplyOutcome> {
    let current = conn
        .prepare_cached(&format!(
            "SELECT {STATE_COLUMNS}, name, service, user_name, service_name, summary, events_received
             FROM alarms WHERE user_id = ?1 AND alarm_id = ?2"
        ))?
        .query_row(params![ev.user_id.as_str(), ev.alarm_id.as_str()], |row| {
            let meta = AlarmMetadata {
                name: row.get(5)?,
                service: row.get(6)?,
                user_name: row.get(7)?,
                service_name: row.get(8)?,
                summary: row.get(9)?,
            };
            Ok((state_at(row, 0)?, meta, row.get::<_, i64>(10)?))
        })
        .optional()?;
    let removed_at_clear = match current {
        Some(_) => None,
        None => super::retention::tombstone(conn, ev)?,
    };
    let existing = current.as_ref().map(|(state, _, _)| *state);
    let (mut state, old_meta, received) = current.unwrap_or_default();
    if let Some(cleared_at) = removed_at_clear {
        state = state_after_tombstone(cleared_at);
    }
    let outcome = state.apply(ev.version);
    if removed_at_clear.is_some() {
        if outcome != ApplyOutcome::Applied {
            // Older than the clear that removed the alarm: stale, as it was before.
            return Ok(outcome);
        }
        super::retention::drop_tombstone(conn, ev)?;
    }
    // The alarm's count of events received numbers its history: this event is the next.
    super::queries::record_history(conn, ev, outcome, now_ms, received.max(0) + 1, history_cap)?;
    let mut meta = old_meta.clone();
    meta.merge(&ev.metadata, outcome == ApplyOutcome::Applied);
    if outcome == ApplyOutcome::Duplicate && meta == old_meta {
        conn.prepare_cached(
            "UPDATE alarms SET events_received = events_received + 1 WHERE user_id = ?1 AND alarm_id = ?2",
        )?
        .execute(params![ev.user_id.as_str(), ev.alarm_id.as_str()])?;
        return Ok(outcome);
    }
    match existing {
        None => insert_alarm(conn, ev, &state, &meta, now_ms)?,
        Some(before) => update_alarm(conn, ev, &before, &state, &meta, now_ms)?,
    }
    Ok(outcome)
}

/// Writes a new alarm's row.
fn insert_alarm(
    conn: &Connection,
    ev: &AlarmEvent,
    state: &AlarmState,
    meta: &AlarmMetadata,
    now_ms: i64,
) -> rusqlite::Result<()> {
    let latest = state.latest().unwrap_or(ev.version);
    conn.prepare_cached(
        "INSERT INTO alarms (user_id, alarm_id, cleared_at, warning_at, critical_at, status, changed_at, active, due,
                             name, service, user_name, service_name, summary,
                             first_seen_ms, updated_ms, events_received, resolved_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,
                 ?15, ?15, 1, CASE WHEN ?8 THEN NULL ELSE ?15 END)",
    )?
    .execute(params![
        ev.user_id.as_str(),
        ev.alarm_id.as_str(),
        nanos(state.seen.cleared),
        nanos(state.seen.warning),
        nanos(state.seen.critical),
        latest.status.as_str(),
        latest.changed_at.as_nanos(),
        state.is_active(),
        state.is_due(),
        meta.name,
        meta.service,
        meta.user_name,
        meta.service_name,
        meta.summary,
        now_ms,
    ])?;
    Ok(())
}

/// Rewrites an existing alarm's row, setting an indexed column only when its value
/// changes: SQLite rewrites the entries of every index whose columns an UPDATE sets, so a
/// stale event (new register, same latest version) touches no index at all.
fn update_alarm(
    conn: &Connection,
    ev: &AlarmEvent,
    before: &AlarmState,
    state: &AlarmState,
    meta: &AlarmMetadata,
    now_ms: i64,
) -> rusqlite::Result<()> {
    let latest = state.latest().unwrap_or(ev.version);
    let moved = before.latest() != Some(latest);
    let flipped = before.is_active() != state.is_active();
    let due_changed = before.is_due() != state.is_due();
    // The optional assignments use the last parameters, so a statement without one binds a
    // prefix of the same list.
    let mut sql = String::from(
        "UPDATE alarms SET cleared_at = ?3, warning_at = ?4, critical_at = ?5, name = ?6, service = ?7,
             user_name = ?8, service_name = ?9, summary = ?10, updated_ms = ?11,
             events_received = events_received + 1",
    );
    if moved {
        sql.push_str(", status = ?12, changed_at = ?13");
    }
    if flipped {
        sql.push_str(", active = ?14, resolved_ms = CASE WHEN ?14 THEN NULL ELSE ?11 END");
    }
    if due_changed {
        sql.push_str(", due = ?15");
    }
    sql.push_str(" WHERE user_id = ?1 AND alarm_id = ?2");
    let mut statement = conn.prepare_cached(&sql)?;
    let values = params![
        ev.user_id.as_str(),
        ev.alarm_id.as_str(),
        nanos(state.seen.cleared),
        nanos(state.seen.warning),
        nanos(state.seen.critical),
        meta.name,
        meta.service,
        meta.user_name,
        meta.service_name,
        meta.summary,
        now_ms,
        latest.status.as_str(),
        latest.changed_at.as_nanos(),
        state.is_active(),
        state.is_due(),
    ];
    let used = statement.parameter_count();
    statement.execute(&values[..used])?;
    Ok(())
}

/// The user's due alarms in digest order, straight from the partial index.
pub(super) fn due_alarms(conn: &Connection, user: &UserId) -> rusqlite::Result<Vec<DueAlarm>> {
    let mut stmt = conn.prepare_cached(
        "SELECT alarm_id, status, changed_at FROM alarms WHERE user_id = ?1 AND due = 1 ORDER BY changed_at, alarm_id",
    )?;
    let rows = stmt.query_map([user.as_str()], |row| {
        let alarm_id = AlarmId::parse(row.get::<_, String>(0)?).map_err(|e| conversion_error(e.to_string()))?;
        let status: Status = row
            .get::<_, String>(1)?
            .parse()
            .map_err(|e: domain::UnknownStatus| conversion_error(e.to_string()))?;
        Ok(DueAlarm {
            alarm_id,
            version: Version {
                changed_at: EventTime::from_nanos(row.get(2)?),
                status,
            },
        })
    })?;
    rows.collect()
}

/// Digests with more alarms than this read their states in one query.
const BULK_READ_FROM: usize = 32;

/// The requests the user's claim remembers and its sent-digest log, if the claim is still
/// this holder's at this epoch. Read in the writer's transaction, so the answer holds
/// until it commits.
fn logs_if_held(conn: &Connection, claim: &DigestClaim) -> rusqlite::Result<Option<(String, String)>> {
    conn.prepare_cached("SELECT answered, sent FROM digest_claims WHERE user_id = ?1 AND holder = ?2 AND epoch = ?3")?
        .query_row(params![claim.user_id.as_str(), claim.holder, claim.epoch as i64], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()
}

/// The user's sent-digest log as stored; `[]` before the first digest.
pub(super) fn sent_digests(conn: &Connection, user: &UserId) -> rusqlite::Result<String> {
    Ok(conn
        .prepare_cached("SELECT sent FROM digest_claims WHERE user_id = ?1")?
        .query_row([user.as_str()], |r| r.get(0))
        .optional()?
        .unwrap_or_else(|| "[]".to_string()))
}

/// Moves each alarm's delivery record forward, counts the digest in the user's epoch and
/// logs it, all in the writer's transaction and only if the claim is still this holder's
/// at this epoch; `false`, with nothing written, when it is not.
pub(super) fn record_delivery(
    conn: &Connection,
    claim: &DigestClaim,
    digest: &PreparedDigest,
    now_ms: i64,
) -> rusqlite::Result<bool> {
    let Some((answered, sent)) = logs_if_held(conn, claim)? else {
        return Ok(false);
    };
    let (alarms, request) = (&digest.alarms, digest.request.as_deref());
    let mut read = conn.prepare_cached(&format!(
        "SELECT {STATE_COLUMNS} FROM alarms WHERE user_id = ?1 AND alarm_id = ?2"
    ))?;
    let mut write = conn.prepare_cached(
        "UPDATE alarms SET delivered_at = ?3, delivered_rank = ?4, due = ?5, delivered_ms = ?6 WHERE user_id = ?1 AND alarm_id = ?2",
    )?;
    // A large digest reads the user's due states in one pass over the partial index
    // instead of one lookup per alarm; an alarm no longer due is looked up on its own.
    let mut due_states = std::collections::HashMap::new();
    if alarms.len() > BULK_READ_FROM {
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT alarm_id, {STATE_COLUMNS} FROM alarms WHERE user_id = ?1 AND due = 1"
        ))?;
        let rows = stmt.query_map([claim.user_id.as_str()], |row| {
            Ok((row.get::<_, String>(0)?, state_at(row, 1)?))
        })?;
        for row in rows {
            let (alarm_id, state) = row?;
            due_states.insert(alarm_id, state);
        }
    }
    for alarm in alarms {
        let key = params![claim.user_id.as_str(), alarm.alarm_id.as_str()];
        let state = match due_states.remove(alarm.alarm_id.as_str()) {
            Some(state) => Some(state),
            None => read.query_row(key, |row| state_at(row, 0)).optional()?,
        };
        let Some(mut state) = state else {
            continue;
        };
        state.record_delivery(alarm.version);
        let delivered = state.delivered.unwrap_or(alarm.version);
        write.execute(params![
            claim.user_id.as_str(),
            alarm.alarm_id.as_str(),
            delivered.changed_at.as_nanos(),
            delivered.status.rank(),
            state.is_due(),
            now_ms,
        ])?;
    }
    let mut answered: Vec<String> = serde_json::from_str(&answered).unwrap_or_default();
    if let Some(request) = request {
        prepared::remember(&mut answered, request);
    }
    let answered = serde_json::to_string(&answered).expect("strings serialize");
    conn.prepare_cached(
        "UPDATE digest_claims SET epoch = epoch + 1, pending = NULL, answered = ?4, sent = ?5
         WHERE user_id = ?1 AND holder = ?2 AND epoch = ?3",
    )?
    .execute(params![
        claim.user_id.as_str(),
        claim.holder,
        claim.epoch as i64,
        answered,
        prepared::log_sent(&sent, digest, now_ms),
    ])?;
    Ok(true)
}

/// Takes the claim in one statement: the conflict branch only fires when free or expired.
pub(super) fn claim(
    conn: &Connection,
    user: &UserId,
    holder: &str,
    now_ms: i64,
    expires_at_ms: i64,
) -> rusqlite::Result<Option<DigestClaim>> {
    let row = conn
        .prepare_cached(
            "INSERT INTO digest_claims (user_id, holder, expires_at_ms, epoch) VALUES (?1, ?2, ?3, 0)
             ON CONFLICT (user_id) DO UPDATE SET holder = excluded.holder, expires_at_ms = excluded.expires_at_ms
             WHERE digest_claims.holder IS NULL OR digest_claims.expires_at_ms <= ?4
             RETURNING epoch, pending, answered",
        )?
        .query_row(params![user.as_str(), holder, expires_at_ms, now_ms], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, Option<String>>(1)?,
                row.get::<_, String>(2)?,
            ))
        })
        .optional()?;
    let Some((epoch, pending, answered)) = row else {
        return Ok(None);
    };
    let pending = pending
        .map(|text| prepared::decode(&text))
        .transpose()
        .map_err(|e| conversion_error(e.to_string()))?;
    let answered = serde_json::from_str(&answered).map_err(|e| conversion_error(e.to_string()))?;
    Ok(Some(DigestClaim {
        user_id: user.clone(),
        holder: holder.to_string(),
        epoch: epoch as u64,
        expires_at_ms,
        pending,
        answered,
    }))
}

/// Writes the prepared digest if the claim is still this holder's at this epoch.
pub(super) fn prepare(conn: &Connection, claim: &DigestClaim, digest: &PreparedDigest) -> rusqlite::Result<bool> {
    let changed = conn
        .prepare_cached("UPDATE digest_claims SET pending = ?4 WHERE user_id = ?1 AND holder = ?2 AND epoch = ?3")?
        .execute(params![
            claim.user_id.as_str(),
            claim.holder,
            claim.epoch as i64,
            prepared::encode(digest)
        ])?;
    Ok(changed == 1)
}

/// Drops the prepared digest if this holder still has the claim at this epoch.
pub(super) fn abandon(conn: &Connection, claim: &DigestClaim) -> rusqlite::Result<bool> {
    let changed = conn
        .prepare_cached("UPDATE digest_claims SET pending = NULL WHERE user_id = ?1 AND holder = ?2 AND epoch = ?3")?
        .execute(params![claim.user_id.as_str(), claim.holder, claim.epoch as i64])?;
    Ok(changed == 1)
}

/// Frees the claim if this holder still has it.
pub(super) fn release(conn: &Connection, claim: &DigestClaim) -> rusqlite::Result<bool> {
    let changed = conn
        .prepare_cached("UPDATE digest_claims SET holder = NULL, expires_at_ms = 0 WHERE user_id = ?1 AND holder = ?2")?
        .execute(params![claim.user_id.as_str(), claim.holder])?;
    Ok(changed == 1)
}

/// The columns [`record_at`] reads, in order.
pub(super) const RECORD_COLUMNS: &str =
    "user_id, alarm_id, cleared_at, warning_at, critical_at, delivered_at, delivered_rank, name, service, user_name,
     delivered_ms, updated_ms, service_name, summary";

/// An alarm record from a row of [`RECORD_COLUMNS`]; acknowledgements are filled by the caller.
pub(super) fn record_at(row: &Row<'_>) -> rusqlite::Result<AlarmRecord> {
    let user_id = UserId::parse(row.get::<_, String>(0)?).map_err(|e| conversion_error(e.to_string()))?;
    let alarm_id = AlarmId::parse(row.get::<_, String>(1)?).map_err(|e| conversion_error(e.to_string()))?;
    Ok(AlarmRecord {
        user_id,
        alarm_id,
        state: state_at(row, 2)?,
        metadata: AlarmMetadata {
            name: row.get(7)?,
            service: row.get(8)?,
            user_name: row.get(9)?,
            service_name: row.get(12)?,
            summary: row.get(13)?,
        },
        delivered_ms: row.get(10)?,
        updated_ms: row.get(11)?,
        acknowledgements: Vec::new(),
    })
}

/// One alarm with its state, metadata and acknowledgements.
pub(super) fn alarm(conn: &Connection, user: &UserId, alarm: &AlarmId) -> rusqlite::Result<Option<AlarmRecord>> {
    let record = conn
        .prepare_cached(&format!(
            "SELECT {RECORD_COLUMNS} FROM alarms WHERE user_id = ?1 AND alarm_id = ?2"
        ))?
        .query_row(params![user.as_str(), alarm.as_str()], record_at)
        .optional()?;
    record
        .map(|mut r| {
            r.acknowledgements = super::queries::acknowledgements(conn, user, alarm)?;
            Ok(r)
        })
        .transpose()
}
