//! Retention on MongoDB: cleared alarms removed in batches behind tombstones (a collection
//! of their own), the tombstone lookups of apply, and the running total of removals.
//!
//! No step spans documents atomically, so the order carries the guarantees: a sweep writes
//! the tombstone first and then deletes the alarm only if it is still inactive with the
//! clear it was found with. An apply that finds no alarm therefore finds its tombstone, if
//! it was removed; an apply that changed the alarm meanwhile keeps it (and the tombstone
//! written for nothing is taken back, unless another sweeper has written it since).

use super::documents::{find_whole, int, RESOLVED_MS};
use super::errors::{is_duplicate_key, to_store_error};
use super::{bulk, MongoStore};
use domain::ports::StoreError;
use domain::retention::{Sweep, Swept};
use domain::EventTime;
use mongodb::bson::{doc, Bson, Document};
use mongodb::options::IndexOptions;
use mongodb::{Collection, IndexModel};
use std::collections::{HashMap, HashSet};

/// The tombstones of removed alarms: `_id` as the alarm's, `cleared_at` (nanoseconds),
/// `removed_ms`, and `by`, the sweep that last wrote it.
pub(super) const TOMBSTONES: &str = "alarm_tombstones";
/// Running totals, one document each: `{ _id: name, value }`.
const TOTALS: &str = "store_totals";
/// The total of alarms removed, in [`TOTALS`].
const REMOVED: &str = "alarms_removed";
/// How often a total's first insert that lost the race to another sweeper is retried.
const INSERT_RACE_RETRIES: usize = 5;

impl MongoStore {
    fn tombstone_collection(&self) -> Collection<Document> {
        self.db.collection(TOMBSTONES)
    }

    /// The indexes retention scans, and `resolved_ms` for cleared alarms written before
    /// it existed (from their last update, as SQLite's migration does). The backfill reads
    /// only the index's entries without `resolved_ms`, so it costs one command when there
    /// is nothing to do.
    pub(super) async fn prepare_retention(&self) -> Result<(), StoreError> {
        let cleared = IndexModel::builder()
            .keys(doc! { RESOLVED_MS: 1 })
            .options(
                IndexOptions::builder()
                    .name("cleared_by_resolved".to_string())
                    .partial_filter_expression(doc! { "active": false })
                    .build(),
            )
            .build();
        self.alarms.create_index(cleared).await.map_err(to_store_error)?;
        let removed = IndexModel::builder()
            .keys(doc! { "removed_ms": 1 })
            .options(IndexOptions::builder().name("by_removed".to_string()).build())
            .build();
        self.tombstone_collection()
            .create_index(removed)
            .await
            .map_err(to_store_error)?;
        self.alarms
            .update_many(
                doc! { "active": false, RESOLVED_MS: Bson::Null },
                vec![doc! { "$set": { RESOLVED_MS: "$updated_ms" } }],
            )
            .await
            .map_err(to_store_error)?;
        Ok(())
    }
}

/// The ChangedAt of the clear in each of these alarms' tombstones, by alarm id: one find.
pub(super) async fn tombstones(store: &MongoStore, ids: Vec<String>) -> Result<HashMap<String, EventTime>, StoreError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let docs: Vec<Document> = find_whole(
        store
            .tombstone_collection()
            .find(doc! { "_id": { "$in": ids } })
            .projection(doc! { "cleared_at": 1 }),
    )
    .await?;
    Ok(docs
        .iter()
        .filter_map(|d| {
            Some((
                d.get_str("_id").ok()?.to_string(),
                EventTime::from_nanos(int(d, "cleared_at")?),
            ))
        })
        .collect())
}

/// Forgets the tombstones of alarms an apply brought back (their documents hold the clear
/// again), each only while it still has the clear the apply started from: a sweeper that
/// removed the alarm again since has written a later one. One command.
pub(super) async fn drop_tombstones(store: &MongoStore, revived: Vec<(String, EventTime)>) -> Result<(), StoreError> {
    let statements = revived
        .into_iter()
        .map(|(id, cleared_at)| doc! { "_id": id, "cleared_at": cleared_at.as_nanos() })
        .collect();
    bulk::delete(&store.db, TOMBSTONES, statements).await?;
    Ok(())
}

/// One cleared alarm a sweep found, with what its delete is conditional on.
struct Doomed {
    id: String,
    user_id: String,
    alarm_id: String,
    changed_at: i64,
    resolved_ms: i64,
}

/// [`domain::ports::AlarmStore::sweep`] on MongoDB.
pub(super) async fn sweep(store: &MongoStore, sweep: &Sweep) -> Result<Swept, StoreError> {
    let alarms = remove_cleared(store, sweep).await?;
    let tombstones = remove_tombstones(store, sweep).await?;
    Ok(Swept { alarms, tombstones })
}

