//! What the MongoDB store puts on the wire, seen through the driver's command monitoring:
//! writes that survive a failover (`w: "majority", j: true`) and reads from the primary,
//! unless the store URL asks for something else.

use super::pager::{opened, policy, service, T0 as PAGER_T0};
use super::{alarm, ev, sent, user, v, LIMITS};
use alarm_digest::domain::pager::{PagerStore, PolicyRepository};
use alarm_digest::domain::ports::{AlarmStore, PreparedDigest};
use alarm_digest::domain::query::{AlarmFilter, PageRequest, SortOrder};
use alarm_digest::domain::schedule::DigestCause;
use alarm_digest::domain::{DueAlarm, EventTime, Status};
use alarm_digest::store::mongo::{client_options, MongoStore};
use mongodb::bson::{Bson, Document};
use mongodb::event::command::CommandEvent;
use mongodb::event::EventHandler;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use testkit::TestDatabase;

/// The commands that write; each takes a write concern.
const WRITES: &[&str] = &[
    "insert",
    "update",
    "delete",
    "findAndModify",
    "bulkWrite",
    "createIndexes",
];
/// The commands that read; each takes a read preference.
const READS: &[&str] = &["find", "getMore", "aggregate", "count", "distinct"];
/// Fewer write commands than this means the scenario did not reach the store.
const MIN_WRITES: usize = 20;

/// The commands a client started, in order: (name, command document).
pub type Seen = Arc<Mutex<Vec<(String, Document)>>>;

/// A store on a database of its own at `uri` plus `query`, whose client records every
/// command it starts; the database goes when the [`TestDatabase`] is dropped.
pub async fn monitored_store(query: &str) -> (MongoStore, Seen, TestDatabase) {
    let database = TestDatabase::new("durability");
    let uri = testkit::mongo_replica_set_uri_for(database.name()).await;
    let separator = if uri.contains('?') { '&' } else { '?' };
    let uri = if query.is_empty() {
        uri
    } else {
        format!("{uri}{separator}{query}")
    };
    let mut options = client_options(&uri).await.unwrap();
    let seen: Seen = Arc::default();
    let recorder = Arc::clone(&seen);
    options.command_event_handler = Some(EventHandler::callback(move |event| {
        if let CommandEvent::Started(started) = event {
            recorder.lock().unwrap().push((started.command_name, started.command));
        }
    }));
    let store = MongoStore::connect_with(options, None, LIMITS).await.unwrap();
    (store, seen, database)
}

/// Every kind of write the adapter makes, through its public ports: batches of events
/// (inserts, compare-and-set updates, history-only appends), an acknowledgement, a digest
/// claimed, prepared, recorded and released, a history trim, and the pager's records,
/// claims, notifications and policies.
async fn drive_every_write(store: &MongoStore) {
    let first = [ev("u1", "a1", 0, Status::Warning), ev("u1", "a2", 0, Status::Critical)];
    store.apply(&first).await.unwrap();
    let second = [
        ev("u1", "a1", 10, Status::Critical),
        ev("u1", "a2", 0, Status::Critical),
    ];
    store.apply(&second).await.unwrap();
    store
        .acknowledge(&user("u1"), &alarm("a1"), EventTime::from_nanos(42))
        .await
        .unwrap();
    let ttl = Duration::from_secs(30);
    let claim = store
        .claim_digest(&user("u1"), "replica-a", EventTime::from_nanos(1_000_000), ttl)
        .await
        .unwrap()
        .expect("a first claim");
    let due = store.due_alarms(&user("u1")).await.unwrap();
    let prepared = PreparedDigest {
        id: "d1".into(),
        alarms: due.clone(),
        request: Some("req-1".into()),
        cause: DigestCause::Requested,
    };
    assert!(store.prepare_digest(&claim, &prepared).await.unwrap());
    store.record_delivery(&claim, &sent(&due, Some("req-1"))).await.unwrap();
    store.release_digest(&claim).await.unwrap();
    let again = store
        .claim_digest(&user("u1"), "replica-b", EventTime::from_nanos(2_000_000), ttl)
        .await
        .unwrap()
        .expect("a claim after the release");
    let late = [DueAlarm {
        alarm_id: alarm("a1"),
        version: v(10, Status::Critical),
    }];
    store.record_delivery(&again, &sent(&late, None)).await.unwrap();
    store.release_digest(&again).await.unwrap();
    store.trim_history().await.unwrap();

    let s = service("db");
    let record = opened("db", Some(PAGER_T0));
    assert!(store.save_pager_record(&s, 0, &record).await.unwrap());
    assert!(store.save_pager_record(&s, 1, &record).await.unwrap());
    let claimed = store
        .claim_due(PAGER_T0, PAGER_T0.after(Duration::from_secs(60)), 10)
        .await
        .unwrap();
    assert_eq!(claimed, std::slice::from_ref(&s));
    assert!(store.record_notification(&record.outbox[0], PAGER_T0).await.unwrap());
    assert!(store.put_policy(&policy("db")).await.unwrap());
    assert!(!store.put_policy(&policy("db")).await.unwrap());
    assert!(store.delete_policy(&s).await.unwrap());
}

