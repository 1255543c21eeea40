//! The MongoDB-wire ceiling: one unordered bulk `update` of upserts per batch, one statement
//! per alarm the batch touches, of the documents the adapter keeps, with the adapter's
//! write concern.

use super::{now_ms, Row};
use domain::AlarmEvent;
use mongodb::bson::{doc, Bson, Document};
use mongodb::Client;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use store_mongo::client_options;

/// Statements per bulk in the service bench: the service's `MAX_BATCH`.
pub const PER_BULK: usize = 512;

fn text(v: Option<&str>) -> Bson {
    v.map_or(Bson::Null, |s| Bson::String(s.to_string()))
}

fn int(v: Option<i64>) -> Bson {
    v.map_or(Bson::Null, Bson::Int64)
}

fn id_of(ev: &AlarmEvent) -> String {
    format!("{}:{}{}", ev.user_id.as_str().len(), ev.user_id, ev.alarm_id)
}

/// The upsert of one alarm's document from its events in a batch (the adapter too writes
/// each alarm once per batch): its `_id`, the last event's state fields and metadata, a
/// revision, the received count and a history entry per event (capped like the adapter's).
fn statement(id: String, events: &[&AlarmEvent], now: i64, seq: u64) -> Document {
    let r = Row::of(events.last().expect("a statement has events"));
    let fields = doc! {
        "user_id": r.user_id, "alarm_id": r.alarm_id,
        "cleared_at": int(r.cleared_at), "warning_at": int(r.warning_at), "critical_at": int(r.critical_at),
        "status": r.status, "rank": r.rank, "changed_at": r.changed_at, "active": r.active, "due": r.active,
        "delivered_at": Bson::Null, "delivered_rank": Bson::Null, "updated_ms": now,
        "rev": format!("ceiling-{seq}"),
        "name": text(r.name), "service": text(r.service), "user_name": text(r.user_name),
    };
    let entries: Vec<Document> = events
        .iter()
        .map(|ev| {
            let r = Row::of(ev);
            doc! { "t": r.changed_at, "r": r.rank, "o": "applied", "ms": now }
        })
        .collect();
    doc! {
        "q": { "_id": id },
        "u": {
            "$set": fields,
            "$setOnInsert": { "first_seen_ms": now },
            "$inc": { "events_received": events.len() as i64 },
            "$push": { "history": { "$each": entries, "$slice": -20 } },
        },
        "upsert": true,
    }
}

/// The statements of one batch: one upsert per alarm it touches, in first-seen order.
fn statements(chunk: &[AlarmEvent], now: i64, seq: &mut u64) -> Vec<Document> {
    let mut order: Vec<String> = Vec::new();
    let mut by_id: HashMap<String, Vec<&AlarmEvent>> = HashMap::new();
    for ev in chunk {
        let id = id_of(ev);
        by_id
            .entry(id.clone())
            .or_insert_with(|| {
                order.push(id);
                Vec::new()
            })
            .push(ev);
    }
    order
        .into_iter()
        .map(|id| {
            *seq += 1;
            let events = by_id.remove(&id).unwrap_or_default();
            statement(id, &events, now, *seq)
        })
        .collect()
}

/// Upserts the documents of `events` into `database`.`alarms` (dropped first) on the
/// server of `uri`, one unordered `update` command per `per_bulk` events, one statement
/// per alarm in it; the time from the first command to the last reply.
pub async fn bulk_upsert(uri: &str, database: &str, events: &[AlarmEvent], per_bulk: usize) -> Duration {
    let options = client_options(uri).await.expect("MongoDB options");
    let concern = options
        .write_concern
        .as_ref()
        .map(|w| mongodb::bson::to_document(w).expect("write concern as BSON"));
    let client = Client::with_options(options).expect("MongoDB client");
    let db = client.database(database);
    db.drop().await.expect("drop the ceiling database");
    let started = Instant::now();
    let mut seq = 0u64;
    for chunk in events.chunks(per_bulk) {
        let updates = statements(chunk, now_ms(), &mut seq);
        let mut command = doc! { "update": "alarms", "updates": updates, "ordered": false };
        if let Some(concern) = &concern {
            command.insert("writeConcern", concern.clone());
        }
        let reply = db.run_command(command).await.expect("the ceiling's bulk upsert");
        assert!(
            reply.get_array("writeErrors").is_err(),
            "the ceiling's bulk upsert failed: {reply}"
        );
    }
    let elapsed = started.elapsed();
    let _ = db.drop().await;
    elapsed
}
