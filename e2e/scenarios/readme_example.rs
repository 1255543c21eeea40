//! Scenario 1: the README's example, two users, several alarms.

use super::{Stage, PATIENCE};
use crate::harness::{DigestLog, Replica, StoreKind, TestEvent};

async fn readme_example_produces_the_documented_digests(kind: StoreKind) {
    let stage = Stage::new(kind).await;
    let _replica = Replica::start(&stage.env).await;
    let digests = DigestLog::from_stream(&stage.bus).await;
    let t = |s: &str| alarm_digest::domain::EventTime::parse_rfc3339(s).unwrap().as_nanos();
    stage
        .bus
        .publish_events(&[
            TestEvent::new("1", "disk-full", "CRITICAL", t("2021-06-07T20:40:15.598765212Z")),
            TestEvent::new("1", "cpu-high", "WARNING", t("2021-06-07T20:40:14Z")),
            TestEvent::new("1", "mem-low", "WARNING", t("2021-06-07T20:39:00Z")),
            TestEvent::new("1", "mem-low", "CLEARED", t("2021-06-07T20:41:00Z")),
            TestEvent::new("2", "disk-full", "WARNING", t("2021-06-07T20:40:15.598765213Z")),
        ])
        .await;
    stage.bus.request_digest("1").await;
    stage.bus.request_digest("2").await;
    let first = digests.wait_for_user("1", 1, PATIENCE).await;
    assert_eq!(
        first[0].entries(),
        [
            ("cpu-high".into(), "WARNING".into(), "2021-06-07T20:40:14Z".into()),
            (
                "disk-full".into(),
                "CRITICAL".into(),
                "2021-06-07T20:40:15.598765212Z".into()
            ),
        ]
    );
    let second = digests.wait_for_user("2", 1, PATIENCE).await;
    assert_eq!(
        second[0].entries(),
        [(
            "disk-full".into(),
            "WARNING".into(),
            "2021-06-07T20:40:15.598765213Z".into()
        )]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_example_on_sqlite() {
    readme_example_produces_the_documented_digests(StoreKind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_example_on_mongodb() {
    readme_example_produces_the_documented_digests(StoreKind::Mongo).await;
}
