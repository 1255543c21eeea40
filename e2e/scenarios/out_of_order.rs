//! Scenario 2: randomised out-of-order and duplicated delivery (seeded, printed).

use super::{Stage, PATIENCE};
use crate::harness::{DigestLog, Model, Replica, StoreKind, Workload};

async fn shuffled_duplicated_events_yield_the_model_digest(kind: StoreKind) {
    let stage = Stage::new(kind).await;
    let _replica = Replica::start(&stage.env).await;
    let digests = DigestLog::from_stream(&stage.bus).await;
    let mut w = Workload::seeded("out_of_order");
    let mut events = w.events(5, 8, 400);
    let mut replayed = events.clone();
    w.shuffle(&mut replayed);
    events.extend(replayed.into_iter().take(100));
    w.shuffle(&mut events);
    let mut model = Model::default();
    model.record(&events);
    stage.bus.publish_events(&events).await;
    stage.bus.wait_drained(PATIENCE).await;
    for user in model.users() {
        stage.bus.request_digest(&user).await;
    }
    let users = model.users();
    let all = digests
        .wait_until(PATIENCE, "one digest per user", |d| d.len() >= users.len())
        .await;
    model.assert_first_digests(&all, w.seed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_order_and_duplicates_on_sqlite() {
    shuffled_duplicated_events_yield_the_model_digest(StoreKind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_order_and_duplicates_on_mongodb() {
    shuffled_duplicated_events_yield_the_model_digest(StoreKind::Mongo).await;
}