async fn remove_cleared(store: &MongoStore, sweep: &Sweep) -> Result<u64, StoreError> {
    if sweep.batch == 0 {
        return Ok(0);
    }
    let found: Vec<Document> = find_whole(
        store
            .alarms
            .find(doc! { "active": false, RESOLVED_MS: { "$lt": sweep.cleared_before_ms } })
            .sort(doc! { RESOLVED_MS: 1 })
            .limit(sweep.batch as i64)
            .projection(doc! { "_id": 1, "user_id": 1, "alarm_id": 1, "changed_at": 1, RESOLVED_MS: 1 }),
    )
    .await?;
    let doomed: Vec<Doomed> = found
        .iter()
        .filter_map(|d| {
            Some(Doomed {
                id: d.get_str("_id").ok()?.to_string(),
                user_id: d.get_str("user_id").ok()?.to_string(),
                alarm_id: d.get_str("alarm_id").ok()?.to_string(),
                changed_at: int(d, "changed_at")?,
                resolved_ms: int(d, RESOLVED_MS)?,
            })
        })
        .collect();
    if doomed.is_empty() {
        return Ok(0);
    }
    let by = store.next_rev();
    let now = super::now_ms();
    // The tombstones first. An inactive alarm's latest version is its clear, so its
    // ChangedAt is the clear's; a tombstone already there keeps the later clear.
    let bury = doomed
        .iter()
        .map(|d| {
            (
                doc! { "_id": &d.id },
                doc! {
                    "$max": { "cleared_at": d.changed_at },
                    "$set": { "user_id": &d.user_id, "alarm_id": &d.alarm_id, "removed_ms": now, "by": &by },
                },
            )
        })
        .collect();
    bulk::upsert(&store.db, TOMBSTONES, bury).await?;
    let deletes = doomed
        .iter()
        .map(|d| doc! { "_id": &d.id, "active": false, RESOLVED_MS: d.resolved_ms, "changed_at": d.changed_at })
        .collect();
    let removed = bulk::delete(&store.db, super::ALARMS, deletes).await?;
    if removed < doomed.len() as u64 {
        take_back_tombstones(store, &doomed, &by).await?;
    }
    count_removed(store, removed).await?;
    Ok(removed)
}

/// The tombstones this sweep wrote for alarms that changed before it could delete them.
/// One that another sweeper wrote since (`by` is no longer this sweep's, or it holds a
/// later clear) stays: that sweeper may be removing the alarm.
async fn take_back_tombstones(store: &MongoStore, doomed: &[Doomed], by: &str) -> Result<(), StoreError> {
    let ids: Vec<&str> = doomed.iter().map(|d| d.id.as_str()).collect();
    let kept: Vec<Document> = find_whole(
        store
            .alarms
            .find(doc! { "_id": { "$in": ids } })
            .projection(doc! { "_id": 1 }),
    )
    .await?;
    let kept: HashSet<&str> = kept.iter().filter_map(|d| d.get_str("_id").ok()).collect();
    let statements = doomed
        .iter()
        .filter(|d| kept.contains(d.id.as_str()))
        .map(|d| doc! { "_id": &d.id, "by": by, "cleared_at": d.changed_at })
        .collect();
    bulk::delete(&store.db, TOMBSTONES, statements).await?;
    Ok(())
}

/// Adds `removed` to the running total. A separate write after the deletes: a sweeper that
/// dies between the two leaves the total short by its batch.
async fn count_removed(store: &MongoStore, removed: u64) -> Result<(), StoreError> {
    if removed == 0 {
        return Ok(());
    }
    let totals: Collection<Document> = store.db.collection(TOTALS);
    for _ in 0..=INSERT_RACE_RETRIES {
        let counted = totals
            .update_one(doc! { "_id": REMOVED }, doc! { "$inc": { "value": removed as i64 } })
            .await
            .map_err(to_store_error)?;
        if counted.matched_count == 1 {
            return Ok(());
        }
        match totals
            .insert_one(doc! { "_id": REMOVED, "value": removed as i64 })
            .await
        {
            Ok(_) => return Ok(()),
            Err(e) if is_duplicate_key(&e) => continue,
            Err(e) => return Err(to_store_error(e)),
        }
    }
    Err(StoreError::Unavailable(
        "the removed total kept losing insert races".into(),
    ))
}

/// The oldest tombstones removed before the cut-off, at most a batch; each deleted only
/// if it was not written again since it was found.
async fn remove_tombstones(store: &MongoStore, sweep: &Sweep) -> Result<u64, StoreError> {
    if sweep.batch == 0 {
        return Ok(0);
    }
    let expired = doc! { "removed_ms": { "$lt": sweep.tombstones_before_ms } };
    let found: Vec<Document> = find_whole(
        store
            .tombstone_collection()
            .find(expired.clone())
            .sort(doc! { "removed_ms": 1 })
            .limit(sweep.batch as i64)
            .projection(doc! { "_id": 1 }),
    )
    .await?;
    if found.is_empty() {
        return Ok(0);
    }
    let ids: Vec<Bson> = found.iter().filter_map(|d| d.get("_id").cloned()).collect();
    let mut filter = expired;
    filter.insert("_id", doc! { "$in": ids });
    let deleted = store
        .tombstone_collection()
        .delete_many(filter)
        .await
        .map_err(to_store_error)?;
    Ok(deleted.deleted_count)
}

/// The tombstones kept and the alarms ever removed.
pub(super) async fn totals(store: &MongoStore) -> Result<(u64, u64), StoreError> {
    let tombstones = store
        .tombstone_collection()
        .count_documents(doc! {})
        .await
        .map_err(to_store_error)?;
    let removed = store
        .db
        .collection::<Document>(TOTALS)
        .find_one(doc! { "_id": REMOVED })
        .await
        .map_err(to_store_error)?
        .and_then(|d| int(&d, "value"))
        .unwrap_or(0)
        .max(0) as u64;
    Ok((tombstones, removed))
}