/// The write commands seen, after checking there are enough of them, of every kind the
/// scenario makes.
fn writes_of(seen: &Seen) -> Vec<(String, Document)> {
    let writes: Vec<_> = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|(name, _)| WRITES.contains(&name.as_str()))
        .cloned()
        .collect();
    let kinds: BTreeSet<&str> = writes.iter().map(|(name, _)| name.as_str()).collect();
    for kind in ["insert", "update", "delete", "createIndexes"] {
        assert!(kinds.contains(kind), "no {kind} command among {kinds:?}");
    }
    assert!(
        writes.len() >= MIN_WRITES,
        "only {} write commands seen: {kinds:?}",
        writes.len()
    );
    writes
}

/// The mode of each read command's `$readPreference`, `None` when it has none (primary).
fn read_modes(seen: &Seen) -> Vec<(String, Option<String>)> {
    let reads: Vec<_> = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|(name, _)| READS.contains(&name.as_str()))
        .map(|(name, command)| {
            let mode = command
                .get_document("$readPreference")
                .ok()
                .and_then(|p| p.get_str("mode").ok())
                .map(str::to_string);
            (name.clone(), mode)
        })
        .collect();
    assert!(reads.len() >= 5, "only {} read commands seen", reads.len());
    reads
}

fn is_one(w: Option<&Bson>) -> bool {
    matches!(w, Some(Bson::Int32(1) | Bson::Int64(1)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_write_command_carries_majority_write_concern_with_journaling() {
    let (store, seen, _database) = monitored_store("").await;
    drive_every_write(&store).await;
    let writes = writes_of(&seen);
    for (name, command) in &writes {
        let concern = command.get_document("writeConcern").unwrap_or_else(|_| {
            panic!("{name} without a write concern: {command}");
        });
        assert_eq!(concern.get_str("w").ok(), Some("majority"), "{name}: {command}");
        assert_eq!(concern.get_bool("j").ok(), Some(true), "{name}: {command}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_read_command_goes_to_the_primary() {
    let (store, seen, _database) = monitored_store("").await;
    drive_every_write(&store).await;
    let page = PageRequest {
        limit: 10,
        after: None,
        order: SortOrder::Asc,
    };
    store.list_alarms(&AlarmFilter::default(), &page).await.unwrap();
    store.counts().await.unwrap();
    let reads = read_modes(&seen);
    for (name, mode) in reads {
        assert!(
            mode.is_none() || mode.as_deref() == Some("primary"),
            "{name} reads with {mode:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_url_with_its_own_write_concern_keeps_it() {
    let (store, seen, _database) = monitored_store("w=1").await;
    drive_every_write(&store).await;
    let writes = writes_of(&seen);
    for (name, command) in &writes {
        let concern = command
            .get_document("writeConcern")
            .unwrap_or_else(|_| panic!("{name} without a write concern: {command}"));
        assert!(is_one(concern.get("w")), "{name}: {command}");
        assert_eq!(concern.get("j"), None, "{name} adds journaling: {command}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_url_with_its_own_read_preference_keeps_it() {
    let (store, seen, _database) = monitored_store("readPreference=secondaryPreferred").await;
    drive_every_write(&store).await;
    let reads = read_modes(&seen);
    for (name, mode) in reads {
        assert_eq!(mode.as_deref(), Some("secondaryPreferred"), "{name}");
    }
}
