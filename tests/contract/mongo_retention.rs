//! What only the MongoDB adapter's retention has to show: alarms cleared before documents
//! carried `resolved_ms` get it at connect, from their last update, once.

use super::{alarm, ev, user, LIMITS};
use alarm_digest::domain::ports::AlarmStore;
use alarm_digest::domain::retention::Sweep;
use alarm_digest::domain::Status;
use alarm_digest::store::mongo::MongoStore;
use mongodb::bson::{doc, Document};

fn cleared_before(cleared_before_ms: i64) -> Sweep {
    Sweep {
        cleared_before_ms,
        tombstones_before_ms: i64::MIN,
        notifications_before_ms: i64::MIN,
        batch: 1000,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cleared_alarm_stored_before_resolved_ms_existed_is_swept_from_its_last_update_after_a_reconnect() {
    let database = testkit::TestDatabase::new("backfill");
    let uri = database.uri();
    let store = MongoStore::connect(&uri, None, LIMITS).await.unwrap();
    store
        .apply(&[ev("u1", "a1", 0, Status::Cleared), ev("u1", "a2", 0, Status::Warning)])
        .await
        .unwrap();
    // As an earlier version wrote them: no resolved_ms, last updated at 1,000 ms.
    let client = mongodb::Client::with_uri_str(&uri).await.unwrap();
    let alarms = client.database(database.name()).collection::<Document>("alarms");
    alarms
        .update_many(
            doc! {},
            doc! { "$unset": { "resolved_ms": "" }, "$set": { "updated_ms": 1_000_i64 } },
        )
        .await
        .unwrap();
    assert_eq!(store.sweep(&cleared_before(i64::MAX)).await.unwrap().alarms, 0);

    let reconnected = MongoStore::connect(&uri, None, LIMITS).await.unwrap();
    // A second backfill finds nothing to do and changes nothing.
    let again = MongoStore::connect(&uri, None, LIMITS).await.unwrap();
    let resolved: Vec<Option<i64>> = {
        use futures::TryStreamExt;
        let docs: Vec<Document> = alarms
            .find(doc! {})
            .sort(doc! { "alarm_id": 1 })
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        docs.iter().map(|d| d.get_i64("resolved_ms").ok()).collect()
    };
    assert_eq!(resolved, [Some(1_000), None], "a1 from its last update, a2 active");
    assert_eq!(reconnected.sweep(&cleared_before(1_000)).await.unwrap().alarms, 0);
    assert_eq!(again.sweep(&cleared_before(1_001)).await.unwrap().alarms, 1);
    assert_eq!(again.alarm(&user("u1"), &alarm("a1")).await.unwrap(), None);
    assert!(again.alarm(&user("u1"), &alarm("a2")).await.unwrap().is_some());
}
