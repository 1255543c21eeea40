//! Translation between alarm documents and domain types.

use domain::ports::{AlarmRecord, StoreError};
use domain::query::AlarmActivity;
use domain::{AlarmId, AlarmMetadata, AlarmState, DueAlarm, EventTime, Status, StatusRegisters, UserId, Version};
use mongodb::bson::{doc, Bson, Document};

/// The `batchSize` of the finds whose results the store needs whole (a digest's due
/// alarms, a batch's stored alarms): all of it in the find's reply, without a `getMore`
/// per 101 documents; the server still cuts a batch at 16 MiB and the cursor goes on.
const WHOLE_BATCH: u32 = 1_000_000;

/// Runs `find` with [`WHOLE_BATCH`] and collects every document it matches.
pub(super) async fn find_whole(find: mongodb::action::Find<'_, Document>) -> Result<Vec<Document>, StoreError> {
    use futures::TryStreamExt as _;
    find.batch_size(WHOLE_BATCH)
        .await
        .map_err(super::errors::to_store_error)?
        .try_collect()
        .await
        .map_err(super::errors::to_store_error)
}

/// When the store applied an alarm's clear, Unix milliseconds on its own clock: set by
/// the apply that made the alarm inactive, kept through later events while it stays so,
/// absent (not null) while it is active. Retention measures a clear's age from it.
pub(super) const RESOLVED_MS: &str = "resolved_ms";

/// The `_id` of one alarm: a string `<bytes of user>:<user><alarm>`, injective without
/// escaping. A scalar id, because some MongoDB-wire servers only use the `_id` index for
/// scalars (an embedded-document id made every update a collection scan).
pub(super) fn alarm_id(user: &UserId, alarm: &AlarmId) -> String {
    format!("{}:{}{}", user.as_str().len(), user, alarm)
}

/// The `_id` filter of one alarm.
pub(super) fn alarm_key(user: &UserId, alarm: &AlarmId) -> Document {
    doc! { "_id": alarm_id(user, alarm) }
}

/// An integer field, whichever integer or double type the server stored it as.
pub(super) fn int(doc: &Document, key: &str) -> Option<i64> {
    match doc.get(key)? {
        Bson::Int64(v) => Some(*v),
        Bson::Int32(v) => Some(i64::from(*v)),
        Bson::Double(v) if v.fract() == 0.0 => Some(*v as i64),
        _ => None,
    }
}

fn corrupt(doc: &Document, what: &str) -> StoreError {
    StoreError::Corrupt(format!("alarm {:?}: {what}", doc.get("_id")).into())
}

/// The registers and delivery record of an alarm document.
pub(super) fn parse_state(doc: &Document) -> Result<AlarmState, StoreError> {
    let time = |key: &str| int(doc, key).map(EventTime::from_nanos);
    let delivered = match (time("delivered_at"), int(doc, "delivered_rank")) {
        (Some(changed_at), Some(rank)) => {
            let status = Status::from_rank(rank).ok_or_else(|| corrupt(doc, "bad delivered_rank"))?;
            Some(Version { changed_at, status })
        }
        _ => None,
    };
    Ok(AlarmState {
        seen: StatusRegisters {
            cleared: time("cleared_at"),
            warning: time("warning_at"),
            critical: time("critical_at"),
        },
        delivered,
    })
}

fn string(doc: &Document, key: &str) -> Option<String> {
    doc.get_str(key).ok().map(str::to_string)
}

/// The metadata fields of an alarm document.
pub(super) fn parse_metadata(doc: &Document) -> AlarmMetadata {
    AlarmMetadata {
        name: string(doc, "name"),
        service: string(doc, "service"),
        user_name: string(doc, "user_name"),
        service_name: string(doc, "service_name"),
        summary: string(doc, "summary"),
    }
}

/// A due alarm from a projected document.
pub(super) fn parse_due(doc: &Document) -> Result<DueAlarm, StoreError> {
    let alarm_id = doc.get_str("alarm_id").map_err(|_| corrupt(doc, "no alarm_id"))?;
    let alarm_id = AlarmId::parse(alarm_id).map_err(|e| corrupt(doc, &e.to_string()))?;
    let status: Status = doc
        .get_str("status")
        .unwrap_or_default()
        .parse()
        .map_err(|_| corrupt(doc, "bad status"))?;
    let changed_at = int(doc, "changed_at").ok_or_else(|| corrupt(doc, "no changed_at"))?;
    Ok(DueAlarm {
        alarm_id,
        version: Version {
            changed_at: EventTime::from_nanos(changed_at),
            status,
        },
    })
}

/// A whole alarm document.
pub(super) fn parse_record(doc: &Document) -> Result<AlarmRecord, StoreError> {
    let id = |key| doc.get_str(key).map_err(|_| corrupt(doc, key));
    Ok(AlarmRecord {
        user_id: UserId::parse(id("user_id")?).map_err(|e| corrupt(doc, &e.to_string()))?,
        alarm_id: AlarmId::parse(id("alarm_id")?).map_err(|e| corrupt(doc, &e.to_string()))?,
        state: parse_state(doc)?,
        metadata: parse_metadata(doc),
        delivered_ms: int(doc, "delivered_ms"),
        updated_ms: int(doc, "updated_ms").unwrap_or(0),
        acknowledgements: parse_acks(doc),
    })
}

