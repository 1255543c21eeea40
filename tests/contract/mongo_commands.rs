//! How many commands the MongoDB store sends per operation, counted on the wire through
//! the driver's command monitoring: deterministic, and what predicts a real mongod's load.

use super::mongo_durability::{monitored_store, Seen};
use super::{ev, user};
use alarm_digest::domain::ports::{AlarmStore, PreparedDigest};
use alarm_digest::domain::{AlarmEvent, EventTime, Status};
use alarm_digest::store::mongo::MongoStore;
use std::time::Duration;

/// The most commands one `apply` of a full intake batch may take.
const APPLY_COMMANDS: usize = 4;
/// The most commands one digest (claim, due read, prepare, record, release) may take.
const DIGEST_COMMANDS: usize = 8;

/// The commands started while `work` ran, by name.
async fn commands_during<F: std::future::Future>(seen: &Seen, work: F) -> (Vec<String>, F::Output) {
    seen.lock().unwrap().clear();
    let out = work.await;
    let names = seen.lock().unwrap().iter().map(|(name, _)| name.clone()).collect();
    (names, out)
}

fn batch(alarms: usize, offset_ns: i64, status: Status) -> Vec<AlarmEvent> {
    (0..alarms)
        .map(|i| ev("u1", &format!("a{i:04}"), offset_ns, status))
        .collect()
}

/// One digest of `u1` as the use case makes it, through the store's ports.
async fn digest(store: &MongoStore) -> usize {
    let claim = store
        .claim_digest(
            &user("u1"),
            "replica-a",
            EventTime::from_nanos(1_000_000),
            Duration::from_secs(30),
        )
        .await
        .unwrap()
        .expect("a free claim");
    let due = store.due_alarms(&user("u1")).await.unwrap();
    let prepared = PreparedDigest {
        id: "d1".into(),
        alarms: due.clone(),
        request: Some("req-1".into()),
    };
    assert!(store.prepare_digest(&claim, &prepared).await.unwrap());
    assert!(store.record_delivery(&claim, &due, Some("req-1")).await.unwrap());
    assert!(store.release_digest(&claim).await.unwrap());
    due.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applying_512_new_alarms_takes_at_most_4_commands() {
    let (store, seen) = monitored_store("").await;
    let events = batch(512, 0, Status::Warning);
    let (commands, outcomes) = commands_during(&seen, store.apply(&events)).await;
    store.drop_database().await.unwrap();
    assert_eq!(outcomes.unwrap().len(), 512);
    eprintln!("apply 512 new: {} commands {commands:?}", commands.len());
    assert!(commands.len() <= APPLY_COMMANDS, "{commands:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applying_512_updates_takes_at_most_4_commands() {
    let (store, seen) = monitored_store("").await;
    store.apply(&batch(512, 0, Status::Warning)).await.unwrap();
    let events = batch(512, 10, Status::Critical);
    let (commands, outcomes) = commands_during(&seen, store.apply(&events)).await;
    let stored = store.due_alarms(&user("u1")).await.unwrap();
    store.drop_database().await.unwrap();
    assert!(outcomes
        .unwrap()
        .iter()
        .all(|o| *o == alarm_digest::domain::ApplyOutcome::Applied));
    assert!(stored.iter().all(|d| d.version.status == Status::Critical) && stored.len() == 512);
    eprintln!("apply 512 updates: {} commands {commands:?}", commands.len());
    assert!(commands.len() <= APPLY_COMMANDS, "{commands:?}");
}

async fn digest_of(due: usize) {
    let (store, seen) = monitored_store("").await;
    store.apply(&batch(due, 0, Status::Warning)).await.unwrap();
    // A first digest creates the claim document; the one counted finds it there.
    let first = digest(&store).await;
    store.apply(&batch(due, 10, Status::Critical)).await.unwrap();
    let (commands, sent) = commands_during(&seen, digest(&store)).await;
    let left = store.due_alarms(&user("u1")).await.unwrap();
    store.drop_database().await.unwrap();
    assert_eq!((first, sent, left.len()), (due, due, 0));
    eprintln!("digest of {due}: {} commands {commands:?}", commands.len());
    assert!(commands.len() <= DIGEST_COMMANDS, "{commands:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_of_10_due_alarms_takes_at_most_8_commands() {
    digest_of(10).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_of_1000_due_alarms_takes_at_most_8_commands() {
    digest_of(1000).await;
}
