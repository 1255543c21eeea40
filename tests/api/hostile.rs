//! A corpus of hostile bodies on every write route: each gets a problem+json with a reason
//! and the right status, is counted, and the service keeps serving.

use super::server::{event, Api, BODY_LIMIT};
use alarm_digest::domain::ports::AlarmStore;
use alarm_digest::http::auth::Tokens;
use serde_json::Value;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const EVENTS: &str = "/v1/events";
const ACK: &str = "/v1/users/u1/alarms/a1/ack";
const ALLMA: &str = "/v1/intake/allma";
const ALERTMANAGER: &str = "/v1/intake/alertmanager?user=u1";
const GRAFANA: &str = "/v1/intake/grafana?user=u1";

/// One hostile request: route, body, content type, expected status.
struct Case {
    route: &'static str,
    body: Vec<u8>,
    media: &'static str,
    status: u16,
}

fn case(route: &'static str, body: impl Into<Vec<u8>>, status: u16) -> Case {
    Case {
        route,
        body: body.into(),
        media: "application/json",
        status,
    }
}

fn status_change(user: &str, status: &str, changed_at: &str) -> String {
    format!(r#"{{"UserID":"{user}","AlarmID":"a1","Status":"{status}","ChangedAt":"{changed_at}"}}"#)
}

fn alert(alert_id: &str, status: &str, triggered_on: &str) -> String {
    format!(
        r#"{{"type":"ALERT_CREATED","alert":{{"alertId":"{alert_id}","status":"{status}","triggeredOn":"{triggered_on}","responder":{{"userId":"u1"}}}}}}"#
    )
}

fn webhook_alert(version: &str, status: &str, starts_at: &str) -> String {
    format!(
        r#"{{"version":"{version}","alerts":[{{"status":"{status}","labels":{{"alertname":"a1"}},"startsAt":"{starts_at}"}}]}}"#
    )
}

fn corpus() -> Vec<Case> {
    let deep = format!(r#"{{"UserID":{}{}}}"#, "[".repeat(5_000), "]".repeat(5_000));
    let huge = vec![b' '; 10 * 1024 * 1024];
    let long_id = "x".repeat(10 * 1024);
    let t = "2026-01-01T00:00:00Z";
    let far = "9999-12-31T00:00:00Z";
    let mut cases = Vec::new();
    for route in [EVENTS, ACK, ALLMA, ALERTMANAGER, GRAFANA] {
        cases.push(case(route, &br#"{"UserID":"#[..], 400));
        cases.push(case(route, &b"\xff\xfe\xfd"[..], 400));
        cases.push(case(route, deep.clone(), 400));
        cases.push(case(route, huge.clone(), 413));
        cases.push(Case {
            media: "text/plain",
            ..case(route, &b"{}"[..], 415)
        });
    }
    cases.extend([
        case(EVENTS, r#"{"UserID":5,"AlarmID":"a1","Status":"WARNING","ChangedAt":"2026-01-01T00:00:00Z"}"#, 422),
        case(EVENTS, status_change("u1", "BROKEN", t), 422),
        case(EVENTS, status_change("", "WARNING", t), 422),
        case(EVENTS, status_change(&long_id, "WARNING", t), 422),
        case(EVENTS, status_change("u1", "WARNING", far), 422),
        case(EVENTS, status_change("u1", "WARNING", "yesterday"), 422),
        case(
            EVENTS,
            r#"{"UserID":"u1","UserID":"u2","AlarmID":"a1","Status":"WARNING","ChangedAt":"2026-01-01T00:00:00Z"}"#,
            422,
        ),
        case(EVENTS, "42", 422),
        case(ACK, r#"{"AckedAt":5}"#, 422),
        case(ACK, r#"{"AckedAt":"BROKEN"}"#, 422),
        case(ACK, format!(r#"{{"AckedAt":"{far}"}}"#), 422),
        case(ACK, format!(r#"{{"AckedAt":"{t}","AckedAt":"{t}"}}"#), 422),
        case(ACK, r#"{"AckedAt":"2026-01-01T00:00:00Z","Extra":1}"#, 422),
        case(ALLMA, r#"{"type":"ALERT_CREATED","alert":5}"#, 422),
        case(ALERTMANAGER, r#"{"version":"1","alerts":[]}"#, 422),
        case(ALERTMANAGER, r#"{"version":"4","alerts":[5]}"#, 422),
        case(ALERTMANAGER, webhook_alert("4", "firing", far), 422),
        case(ALERTMANAGER, webhook_alert("4", "firing", "yesterday"), 422),
        case(GRAFANA, r#"{"version":"4","alerts":[]}"#, 422),
        case(GRAFANA, webhook_alert("1", "exploded", t), 422),
        case(ALLMA, alert("al-1", "EXPLODED", t), 422),
        case(ALLMA, alert("", "TRIGGERED", t), 422),
        case(ALLMA, alert(&long_id, "TRIGGERED", t), 422),
        case(ALLMA, alert("al-1", "TRIGGERED", far), 422),
        case(ALLMA, alert("al-1", "RESOLVED", t), 422),
        case(
            ALLMA,
            r#"{"type":"ALERT_CREATED","type":"ALERT_CHANGED","alert":{"alertId":"al-1","status":"TRIGGERED","triggeredOn":"2026-01-01T00:00:00Z","responder":{"userId":"u1"}}}"#,
            422,
        ),
    ]);
    cases
}

/// Posts over a plain connection: the server may answer 413 and close before a 10 MB body is
/// fully sent, which an HTTP client reports as a broken pipe instead of the answer.
async fn post_raw(api: &Api, c: &Case) -> (u16, String, Value) {
    let address = api.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST {} HTTP/1.1\r\nhost: {address}\r\ncontent-type: {}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        c.route,
        c.media,
        c.body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // The server may stop reading once it has decided; what it answers is what counts.
    let _ = stream.write_all(&c.body).await;
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw).await;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("a response");
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let media = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type: ")
                .map(str::to_string)
        })
        .unwrap_or_default();
    (status, media, serde_json::from_str(body).unwrap_or(Value::Null))
}

pub async fn hostile_bodies_on_every_write_route_get_a_reasoned_problem_and_are_counted(store: Arc<dyn AlarmStore>) {
    const { assert!(BODY_LIMIT < 10 * 1024 * 1024) };
    let api = Api::start(store, Tokens::default()).await;
    api.seed(&[event(
        "u1",
        "a1",
        "WARNING",
        "2026-01-01T00:00:00Z",
        "disk",
        "db",
        "Ann",
    )])
    .await;
    let cases = corpus();
    for c in &cases {
        let (status, media, problem) = post_raw(&api, c).await;
        let shown = String::from_utf8_lossy(&c.body[..c.body.len().min(120)]).into_owned();
        assert_eq!(status, c.status, "POST {} {shown}: {problem}", c.route);
        assert_eq!(media, "application/problem+json", "POST {} {shown}", c.route);
        assert!(
            problem["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "POST {} {shown}: {problem}",
            c.route
        );
    }

    let (_, metrics) = api.get_text("/metrics").await;
    let rejected: f64 = metrics
        .lines()
        .filter(|l| l.starts_with("alarm_digest_http_request_seconds_count{method=\"POST\""))
        .filter(|l| l.contains("status=\"4"))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum();
    assert_eq!(rejected as usize, cases.len(), "each rejection is counted once");

    let (status, alarm) = api.get("/v1/users/u1/alarms/a1").await;
    assert_eq!(
        (status, &alarm["Status"]),
        (200, &Value::from("WARNING")),
        "state untouched"
    );
    assert_eq!(alarm["Acknowledgements"], serde_json::json!([]));
    api.seed(&[event(
        "u1",
        "a2",
        "CRITICAL",
        "2026-01-01T00:00:01Z",
        "cpu",
        "db",
        "Ann",
    )])
    .await;
}
