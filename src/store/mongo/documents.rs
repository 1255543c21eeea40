//! Translation between alarm documents and domain types.

use crate::domain::ports::{AlarmRecord, StoreError};
use crate::domain::{
    AlarmEvent, AlarmId, AlarmMetadata, AlarmState, DueAlarm, EventTime, Status, StatusRegisters, UserId, Version,
};
use mongodb::bson::{doc, Bson, Document};

/// The `_id` filter of one alarm; field order is fixed so equality matches.
pub(super) fn alarm_key(user: &UserId, alarm: &AlarmId) -> Document {
    doc! { "_id": { "u": user.as_str(), "a": alarm.as_str() } }
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
    StoreError::Corrupt(format!("alarm {:?}: {what}", doc.get("_id")))
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
        metadata: AlarmMetadata {
            name: string(doc, "name"),
            service: string(doc, "service"),
            user_name: string(doc, "user_name"),
        },
    })
}

/// The whole document of an alarm whose first event is `ev`, as the update pipeline would
/// have built it.
pub(super) fn new_alarm(ev: &AlarmEvent, now_ms: i64) -> Document {
    let state = AlarmState::first(ev.version);
    let mut doc = alarm_key(&ev.user_id, &ev.alarm_id);
    doc.insert("user_id", ev.user_id.as_str());
    doc.insert("alarm_id", ev.alarm_id.as_str());
    doc.insert(
        super::pipeline::register_field(ev.version.status),
        ev.version.changed_at.as_nanos(),
    );
    doc.insert("status", ev.version.status.as_str());
    doc.insert("rank", i32::from(ev.version.status.rank()));
    doc.insert("changed_at", ev.version.changed_at.as_nanos());
    doc.insert("active", state.is_active());
    doc.insert("due", state.is_due());
    for (key, value) in [
        ("name", &ev.metadata.name),
        ("service", &ev.metadata.service),
        ("user_name", &ev.metadata.user_name),
    ] {
        if let Some(value) = value {
            doc.insert(key, value.as_str());
        }
    }
    doc.insert("first_seen_ms", now_ms);
    doc.insert("updated_ms", now_ms);
    doc
}
