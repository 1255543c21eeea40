//! Faults: the broker restarts mid-stream; a replica is stopped (SIGTERM) under load.

use super::{digests_for_every_user, Stage, PATIENCE};
use crate::harness::{Model, Replica, StoreKind, Workload};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_server_restart_mid_stream_loses_nothing() {
    let mut stage = Stage::new(StoreKind::Sqlite).await;
    let replica = Replica::start(&stage.env).await;
    let mut w = Workload::seeded("nats_restart");
    let events = w.events(30, 5, 3_000);
    let mut model = Model::default();
    model.record(&events);
    let (before, after) = events.split_at(events.len() / 2);
    stage.bus.publish_events(before).await;
    stage.nats.restart();
    // The test's own client reconnects too; publish the rest as soon as the server is back.
    stage.bus.publish_events_through_outages(after, PATIENCE).await;
    let all = digests_for_every_user(&stage.bus, &model).await;
    model.assert_first_digests(&all, w.seed);
    assert!(
        replica.metric("alarm_digest_nats_reconnects_total").await >= 1.0,
        "the replica reconnected"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_exits_in_time_and_loses_nothing() {
    let stage = Stage::new(StoreKind::Sqlite).await;
    // One event per commit, so the replica is still busy when the signal comes.
    let env = stage
        .env
        .with("SHUTDOWN_TIMEOUT", "5s")
        .with("MAX_BATCH", "1")
        .with("INTAKE_LANES", "1");
    let mut replica = Replica::start(&env).await;
    let mut w = Workload::seeded("sigterm");
    let events = w.events(40, 5, 20_000);
    let mut model = Model::default();
    model.record(&events);
    stage.bus.publish_events(&events).await;
    let backlog = stage.bus.backlog().await;
    assert!(
        backlog > 0,
        "the replica must still have work when stopped, or this test proves nothing"
    );
    let (status, took) = replica.terminate().await;
    assert!(status.success(), "exit status {status}");
    assert!(took < Duration::from_secs(5) + Duration::from_secs(3), "took {took:?}");
    println!(
        "sigterm: {backlog} messages outstanding; exited {status} after {:.2}s",
        took.as_secs_f64()
    );

    // Whatever it acked was committed: a fresh replica finishes the rest and nothing is lost.
    let _successor = Replica::start(&env).await;
    let all = digests_for_every_user(&stage.bus, &model).await;
    model.assert_first_digests(&all, w.seed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_outage_holds_messages_and_loses_nothing() {
    let mut store = testkit::SecantusServer::start();
    let mut stage = Stage::new(StoreKind::Sqlite).await;
    stage.env.store_url = store.uri("e2e_outage");
    let env = stage.env.with("STORE_TIMEOUT", "3s");
    let replica = Replica::start(&env).await;
    let mut w = Workload::seeded("store_outage");
    let events = w.events(20, 5, 1_000);
    let mut model = Model::default();
    model.record(&events);
    let (before, during) = events.split_at(events.len() / 2);
    stage.bus.publish_events(before).await;
    stage.bus.wait_drained(PATIENCE).await;

    store.stop();
    replica.wait_readiness(false, PATIENCE).await;
    stage.bus.publish_events(during).await;
    let held = stage.bus.backlog().await;
    assert!(held > 0, "nothing can be acked while the store is down");
    assert_eq!(replica.get("/healthz").await.0, 200, "the process stays up");

    store.resume();
    replica.wait_readiness(true, PATIENCE).await;
    let all = digests_for_every_user(&stage.bus, &model).await;
    model.assert_first_digests(&all, w.seed);
    println!("store_outage: {held} messages held during the outage, all applied after it");
}
