//! The store ceilings and the adapters on them, in the same run: a plain SQLite upsert of
//! the same rows (FULL and NORMAL) against the SQLite adapter's batched apply, and a plain
//! unordered bulk of upserts against the MongoDB adapter's apply, on the same server.

use crate::ceilings::Rate;
use alarm_digest::domain::ports::AlarmStore;
use alarm_digest::domain::AlarmEvent;
use alarm_digest::store::mongo::MongoStore;
use alarm_digest::store::sqlite::{Durability, SqliteOptions, SqliteStore};
use std::time::Instant;

/// Events per apply of the SQLite adapter, as the plain upsert's transactions.
pub const SQLITE_BATCH: usize = testkit::engine::sqlite::PER_TRANSACTION;

fn rate(events: &[AlarmEvent], elapsed: std::time::Duration) -> Rate {
    Rate {
        count: events.len() as u64,
        elapsed,
    }
}

/// The SQLite adapter as the service opens it, with `durability`: `events` applied
/// `per_apply` at a time, awaiting each commit.
pub async fn sqlite_adapter(events: &[AlarmEvent], durability: Durability, per_apply: usize) -> Rate {
    let dir = tempfile::tempdir().unwrap();
    let options = SqliteOptions {
        durability,
        ..Default::default()
    };
    let store = SqliteStore::open(dir.path().join("alarms.db"), options).unwrap();
    let started = Instant::now();
    for chunk in events.chunks(per_apply) {
        store.apply(chunk).await.unwrap();
    }
    rate(events, started.elapsed())
}

/// The plain upsert of the same rows with `synchronous` (`FULL`, `NORMAL`); `indexed` adds
/// the adapter's secondary indexes.
pub fn sqlite_plain(events: &[AlarmEvent], synchronous: &str, indexed: bool) -> Rate {
    let elapsed = tokio::task::block_in_place(|| testkit::engine::sqlite::upsert(events, synchronous, indexed));
    rate(events, elapsed)
}

/// The MongoDB adapter on a fresh database of `uri`'s server, applying `events` in the
/// service's batches.
pub async fn mongo_adapter(uri: &str, events: &[AlarmEvent]) -> Rate {
    let database = testkit::unique_database("bench_adapter");
    let store = MongoStore::connect(uri, Some(&database), Default::default())
        .await
        .expect("the MongoDB adapter");
    let started = Instant::now();
    for chunk in events.chunks(testkit::engine::mongo::PER_BULK) {
        store.apply(chunk).await.unwrap();
    }
    let elapsed = started.elapsed();
    let _ = store.drop_database().await;
    rate(events, elapsed)
}

/// The plain bulk upsert of the same documents on `uri`'s server.
pub async fn mongo_plain(uri: &str, events: &[AlarmEvent]) -> Rate {
    let database = testkit::unique_database("bench_ceiling");
    rate(
        events,
        testkit::engine::mongo::bulk_upsert(uri, &database, events, testkit::engine::mongo::PER_BULK).await,
    )
}
