//! What only the SQLite adapter has to show: a database an earlier version wrote opens
//! under this one, keeps its alarms and takes the columns added since.

use super::{alarm, ev, user, LIMITS};
use alarm_digest::domain::ports::AlarmStore;
use alarm_digest::domain::query::{AlarmFilter, PageRequest, SortOrder};
use alarm_digest::domain::{AlarmMetadata, Status};
use alarm_digest::store::sqlite::{SqliteOptions, SqliteStore};
use std::path::Path;
use std::time::Duration;

fn open(path: &Path) -> SqliteStore {
    let options = SqliteOptions {
        history: LIMITS,
        ..Default::default()
    };
    SqliteStore::open(path, options).unwrap()
}

fn user_version(db: &rusqlite::Connection) -> i64 {
    db.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_at_the_previous_schema_version_opens_and_keeps_its_alarms() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alarms.db");
    let store = open(&path);
    let mut described = ev("u1", "a1", 10, Status::Critical);
    described.metadata = AlarmMetadata {
        name: Some("Disk full".into()),
        service: Some("billing".into()),
        user_name: Some("Ann".into()),
        ..Default::default()
    };
    store
        .apply(&[described, ev("u1", "a2", 20, Status::Cleared)])
        .await
        .unwrap();
    let before = store.alarm(&user("u1"), &alarm("a1")).await.unwrap().unwrap();
    drop(store);

    // As version 5 left it: no service_name or summary column.
    let db = rusqlite::Connection::open(&path).unwrap();
    db.busy_timeout(Duration::from_secs(5)).unwrap();
    let current = user_version(&db);
    db.execute_batch(
        "ALTER TABLE alarms DROP COLUMN summary;
         ALTER TABLE alarms DROP COLUMN service_name;
         PRAGMA user_version = 5;",
    )
    .unwrap();
    drop(db);

    let store = open(&path);
    let after = store.alarm(&user("u1"), &alarm("a1")).await.unwrap().unwrap();
    assert_eq!(after, before, "state, metadata and times as they were");
    let listed = store
        .list_alarms(
            &AlarmFilter {
                service: Some("billing".into()),
                ..Default::default()
            },
            &PageRequest {
                limit: 10,
                after: None,
                order: SortOrder::Asc,
            },
        )
        .await
        .unwrap();
    assert_eq!(listed.items, [before], "the service filter reads the old rows");
    assert_eq!(store.counts().await.unwrap().alarms, 2);

    let mut newer = ev("u1", "a1", 30, Status::Critical);
    newer.metadata = AlarmMetadata {
        service: Some("svc-42".into()),
        service_name: Some("billing".into()),
        summary: Some("disk is 95% full".into()),
        ..Default::default()
    };
    store.apply(&[newer]).await.unwrap();
    let metadata = store.alarm(&user("u1"), &alarm("a1")).await.unwrap().unwrap().metadata;
    assert_eq!(
        metadata,
        AlarmMetadata {
            name: Some("Disk full".into()),
            service: Some("svc-42".into()),
            user_name: Some("Ann".into()),
            service_name: Some("billing".into()),
            summary: Some("disk is 95% full".into()),
        }
    );
    drop(store);
    let db = rusqlite::Connection::open(&path).unwrap();
    assert_eq!(user_version(&db), current, "upgraded to this build's version");
}