/// What the statistics read of an alarm document: registers, history and acknowledgements.
pub(super) fn parse_activity(doc: &Document) -> Result<AlarmActivity, StoreError> {
    let id = |key| doc.get_str(key).map_err(|_| corrupt(doc, key));
    Ok(AlarmActivity {
        user_id: UserId::parse(id("user_id")?).map_err(|e| corrupt(doc, &e.to_string()))?,
        alarm_id: AlarmId::parse(id("alarm_id")?).map_err(|e| corrupt(doc, &e.to_string()))?,
        seen: parse_state(doc)?.seen,
        history: parse_history(doc).into_iter().map(|e| e.version).collect(),
        acknowledgements: parse_acks(doc),
    })
}

/// The acknowledgement times of an alarm document, oldest first.
pub(super) fn parse_acks(doc: &Document) -> Vec<EventTime> {
    let mut acks: Vec<EventTime> = doc
        .get_array("acks")
        .map(|a| a.iter().filter_map(|b| b.as_i64()).map(EventTime::from_nanos).collect())
        .unwrap_or_default();
    acks.sort();
    acks
}

/// One history entry as stored in the alarm's capped `history` array.
pub(super) fn history_entry(version: Version, outcome: domain::ApplyOutcome, received_ms: i64) -> Document {
    doc! { "t": version.changed_at.as_nanos(), "r": i32::from(version.status.rank()), "o": outcome.as_str(), "ms": received_ms }
}

/// The `history` array of an alarm document, in ChangedAt, severity, arrival order.
pub(super) fn parse_history(doc: &Document) -> Vec<domain::query::HistoryEntry> {
    use domain::ApplyOutcome;
    let mut entries: Vec<_> = doc
        .get_array("history")
        .map(|a| a.iter().filter_map(Bson::as_document).cloned().collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .filter_map(|(i, e)| {
            let status = Status::from_rank(int(&e, "r")?)?;
            let outcome = match e.get_str("o").unwrap_or("") {
                "applied" => ApplyOutcome::Applied,
                "stale" => ApplyOutcome::Stale,
                _ => ApplyOutcome::Duplicate,
            };
            let version = Version {
                changed_at: EventTime::from_nanos(int(&e, "t")?),
                status,
            };
            Some((
                i,
                domain::query::HistoryEntry {
                    version,
                    outcome,
                    received_ms: int(&e, "ms").unwrap_or(0),
                },
            ))
        })
        .collect();
    entries.sort_by(|(ia, a), (ib, b)| a.version.cmp(&b.version).then(ia.cmp(ib)));
    entries.into_iter().map(|(_, e)| e).collect()
}

fn nanos(t: Option<EventTime>) -> Bson {
    t.map_or(Bson::Null, |t| Bson::Int64(t.as_nanos()))
}

/// Every field the domain decides, as `$set` content; `rev` is the write's token.
pub(super) fn state_fields(state: &AlarmState, meta: &AlarmMetadata, rev: &str, now_ms: i64) -> Document {
    let latest = state.latest().expect("a stored alarm has seen an event");
    let mut fields = doc! {
        "cleared_at": nanos(state.seen.cleared),
        "warning_at": nanos(state.seen.warning),
        "critical_at": nanos(state.seen.critical),
        "status": latest.status.as_str(),
        "rank": i32::from(latest.status.rank()),
        "changed_at": latest.changed_at.as_nanos(),
        "active": state.is_active(),
        "due": state.is_due(),
        "delivered_at": nanos(state.delivered.map(|d| d.changed_at)),
        "delivered_rank": state.delivered.map_or(Bson::Null, |d| Bson::Int32(i32::from(d.status.rank()))),
        "updated_ms": now_ms,
        "rev": rev,
    };
    for (key, value) in [
        ("name", &meta.name),
        ("service", &meta.service),
        ("user_name", &meta.user_name),
        ("service_name", &meta.service_name),
        ("summary", &meta.summary),
    ] {
        fields.insert(
            key,
            value.as_deref().map_or(Bson::Null, |v| Bson::String(v.to_string())),
        );
    }
    fields
}

/// The whole document of a new alarm.
pub(super) fn new_alarm(
    user: &UserId,
    alarm: &AlarmId,
    state: &AlarmState,
    meta: &AlarmMetadata,
    rev: &str,
    now_ms: i64,
) -> Document {
    let mut doc = alarm_key(user, alarm);
    doc.insert("user_id", user.as_str());
    doc.insert("alarm_id", alarm.as_str());
    doc.insert("first_seen_ms", now_ms);
    doc.extend(state_fields(state, meta, rev, now_ms));
    doc
}
