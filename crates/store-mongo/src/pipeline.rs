//! The digest claim as one aggregation-pipeline update: taken only when free or expired.

use mongodb::bson::{doc, Bson, Document};

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
