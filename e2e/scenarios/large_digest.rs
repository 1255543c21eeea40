//! A user with 10,000 due alarms: the digest passes the broker's max payload, goes out in
//! parts, and a downstream consumer reassembles exactly the digest the model predicts.

use super::{Stage, PATIENCE};
use crate::harness::{DigestLog, Model, Replica, ServiceEnv, StoreKind, TestBus, TestEvent};
use testkit::NatsServer;

const ALARMS: usize = 10_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_over_the_max_payload_arrives_in_parts_that_reassemble_to_all_alarms() {
    // A smaller max payload than the default 1 MiB, so the split is exercised several times.
    let conf = tempfile::tempdir().unwrap();
    let conf_file = conf.path().join("nats.conf");
    std::fs::write(&conf_file, "max_payload: 131072\n").unwrap();
    let nats = NatsServer::start_with(&["-c", conf_file.to_str().unwrap()]);
    let env = ServiceEnv::new(nats.url(), StoreKind::Sqlite);
    let bus = TestBus::connect(&nats.url()).await;
    let stage = Stage { nats, env, bus };
    let _replica = Replica::start(&stage.env).await;
    let digests = DigestLog::from_stream(&stage.bus).await;

    let base = 1_623_098_415_000_000_000i64;
    let statuses = ["WARNING", "CRITICAL"];
    let mut events: Vec<TestEvent> = (0..ALARMS)
        .map(|i| {
            let alarm = format!("alarm-with-a-long-descriptive-name-{i:05}");
            TestEvent::new("big", &alarm, statuses[i % 2], base + (i as i64 % 977) * 1_000_000)
        })
        .collect();
    events.push(TestEvent::new("small", "disk", "CRITICAL", base));
    let mut model = Model::default();
    model.record(&events);
    stage.bus.publish_events(&events).await;
    stage.bus.request_digest("big").await;
    stage.bus.request_digest("small").await;

    let big = digests.wait_for_user("big", 1, PATIENCE).await;
    let small = digests.wait_for_user("small", 1, PATIENCE).await;
    assert!(big[0].parts > 1, "10,000 alarms fit no 128 KiB message");
    assert_eq!(big[0].alarms.len(), ALARMS);
    assert_eq!(big[0].entries(), model.first_digest("big"));
    assert_eq!(small[0].parts, 1, "a digest that fits stays one message");
    let all = digests.wait_caught_up(&stage.bus, PATIENCE).await;
    model.assert_first_digests(&all, 0);
    // Every one of the 10,000 deliveries was recorded: nothing is due any more.
    stage.bus.request_digest("big").await;
    let again = digests.wait_for_user("big", 2, PATIENCE).await;
    assert_eq!((again[1].alarms.len(), again[1].parts), (0, 1));
    println!("large digest: {} alarms in {} parts", big[0].alarms.len(), big[0].parts);
}
