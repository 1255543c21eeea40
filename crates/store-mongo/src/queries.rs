//! The API's reads on MongoDB: filtered keyset pages, the statistics' one-find read,
//! acknowledgements, counts, history trim.

use super::documents::{alarm_key, int, parse_activity, parse_record};
use super::errors::to_store_error;
use super::MongoStore;
use async_trait::async_trait;
use domain::episodes::Lifecycle;
use domain::ports::{AlarmActivityStore, AlarmRecord, StoreError};
use domain::query::{
    AckOutcome, AlarmActivity, AlarmFilter, Counts, HistoryLimits, Page, PageKey, PageRequest, SortOrder,
};
use domain::{AlarmId, EventTime, UserId};
use futures::TryStreamExt;
use mongodb::bson::{doc, Bson, Document};
use mongodb::Collection;

/// Acknowledgement times kept per alarm.
const ACKS_KEPT: i64 = 100;

fn escape_regex(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            if "\\^$.|?*+()[]{}-/".contains(c) {
                vec!['\\', c]
            } else {
                vec![c]
            }
        })
        .collect()
}

/// Whether the alarm has an acknowledgement later than its latest CLEARED (any, if it
/// never cleared): acknowledged in its current episode ([`Lifecycle::of`]). The greatest
/// acknowledgement decides; a missing or null `cleared_at` sorts below every number, and
/// an alarm without acknowledgements has none greater.
fn acked_in_current_episode() -> Document {
    doc! { "$gt": [ { "$max": { "$ifNull": ["$acks", []] } }, { "$ifNull": ["$cleared_at", Bson::Null] } ] }
}

/// The query of one lifecycle, the rule of [`Lifecycle::of`].
fn lifecycle_condition(lifecycle: Lifecycle) -> Document {
    match lifecycle {
        Lifecycle::Triggered => doc! { "active": true, "$expr": { "$not": [acked_in_current_episode()] } },
        Lifecycle::Acknowledged => doc! { "active": true, "$expr": acked_in_current_episode() },
        Lifecycle::Resolved => doc! { "active": false },
    }
}

/// The metadata fields `q` searches.
const TEXT_FIELDS: [&str; 5] = ["name", "service", "service_name", "user_name", "summary"];

fn filter_document(filter: &AlarmFilter) -> Document {
    let mut and: Vec<Bson> = Vec::new();
    let mut doc = Document::new();
    if let Some(u) = &filter.user_id {
        doc.insert("user_id", u.as_str());
    }
    if !filter.statuses.is_empty() {
        doc.insert(
            "status",
            doc! { "$in": filter.statuses.iter().map(|s| s.as_str()).collect::<Vec<_>>() },
        );
    }
    if let Some(active) = filter.active {
        doc.insert("active", active);
    }
    if !filter.lifecycles.is_empty() {
        let any: Vec<Bson> = filter
            .lifecycles
            .iter()
            .map(|&l| Bson::Document(lifecycle_condition(l)))
            .collect();
        and.push(Bson::Document(doc! { "$or": any }));
    }
    for (field, value) in [("name", &filter.name), ("user_name", &filter.user_name)] {
        if let Some(v) = value {
            doc.insert(field, v.as_str());
        }
    }
    if let Some(v) = &filter.service {
        // A service is asked for by id or by name: an Allma alarm has both.
        and.push(Bson::Document(
            doc! { "$or": [{ "service": v.as_str() }, { "service_name": v.as_str() }] },
        ));
    }
    if let Some(text) = &filter.text {
        let pattern = escape_regex(text);
        let any: Vec<Bson> = TEXT_FIELDS
            .iter()
            .map(|f| Bson::Document(doc! { *f: { "$regex": &pattern, "$options": "i" } }))
            .collect();
        and.push(Bson::Document(doc! { "$or": any }));
    }
    let mut time = Document::new();
    if let Some(t) = filter.changed_after {
        time.insert("$gt", t.as_nanos());
    }
    if let Some(t) = filter.changed_before {
        time.insert("$lt", t.as_nanos());
    }
    if !time.is_empty() {
        doc.insert("changed_at", time);
    }
    if !and.is_empty() {
        doc.insert("$and", and);
    }
    doc
}

/// Strictly after (or before, descending) the page key in (changed_at, alarm_id, user_id).
fn keyset(key: &PageKey, order: SortOrder) -> Document {
    let op = if order == SortOrder::Asc { "$gt" } else { "$lt" };
    let t = key.changed_at.as_nanos();
    doc! { "$or": [
        { "changed_at": { op: t } },
        { "changed_at": t, "alarm_id": { op: key.alarm_id.as_str() } },
        { "changed_at": t, "alarm_id": key.alarm_id.as_str(), "user_id": { op: key.user_id.as_str() } },
    ]}
}

