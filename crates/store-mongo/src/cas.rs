//! Compare-and-set writes: the domain decides each alarm's new state from the revision it
//! read; the write only lands if the document still has that revision.

use super::bulk;
use super::documents::{alarm_id, find_whole, int, new_alarm, parse_metadata, parse_state, state_fields, RESOLVED_MS};
use domain::ports::StoreError;
use domain::{AlarmId, AlarmMetadata, AlarmState, UserId};
use mongodb::bson::{doc, Document};
use mongodb::{Collection, Database};
use std::collections::{HashMap, HashSet};

/// An alarm as read: its state, metadata and the revision token of the last write.
#[derive(Debug, Clone)]
pub(super) struct Stored {
    pub state: AlarmState,
    pub meta: AlarmMetadata,
    pub rev: Option<String>,
    /// When the store applied the alarm's clear ([`RESOLVED_MS`]), while it is inactive.
    pub resolved_ms: Option<i64>,
}

/// One planned write.
pub(super) struct Write<'a> {
    pub user: &'a UserId,
    pub alarm: &'a AlarmId,
    /// `None` for an alarm never stored: the write is an insert.
    pub expected_rev: Option<String>,
    /// The alarm's [`RESOLVED_MS`] as read; kept while it stays inactive.
    pub resolved_ms: Option<i64>,
    pub state: AlarmState,
    pub meta: AlarmMetadata,
    /// History entries to append (capped at `history_cap`).
    pub history: Vec<Document>,
    /// This write records a delivery now.
    pub delivered_now: bool,
    /// The decided state or metadata differ from what was read; when false the write only
    /// appends history, without a revision check, so it never conflicts with anyone.
    pub changes_state: bool,
}

/// Reads the stored alarms with these ids, keyed by id.
pub(super) async fn read(
    alarms: &Collection<Document>,
    ids: Vec<String>,
) -> Result<HashMap<String, Stored>, StoreError> {
    let docs: Vec<Document> = find_whole(
        alarms
            .find(doc! { "_id": { "$in": ids } })
            .projection(doc! { "history": 0, "acks": 0 }),
    )
    .await?;
    docs.iter()
        .map(|d| {
            let id = d
                .get_str("_id")
                .map_err(|_| StoreError::Corrupt("alarm without a string _id".into()))?
                .to_string();
            let stored = Stored {
                state: parse_state(d)?,
                meta: parse_metadata(d),
                rev: d.get_str("rev").ok().map(str::to_string),
                resolved_ms: int(d, RESOLVED_MS),
            };
            Ok((id, stored))
        })
        .collect()
}

/// Commits the writes (the inserts in one `insert` command, the conditional updates and
/// history appends in one `update` command; each statement is atomic on its document, the
/// batch is not) and returns the ids whose write did not land because another writer got
/// there first: a duplicate `_id` for an insert, another revision for an update. Only when
/// fewer updates matched than were sent is the batch read again to tell which.
pub(super) async fn commit(
    db: &Database,
    alarms: &Collection<Document>,
    collection: &str,
    writes: Vec<Write<'_>>,
    next_rev: impl Fn() -> String,
    now_ms: i64,
    history_cap: usize,
) -> Result<HashSet<String>, StoreError> {
    let mut conflicts = HashSet::new();
    let mut inserts = Vec::new();
    let mut insert_ids = Vec::new();
    let mut updates = Vec::new();
    let mut update_revs: HashMap<String, String> = HashMap::new();
    for w in writes {
        let id = alarm_id(w.user, w.alarm);
        let rev = next_rev();
        let received = w.history.len() as i64;
        let mut fields = state_fields(&w.state, &w.meta, &rev, now_ms);
        if w.delivered_now {
            fields.insert("delivered_ms", now_ms);
        }
        // Measured from the apply that made the alarm inactive, kept through later events.
        let resolved_ms = (!w.state.is_active()).then(|| w.resolved_ms.unwrap_or(now_ms));
        match w.expected_rev {
            None => {
                let mut doc = new_alarm(w.user, w.alarm, &w.state, &w.meta, &rev, now_ms);
                doc.extend(fields);
                if let Some(resolved_ms) = resolved_ms {
                    doc.insert(RESOLVED_MS, resolved_ms);
                }
                doc.insert("events_received", received);
                let skip = w.history.len().saturating_sub(history_cap);
                doc.insert("history", w.history.into_iter().skip(skip).collect::<Vec<_>>());
                inserts.push(doc);
                insert_ids.push(id);
            }
            Some(_) if !w.changes_state => {
                let push = doc! { "$each": w.history, "$slice": -(history_cap as i64) };
                let update = doc! { "$push": { "history": push }, "$inc": { "events_received": received } };
                updates.push((doc! { "_id": &id }, update));
            }
            Some(expected) => {
                let filter = doc! { "_id": &id, "rev": expected };
                let mut update = doc! { "$inc": { "events_received": received } };
                match resolved_ms {
                    Some(resolved_ms) => {
                        fields.insert(RESOLVED_MS, resolved_ms);
                    }
                    // Unset, not null: the index of cleared alarms holds inactive ones only.
                    None => {
                        update.insert("$unset", doc! { RESOLVED_MS: "" });
                    }
                }
                update.insert("$set", fields);
                if !w.history.is_empty() {
                    update.insert(
                        "$push",
                        doc! { "history": { "$each": w.history, "$slice": -(history_cap as i64) } },
                    );
                }
                updates.push((filter, update));
                update_revs.insert(id, rev);
            }
        }
    }
    for lost in bulk::insert(db, collection, inserts).await? {
        conflicts.insert(insert_ids[lost].clone());
    }
    let expected = updates.len() as i64;
    let matched = bulk::update(db, collection, updates).await?;
    if matched < expected && !update_revs.is_empty() {
        // Which ones lost: a document whose revision is not the one we wrote. (A history
        // append matches nothing only when a sweep removed its alarm: an event that changed
        // nothing would not have changed the tombstone either.)
        let ids: Vec<String> = update_revs.keys().cloned().collect();
        let now = read(alarms, ids).await?;
        for (id, rev) in update_revs {
            if now.get(&id).and_then(|s| s.rev.as_ref()) != Some(&rev) {
                conflicts.insert(id);
            }
        }
    }
    Ok(conflicts)
}

/// The id list for [`read`].
pub(super) fn ids<'a>(keys: impl Iterator<Item = (&'a UserId, &'a AlarmId)>) -> Vec<String> {
    let set: HashSet<String> = keys.map(|(u, a)| alarm_id(u, a)).collect();
    set.into_iter().collect()
}
