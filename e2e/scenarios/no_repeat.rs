//! Scenario 3: nothing is sent twice unless it changed; clear-and-return is sent again.

use super::{Stage, PATIENCE};
use crate::harness::{DigestLog, Replica, StoreKind, TestEvent};

async fn digests_repeat_only_what_changed(kind: StoreKind) {
    let stage = Stage::new(kind).await;
    let _replica = Replica::start(&stage.env).await;
    let digests = DigestLog::from_stream(&stage.bus).await;
    let bus = &stage.bus;
    let mut n = 0;
    let mut next_digest = || {
        n += 1;
        n
    };
    let ids = |d: &crate::harness::model::DigestMsg| {
        d.alarms
            .iter()
            .map(|a| (a.alarm.clone(), a.status.clone()))
            .collect::<Vec<_>>()
    };
    let pair = |a: &str, s: &str| (a.to_string(), s.to_string());

    bus.publish_events(&[
        TestEvent::new("u", "a", "WARNING", 1_000),
        TestEvent::new("u", "b", "CRITICAL", 2_000),
    ])
    .await;
    bus.request_digest("u").await;
    let d = digests.wait_for_user("u", next_digest(), PATIENCE).await;
    assert_eq!(ids(d.last().unwrap()), [pair("a", "WARNING"), pair("b", "CRITICAL")]);

    bus.request_digest("u").await;
    let d = digests.wait_for_user("u", next_digest(), PATIENCE).await;
    assert!(
        d.last().unwrap().alarms.is_empty(),
        "a second digest without changes is empty"
    );

    bus.publish_events(&[TestEvent::new("u", "b", "WARNING", 3_000)]).await;
    bus.request_digest("u").await;
    let d = digests.wait_for_user("u", next_digest(), PATIENCE).await;
    assert_eq!(
        ids(d.last().unwrap()),
        [pair("b", "WARNING")],
        "a status change is sent again"
    );

    bus.publish_events(&[
        TestEvent::new("u", "a", "CLEARED", 4_000),
        TestEvent::new("u", "a", "WARNING", 5_000),
    ])
    .await;
    bus.request_digest("u").await;
    let d = digests.wait_for_user("u", next_digest(), PATIENCE).await;
    assert_eq!(
        ids(d.last().unwrap()),
        [pair("a", "WARNING")],
        "clear-and-return is sent again"
    );

    bus.publish_events(&[TestEvent::new("u", "a", "WARNING", 6_000)]).await;
    bus.request_digest("u").await;
    let d = digests.wait_for_user("u", next_digest(), PATIENCE).await;
    assert!(
        d.last().unwrap().alarms.is_empty(),
        "a newer event with the same status is not a change"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_repeat_on_sqlite() {
    digests_repeat_only_what_changed(StoreKind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_repeat_on_mongodb() {
    digests_repeat_only_what_changed(StoreKind::Mongo).await;
}