/// One page of alarms matching `filter`.
pub(super) async fn list(
    alarms: &Collection<Document>,
    filter: &AlarmFilter,
    page: &PageRequest,
) -> Result<Page<AlarmRecord>, StoreError> {
    let mut query = filter_document(filter);
    if let Some(key) = &page.after {
        let and = query.get_array("$and").cloned().unwrap_or_default();
        let mut and = and;
        and.push(Bson::Document(keyset(key, page.order)));
        query.insert("$and", and);
    }
    let dir = if page.order == SortOrder::Asc { 1 } else { -1 };
    let docs: Vec<Document> = alarms
        .find(query)
        .sort(doc! { "changed_at": dir, "alarm_id": dir, "user_id": dir })
        .limit(page.limit as i64 + 1)
        .projection(doc! { "history": 0 })
        .await
        .map_err(to_store_error)?
        .try_collect()
        .await
        .map_err(to_store_error)?;
    let items: Vec<AlarmRecord> = docs.iter().map(parse_record).collect::<Result<_, _>>()?;
    Ok(domain::query::page_from(items, page.limit))
}

/// Adds an acknowledgement time unless already there.
pub(super) async fn acknowledge(
    alarms: &Collection<Document>,
    user: &UserId,
    alarm: &AlarmId,
    at: EventTime,
) -> Result<AckOutcome, StoreError> {
    let mut filter = alarm_key(user, alarm);
    filter.insert("acks", doc! { "$ne": at.as_nanos() });
    let pushed = alarms
        .update_one(
            filter,
            doc! { "$push": { "acks": { "$each": [at.as_nanos()], "$slice": -ACKS_KEPT } } },
        )
        .await
        .map_err(to_store_error)?;
    if pushed.matched_count == 1 {
        return Ok(AckOutcome::Recorded);
    }
    let exists = alarms
        .find_one(alarm_key(user, alarm))
        .projection(doc! { "_id": 1 })
        .await
        .map_err(to_store_error)?;
    Ok(if exists.is_some() {
        AckOutcome::AlreadyRecorded
    } else {
        AckOutcome::UnknownAlarm
    })
}

/// Totals (tombstones and removals are [`super::retention`]'s, zero here); events received are summed over the alarms' own counters (no shared,
/// contended counter document).
pub(super) async fn counts(alarms: &Collection<Document>) -> Result<Counts, StoreError> {
    let pipeline = vec![doc! { "$group": {
        "_id": Bson::Null,
        "alarms": { "$sum": 1 },
        "active": { "$sum": { "$cond": ["$active", 1, 0] } },
        "events": { "$sum": "$events_received" },
    }}];
    let totals = alarms
        .aggregate(pipeline)
        .await
        .map_err(to_store_error)?
        .try_next()
        .await
        .map_err(to_store_error)?;
    let get = |key: &str| totals.as_ref().and_then(|d| int(d, key)).unwrap_or(0).max(0) as u64;
    Ok(Counts {
        active: get("active"),
        alarms: get("alarms"),
        events_received: get("events"),
        tombstones: 0,
        removed: 0,
    })
}

/// Drops histories of alarms that changed before the `limits.alarms`-th latest change
/// (the `by_time` index).
pub(super) async fn trim_history(alarms: &Collection<Document>, limits: HistoryLimits) -> Result<u64, StoreError> {
    let nth = alarms
        .find(doc! {})
        .sort(doc! { "changed_at": -1 })
        .skip(limits.alarms.saturating_sub(1) as u64)
        .limit(1)
        .projection(doc! { "changed_at": 1 })
        .await
        .map_err(to_store_error)?
        .try_next()
        .await
        .map_err(to_store_error)?;
    let Some(cutoff) = nth.and_then(|d| int(&d, "changed_at")) else {
        return Ok(0);
    };
    let dropped = alarms
        .update_many(
            doc! { "changed_at": { "$lt": cutoff }, "history.0": { "$exists": true } },
            doc! { "$set": { "history": [] } },
        )
        .await
        .map_err(to_store_error)?;
    Ok(dropped.modified_count)
}

/// Every alarm matching `filter` with its registers, retained history and
/// acknowledgements: ONE find, each document read whole (a document is written
/// atomically, so its state, history and acknowledgements are of one moment).
async fn activity(alarms: &Collection<Document>, filter: &AlarmFilter) -> Result<Vec<AlarmActivity>, StoreError> {
    let docs: Vec<Document> = alarms
        .find(filter_document(filter))
        .sort(doc! { "changed_at": 1, "alarm_id": 1, "user_id": 1 })
        .projection(doc! {
            "_id": 1, "user_id": 1, "alarm_id": 1, "cleared_at": 1, "warning_at": 1, "critical_at": 1,
            "history": 1, "acks": 1,
        })
        .await
        .map_err(to_store_error)?
        .try_collect()
        .await
        .map_err(to_store_error)?;
    docs.iter().map(parse_activity).collect()
}

#[async_trait]
impl AlarmActivityStore for MongoStore {
    async fn activity(&self, filter: &AlarmFilter) -> Result<Vec<AlarmActivity>, StoreError> {
        activity(&self.alarms, filter).await
    }
}
