//! The NATS services API, asked by a client written apart from the service (nats-py, from
//! the test venv): both replicas answer `$SRV.PING`, `$SRV.INFO` and `$SRV.STATS` with the
//! types and fields ADR-32 names, each endpoint answers once through the queue group, the
//! digest sent on request reaches the digest stream, and a bad request carries the
//! service-error headers.

use super::{Stage, PATIENCE};
use crate::harness::{DigestLog, Replica, StoreKind, TestEvent};
use serde_json::Value;
use std::collections::BTreeSet;
use std::process::Command;

const CLIENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/e2e/clients/micro_client.py");

/// The venv's Python (where nats-py is), else whatever `python3` the PATH has.
fn python() -> String {
    std::env::var("SECANTUSD")
        .ok()
        .and_then(|s| std::path::Path::new(&s).parent().map(|bin| bin.join("python")))
        .filter(|p| p.exists())
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "python3".to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_answer_the_services_api_as_a_client_written_elsewhere_expects() {
    let stage = Stage::new(StoreKind::Sqlite).await;
    let env = stage.env.with("NATS_SERVICE_PREFIX", "digests.api");
    let a = Replica::start(&env).await;
    let b = Replica::start(&env).await;
    let digests = DigestLog::from_stream(&stage.bus).await;
    let event = TestEvent::new("u1", "disk", "CRITICAL", 1_700_000_000_000_000_000);
    stage.bus.publish_events(std::slice::from_ref(&event)).await;
    stage.bus.wait_drained(PATIENCE).await;

    let url = env.nats_url.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python())
            .args([CLIENT, &url, "alarm-digest", "digests.api", "u1", "disk"])
            .output()
            .expect("running the nats-py client")
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "the client failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answers: Value = serde_json::from_slice(&out.stdout).expect("the client prints JSON");

    let version = env!("CARGO_PKG_VERSION");
    for (verb, kind) in [
        ("ping", "io.nats.micro.v1.ping_response"),
        ("info", "io.nats.micro.v1.info_response"),
        ("stats", "io.nats.micro.v1.stats_response"),
    ] {
        let replies = answers[verb].as_array().unwrap();
        assert_eq!(replies.len(), 2, "both replicas answer {verb}: {replies:?}");
        let ids: BTreeSet<&str> = replies.iter().map(|r| r["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), 2, "each replica has its own id");
        for reply in replies {
            assert_eq!(reply["type"], kind, "{reply}");
            assert_eq!(reply["name"], "alarm-digest", "{reply}");
            assert_eq!(reply["version"], version, "{reply}");
        }
    }
    for info in answers["info"].as_array().unwrap() {
        let subjects: BTreeSet<&str> = info["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["subject"].as_str().unwrap())
            .collect();
        assert_eq!(
            subjects,
            ["digests.api.alarm", "digests.api.preview", "digests.api.send"].into()
        );
        assert!(info["metadata"]["replica"].is_string(), "{info}");
    }
    let requests = |endpoint: &str| -> u64 {
        answers["stats"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| s["endpoints"].as_array().unwrap())
            .filter(|e| e["subject"] == format!("digests.api.{endpoint}"))
            .map(|e| e["num_requests"].as_u64().unwrap())
            .sum()
    };
    assert_eq!(
        (requests("preview"), requests("alarm"), requests("send")),
        (2, 2, 2),
        "each request answered by one replica, the bad one counted too"
    );

    let preview = &answers["preview"];
    assert_eq!(preview["code"], Value::Null, "{preview}");
    assert_eq!(preview["data"]["Alarms"][0]["AlarmID"], "disk");
    assert_eq!(preview["data"]["Alarms"][0]["Reason"], "NeverDelivered");
    let alarm = &answers["alarm"]["data"];
    assert_eq!(
        (alarm["Status"].as_str(), alarm["Due"].as_bool()),
        (Some("CRITICAL"), Some(true))
    );
    assert_eq!(answers["missing"]["code"], "404", "{}", answers["missing"]);

    let sent = &answers["send"]["data"];
    assert_eq!(sent["ActiveAlarms"][0]["AlarmID"], "disk", "{sent}");
    let again = &answers["send_again"]["data"];
    assert_eq!(
        again["AlreadyAnswered"], true,
        "the same Nats-Msg-Id is answered once: {again}"
    );
    let published = digests.wait_for_user("u1", 1, PATIENCE).await;
    assert_eq!(published.len(), 1, "one digest published: {published:?}");
    assert_eq!(published[0].id.as_deref(), sent["DigestID"].as_str());

    let bad = &answers["bad"];
    assert_eq!(bad["code"], "400", "{bad}");
    assert!(bad["error"].as_str().is_some_and(|e| e.contains("UserID")), "{bad}");
    drop((a, b));
}
