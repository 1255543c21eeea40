//! `GET /v1/dead-letters` on the real binary and nats-server: input the intake refuses is
//! listed with its reason, newest first, a page at a time, past letters deleted from the
//! stream.

use async_nats::jetstream::{self, consumer::pull};
use futures::StreamExt;
use serde_json::Value;
use std::time::Duration;
use testkit::NatsServer;
use testkit::{Replica, ServiceEnv, StoreKind};

const PATIENCE: Duration = Duration::from_secs(30);

/// The refused payloads, each with what its reason must say.
const REFUSED: [(&str, &str); 3] = [
    ("{not json", "not valid JSON"),
    (
        r#"{"AlarmID":"a","UserID":"u","Status":"BROKEN","ChangedAt":"2021-06-07T20:40:15Z"}"#,
        "unknown status",
    ),
    ("[1,2]", "not a JSON object"),
];

async fn get(replica: &Replica, path: &str) -> (u16, Value) {
    let (status, body) = replica.get(path).await;
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

fn sequences(page: &Value) -> Vec<u64> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["sequence"].as_u64().unwrap())
        .collect()
}

pub async fn refused_input_is_listed_newest_first_with_its_reason_and_pages_back() {
    let server = tokio::task::spawn_blocking(NatsServer::start).await.unwrap();
    let env = ServiceEnv::new(server.url(), StoreKind::Sqlite);
    let replica = Replica::start(&env).await;
    let nats = async_nats::connect(server.url()).await.unwrap();
    let js = jetstream::new(nats);
    // A consumer of the dead-letter stream delivers a letter only once it is stored, so
    // once it has delivered them all the API can read them all.
    let stream = js.get_stream("ALARM_DIGEST_DEADLETTERS").await.unwrap();
    let consumer = stream.create_consumer(pull::Config::default()).await.unwrap();
    let mut stored = consumer.messages().await.unwrap();
    for (payload, _) in REFUSED {
        js.publish("AlarmStatusChanged", payload.into())
            .await
            .unwrap()
            .await
            .unwrap();
    }
    for _ in REFUSED {
        tokio::time::timeout(PATIENCE, stored.next())
            .await
            .expect("a dead letter")
            .unwrap()
            .unwrap();
    }

    let (status, all) = get(&replica, "/v1/dead-letters").await;
    assert_eq!(status, 200, "{all}");
    let items = all["items"].as_array().unwrap();
    assert_eq!(items.len(), REFUSED.len(), "{all}");
    let newest_first = sequences(&all);
    assert!(newest_first.windows(2).all(|w| w[0] > w[1]), "{newest_first:?}");
    assert_eq!(all["older"], Value::Null);
    for (payload, why) in REFUSED {
        let item = items
            .iter()
            .find(|i| i["payload"] == payload)
            .unwrap_or_else(|| panic!("{payload} not listed: {all}"));
        let reason = item["reason"].as_str().unwrap();
        assert!(reason.contains(why), "{payload}: {reason}");
        assert_eq!(item["subject"], "AlarmStatusChanged");
        assert_eq!(item["payload_bytes"], payload.len());
        assert_eq!(item["payload_hex"], Value::Null);
    }

    // Two per page: the older page holds the rest, and ends the walk.
    let (_, first) = get(&replica, "/v1/dead-letters?limit=2").await;
    assert_eq!(sequences(&first), newest_first[..2]);
    let older = first["older"].as_u64().expect("an older page");
    let (_, second) = get(&replica, &format!("/v1/dead-letters?limit=2&before={older}")).await;
    assert_eq!(sequences(&second), newest_first[2..]);
    assert_eq!(second["older"], Value::Null);

    // A letter deleted from the stream is skipped, and the pages walk past its gap.
    assert!(stream.delete_message(newest_first[1]).await.unwrap());
    let (_, gapped) = get(&replica, "/v1/dead-letters").await;
    assert_eq!(sequences(&gapped), [newest_first[0], newest_first[2]]);
    let (_, first) = get(&replica, "/v1/dead-letters?limit=1").await;
    assert_eq!(sequences(&first), [newest_first[0]]);
    let older = first["older"].as_u64().expect("an older page");
    let (_, second) = get(&replica, &format!("/v1/dead-letters?limit=1&before={older}")).await;
    assert_eq!(sequences(&second), [newest_first[2]]);
    assert_eq!(second["older"], Value::Null);

    for bad in ["limit=0", "limit=201", "before=0", "before=x", "after=1"] {
        assert_eq!(get(&replica, &format!("/v1/dead-letters?{bad}")).await.0, 400, "{bad}");
    }
}
