//! The rules of `domain::alarm` as aggregation-pipeline updates, so MongoDB applies them
//! atomically per document: register maxima, the derived latest version and the due flag.

use crate::domain::{Status, Version};
use mongodb::bson::{doc, Bson, Document};

/// Stands for "never seen" inside expressions, below every real event time.
const NEVER: i64 = i64::MIN;

/// The document field holding the register of `status`.
pub(super) fn register_field(status: Status) -> &'static str {
    match status {
        Status::Cleared => "cleared_at",
        Status::Warning => "warning_at",
        Status::Critical => "critical_at",
    }
}

fn register(status: Status) -> Bson {
    Bson::Document(doc! { "$ifNull": [format!("${}", register_field(status)), NEVER] })
}

/// `(t, rank) > (field_t, field_rank)` in version order; a missing field compares lowest.
fn version_after(t: Bson, rank: Bson, field_t: &str, field_rank: &str) -> Bson {
    let ft = doc! { "$ifNull": [format!("${field_t}"), NEVER] };
    let fr = doc! { "$ifNull": [format!("${field_rank}"), -1] };
    Bson::Document(doc! { "$or": [
        { "$gt": [t.clone(), ft.clone()] },
        { "$and": [ { "$eq": [t, ft] }, { "$gt": [rank, fr] } ] },
    ]})
}

/// Stage 1 of apply: raise the event's register, stamp the key and arrival times, and keep
/// metadata from the newest event (older events only fill gaps).
pub(super) fn apply_registers(
    user_id: &str,
    alarm_id: &str,
    v: Version,
    meta: &[(&str, &Option<String>)],
    now_ms: i64,
) -> Document {
    let t = v.changed_at.as_nanos();
    let newer = version_after(
        Bson::Int64(t),
        Bson::Int32(i32::from(v.status.rank())),
        "changed_at",
        "rank",
    );
    let field = register_field(v.status);
    let mut set = doc! {
        "user_id": user_id,
        "alarm_id": alarm_id,
        field: { "$max": [format!("${field}"), t] },
        "first_seen_ms": { "$ifNull": ["$first_seen_ms", now_ms] },
        "updated_ms": now_ms,
    };
    for (name, value) in meta {
        if let Some(value) = value {
            set.insert(
                *name,
                doc! { "$cond": [newer.clone(), value.as_str(), { "$ifNull": [format!("${name}"), value.as_str()] }] },
            );
        }
    }
    doc! { "$set": set }
}

/// Stage 2: the latest version is the greatest register, the more severe on equal times.
pub(super) fn derive_latest() -> Document {
    let (c, w, k) = (
        register(Status::Cleared),
        register(Status::Warning),
        register(Status::Critical),
    );
    let critical = doc! { "$and": [ { "$ne": [k.clone(), NEVER] }, { "$gte": [k.clone(), w.clone()] }, { "$gte": [k.clone(), c.clone()] } ] };
    let warning = doc! { "$and": [ { "$ne": [w.clone(), NEVER] }, { "$gte": [w.clone(), c.clone()] } ] };
    let pick = |crit: Bson, warn: Bson, clear: Bson| {
        doc! { "$switch": { "branches": [ { "case": critical.clone(), "then": crit }, { "case": warning.clone(), "then": warn } ], "default": clear } }
    };
    doc! { "$set": {
        "status": pick("CRITICAL".into(), "WARNING".into(), "CLEARED".into()),
        "rank": pick(Bson::Int32(2), Bson::Int32(1), Bson::Int32(0)),
        "changed_at": pick(k.clone(), w.clone(), c.clone()),
    }}
}

/// Stage 3: active, and due when active and never delivered or some register of another
/// status is after the delivered version.
pub(super) fn derive_due() -> Document {
    let mut changed_since_delivery = vec![Bson::Document(
        doc! { "$eq": [ { "$ifNull": ["$delivered_at", Bson::Null] }, Bson::Null ] },
    )];
    for status in Status::ALL {
        let rank = i32::from(status.rank());
        changed_since_delivery.push(Bson::Document(doc! { "$and": [
            { "$ne": [ { "$ifNull": ["$delivered_rank", -1] }, rank ] },
            { "$ne": [register(status), NEVER] },
            version_after(register(status), Bson::Int32(rank), "delivered_at", "delivered_rank"),
        ]}));
    }
    doc! { "$set": {
        "active": { "$gt": ["$rank", 0] },
        "due": { "$and": [ { "$gt": ["$rank", 0] }, { "$or": changed_since_delivery } ] },
    }}
}

/// Stage 1 of a delivery record: move the delivered version forward, never back.
pub(super) fn record_delivery(v: Version, now_ms: i64) -> Document {
    let t = v.changed_at.as_nanos();
    let rank = i32::from(v.status.rank());
    let newer = version_after(Bson::Int64(t), Bson::Int32(rank), "delivered_at", "delivered_rank");
    doc! { "$set": {
        "delivered_at": { "$cond": [newer.clone(), t, "$delivered_at"] },
        "delivered_rank": { "$cond": [newer.clone(), rank, "$delivered_rank"] },
        "delivered_ms": { "$cond": [newer, now_ms, "$delivered_ms"] },
    }}
}

/// The claim update: take it when free or expired, otherwise leave it as it is.
pub(super) fn claim(holder: &str, now_ms: i64, expires_at_ms: i64) -> Document {
    let free = doc! { "$or": [
        { "$eq": [ { "$ifNull": ["$holder", Bson::Null] }, Bson::Null ] },
        { "$lte": [ { "$ifNull": ["$expires_at_ms", 0_i64] }, now_ms ] },
    ]};
    doc! { "$set": {
        "holder": { "$cond": [free.clone(), holder, "$holder"] },
        "expires_at_ms": { "$cond": [free, expires_at_ms, "$expires_at_ms"] },
        "epoch": { "$ifNull": ["$epoch", 0_i64] },
    }}
}
