//! When the invariant checker fails, the trail of the alarm at fault through every step,
//! so a failed run's log says which step lost it: its events as the input stream holds
//! them, what the service recorded of them, its delivery, and every digest that listed it,
//! each stream read by sequence rather than through a consumer.

use std::fmt::Write;
use std::time::Duration;
use testkit::bus::{digests_by_sequence, stored_range, stream_bounds, TestBus, INPUT_STREAM};
use testkit::model::{DigestMsg, Model, Violation};

/// Judges every digest the digest stream holds (read by sequence) against `model`, and
/// checks that a downstream reader (`seen`, through an ordered consumer) saw exactly those
/// digests. On a broken guarantee it panics with the trail of the alarm at fault, asked of
/// the replicas serving HTTP on `ports`. Returns the digests judged.
pub async fn judge(bus: &TestBus, ports: &[u16], model: &Model, seen: &[DigestMsg], seed: u64) -> Vec<DigestMsg> {
    let stored = digests_by_sequence(bus, PATIENCE).await;
    if let Err(violation) = model.check(&stored) {
        let trail = trail_of(bus, ports, &stored, &violation).await;
        panic!("seed {seed}: {violation}\n{trail}");
    }
    let places = |digests: &[DigestMsg]| -> Vec<(Option<String>, Vec<u64>)> {
        digests.iter().map(|d| (d.id.clone(), d.sequences.clone())).collect()
    };
    assert_eq!(
        places(seen),
        places(&stored),
        "seed {seed}: the downstream reader saw other digests than the stream holds"
    );
    stored
}

/// How long one stream or HTTP read may take before the trail gives up on it.
const PATIENCE: Duration = Duration::from_secs(30);

/// The trail of the alarm a violation names, as text; empty when it names none.
async fn trail_of(bus: &TestBus, ports: &[u16], digests: &[DigestMsg], violation: &Violation) -> String {
    let Some((user, alarm)) = &violation.alarm else {
        return String::new();
    };
    let mut out = format!("trail of {user}/{alarm}:\n");
    out += &input_events(bus, user, alarm).await;
    for port in ports {
        out += &service_view(*port, user, alarm).await;
    }
    out += &listed_in(digests, user, alarm);
    out
}

/// The alarm's events and its user's digest requests in the input stream, by sequence.
async fn input_events(bus: &TestBus, user: &str, alarm: &str) -> String {
    let (first, last) = stream_bounds(bus, INPUT_STREAM, PATIENCE).await;
    let mut out = format!("  input stream, sequences {first}..={last}, those of this alarm or its user's requests:\n");
    for m in stored_range(bus, INPUT_STREAM, first, last, PATIENCE).await {
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(&m.payload) else {
            continue;
        };
        if v["UserID"] != user {
            continue;
        }
        let id = m.headers.get("Nats-Msg-Id").map(|h| h.to_string()).unwrap_or_default();
        let stored_at = m.time;
        match m.subject.as_str() {
            "AlarmStatusChanged" if v["AlarmID"] == alarm => {
                let _ = writeln!(
                    out,
                    "    #{} stored {stored_at}: {} at {}",
                    m.sequence, v["Status"], v["ChangedAt"]
                );
            }
            "SendAlarmDigest" => {
                let _ = writeln!(out, "    #{} stored {stored_at}: SendAlarmDigest {id}", m.sequence);
            }
            _ => {}
        }
    }
    out
}

/// The alarm as one replica's API shows it (delivered version, due) and its history
/// (applied, stale or duplicate, with arrival times).
async fn service_view(port: u16, user: &str, alarm: &str) -> String {
    let client = reqwest::Client::builder().timeout(PATIENCE).build().unwrap();
    let mut out = format!("  the service (replica on port {port}):\n");
    for path in ["", "/events"] {
        let url = format!("http://127.0.0.1:{port}/v1/users/{user}/alarms/{alarm}{path}");
        let answer = match client.get(&url).send().await {
            Ok(r) => format!("{} {}", r.status().as_u16(), r.text().await.unwrap_or_default()),
            Err(e) => format!("no answer: {e}"),
        };
        let _ = writeln!(out, "    GET …/alarms/{alarm}{path}: {answer}");
    }
    out
}

/// Every digest of the user, by sequence, and what it listed of the alarm.
fn listed_in(digests: &[DigestMsg], user: &str, alarm: &str) -> String {
    let mut out = "  digest stream, this user's digests by sequence:\n".to_string();
    for d in digests.iter().filter(|d| d.user == user) {
        let entry = d.alarms.iter().find(|a| a.alarm == alarm);
        let listed = match entry {
            Some(a) => format!("lists it as {} at {}", a.status, a.changed_at),
            None => "does not list it".to_string(),
        };
        let _ = writeln!(
            out,
            "    {:?} id {}: {} alarms, {listed}",
            d.sequences,
            d.id.as_deref().unwrap_or("-"),
            d.alarms.len()
        );
    }
    out
}
