//! Scenario 6: everything published while every replica is down is processed when one starts.

use super::{Stage, PATIENCE};
use crate::harness::{DigestLog, Model, Replica, StoreKind, Workload};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_published_while_all_replicas_are_down_are_processed_on_start() {
    let stage = Stage::new(StoreKind::Sqlite).await;
    let mut replica = Replica::start(&stage.env).await;
    let digests = DigestLog::from_stream(&stage.bus).await;
    let (status, _) = replica.terminate().await;
    assert!(status.success());

    let mut w = Workload::seeded("downtime");
    let events = w.events(20, 5, 2_000);
    let mut model = Model::default();
    model.record(&events);
    stage.bus.publish_events(&events).await;
    for user in model.users() {
        stage.bus.request_digest(&user).await;
    }

    let _replica = Replica::start(&stage.env).await;
    let users = model.users();
    let all = digests
        .wait_until(PATIENCE, "one digest per user", |d| d.len() >= users.len())
        .await;
    model.assert_first_digests(&all, w.seed);
}
