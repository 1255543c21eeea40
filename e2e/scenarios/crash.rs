//! A replica dies between publishing a digest and recording its delivery: the next holder
//! finishes the same digest under the same id, so a JetStream consumer gets it once, and
//! the next digest neither repeats its versions nor loses anything.

use super::{Stage, PATIENCE};
use crate::harness::{DigestLog, Replica, StoreKind, TestEvent};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_publish_and_record_repeats_and_loses_nothing() {
    let stage = Stage::new(StoreKind::Sqlite).await;
    let env = stage
        .env
        .with("ACK_WAIT", "2s")
        .with("CLAIM_TTL", "2s")
        .with("CLAIM_WAIT", "10s");
    let mut doomed = Replica::start_with(&env, &[("FAULT_CRASH_AFTER_DIGESTS", "1")]).await;
    let digests = DigestLog::from_stream(&stage.bus).await;
    let events = [
        TestEvent::new("u", "a1", "WARNING", 1_000),
        TestEvent::new("u", "a2", "CRITICAL", 2_000),
    ];
    stage.bus.publish_events(&events).await;
    stage.bus.request_digest("u").await;
    let status = doomed.exited(PATIENCE).await;
    assert!(!status.success(), "the replica aborted after publishing: {status}");
    let first = digests.wait_for_user("u", 1, PATIENCE).await;

    let _survivor = Replica::start(&env).await;
    // The request was never acked: it is redelivered to the survivor, which finds the
    // prepared digest, publishes it again under its id (dropped as a duplicate) and records.
    stage.bus.wait_drained(PATIENCE).await;
    stage
        .bus
        .publish_events(&[TestEvent::new("u", "a3", "WARNING", 3_000)])
        .await;
    stage.bus.request_digest("u").await;
    let got = digests.wait_for_user("u", 2, PATIENCE).await;
    stage.bus.wait_drained(PATIENCE).await;
    let got_all = digests.wait_caught_up(&stage.bus, PATIENCE).await;

    let alarms = |i: usize| got[i].alarms.iter().map(|a| a.alarm.clone()).collect::<Vec<_>>();
    assert_eq!(alarms(0), ["a1", "a2"], "{:?}", first[0]);
    assert_eq!(alarms(1), ["a3"], "the recorded versions are not delivered again");
    assert_eq!(
        got_all.len(),
        2,
        "one copy of each digest reached the consumer: {got_all:?}"
    );
}
