//! NATS with a password and TLS: the server refuses a client without credentials, the
//! service connects with its own and works; API tokens are enforced; and no secret shows
//! up in anything the service prints or serves.

use super::PATIENCE;
use crate::harness::{DigestLog, Replica, ServiceEnv, StoreKind, TestBus, TestEvent};
use std::path::Path;
use std::process::Command;
use testkit::NatsServer;

const NATS_PASSWORD: &str = "nats-pass-5d1e0c7a";
const API_TOKEN: &str = "write-token-9b2f44e1";
const API_READ_TOKEN: &str = "read-token-61c0aa3d";

/// A CA and a certificate for 127.0.0.1 signed by it, made with the openssl CLI.
fn certificates(dir: &Path) {
    std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n").unwrap();
    for command in [
        "req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=test-ca -keyout ca.key -out ca.pem",
        "req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout server.key -out server.csr",
        "x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out server.pem",
    ] {
        let out = Command::new("openssl")
            .args(command.split(' '))
            .current_dir(dir)
            .output()
            .expect("openssl");
        assert!(
            out.status.success(),
            "openssl {command}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_nats_auth_and_tls_the_service_connects_strangers_do_not_and_no_secret_is_printed() {
    let dir = tempfile::tempdir().unwrap();
    certificates(dir.path());
    let file = |name: &str| dir.path().join(name).display().to_string();
    let nats = NatsServer::start_with(&[
        "--user",
        "digest",
        "--pass",
        NATS_PASSWORD,
        "--tls",
        "--tlscert",
        &file("server.pem"),
        "--tlskey",
        &file("server.key"),
    ]);
    let url = nats.url();
    let tls = || {
        async_nats::ConnectOptions::new()
            .add_root_certificates(dir.path().join("ca.pem"))
            .require_tls(true)
    };

    let stranger = tls().connect(&url).await;
    assert!(stranger.is_err(), "a client without credentials is refused");
    let wrong = tls()
        .user_and_password("digest".into(), "guess".into())
        .connect(&url)
        .await;
    assert!(wrong.is_err(), "a wrong password is refused");

    let env = ServiceEnv::new(url.clone(), StoreKind::Sqlite)
        .with("NATS_USER", "digest")
        .with("NATS_PASSWORD", NATS_PASSWORD)
        .with("NATS_TLS_CA", &file("ca.pem"))
        .with("API_TOKEN", API_TOKEN)
        .with("API_READ_TOKEN", API_READ_TOKEN)
        .with("RUST_LOG", "debug");
    let replica = Replica::start_logged(&env).await;

    let bus = TestBus::connect_with(&url, tls().user_and_password("digest".into(), NATS_PASSWORD.into())).await;
    let digests = DigestLog::from_stream(&bus).await;
    bus.publish_events(&[TestEvent::new("u", "a", "CRITICAL", 1_000)]).await;
    bus.request_digest("u").await;
    let got = digests.wait_for_user("u", 1, PATIENCE).await;
    assert_eq!(
        got[0].alarms.len(),
        1,
        "the service works over TLS with its credentials"
    );

    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{}", replica.http_port);
    let get = |token: Option<&'static str>| {
        let mut request = http.get(format!("{base}/v1/users/u/alarms"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(get(None).await, 401);
    assert_eq!(get(Some("guess")).await, 401);
    assert_eq!(get(Some(API_TOKEN)).await, 401, "the write token is not a read token");
    assert_eq!(get(Some(API_READ_TOKEN)).await, 200);
    let post = |token: &'static str| {
        let request = http
            .post(format!("{base}/v1/users/u/alarms/a/ack"))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(r#"{"AckedAt":"2026-01-01T00:00:00Z"}"#);
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(post(API_READ_TOKEN).await, 401, "the read token is not a write token");
    assert_eq!(post(API_TOKEN).await, 201);

    let (_, metrics) = replica.get("/metrics").await;
    let (_, ready) = replica.get("/readyz").await;
    let printed = replica.output.lock().unwrap().join("\n");
    assert!(printed.lines().count() > 10, "debug logs were captured:\n{printed}");
    for secret in [NATS_PASSWORD, API_TOKEN, API_READ_TOKEN] {
        for (what, text) in [("logs", &printed), ("metrics", &metrics), ("readiness", &ready)] {
            assert!(!text.contains(secret), "{what} show a secret:\n{text}");
        }
    }
}
