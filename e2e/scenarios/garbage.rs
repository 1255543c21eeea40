//! Scenario 7: garbage on every subject; the service keeps running, valid messages around
//! the garbage are all processed, and every reject is a dead letter with its reason.

use super::{Stage, PATIENCE};
use crate::harness::{DigestLog, Replica, StoreKind, TestEvent};
use futures::StreamExt;

fn garbage() -> Vec<(&'static str, Vec<u8>)> {
    let long_id = "x".repeat(10_000);
    let deep = format!(r#"{{"UserID":{}{}}}"#, "[".repeat(1000), "]".repeat(1000));
    let mut huge =
        br#"{"UserID":"g","AlarmID":"a","Status":"WARNING","ChangedAt":"2021-06-07T20:40:15Z","Pad":""#.to_vec();
    huge.extend(std::iter::repeat_n(b'p', 70_000));
    huge.extend(b"\"}");
    let mut out = Vec::new();
    for subject in ["AlarmStatusChanged", "SendAlarmDigest", "AlarmAcknowledged"] {
        for body in [
            b"not json".to_vec(),
            b"\xff\xfe\xfd".to_vec(),
            b"[1,2,3]".to_vec(),
            b"".to_vec(),
            br#"{"UserID":5,"AlarmID":"a","Status":"WARNING","ChangedAt":"2021-06-07T20:40:15Z"}"#.to_vec(),
            br#"{"UserID":"","AlarmID":"a","Status":"WARNING","ChangedAt":"2021-06-07T20:40:15Z"}"#.to_vec(),
            format!(r#"{{"UserID":"{long_id}","AlarmID":"a","Status":"WARNING","ChangedAt":"2021-06-07T20:40:15Z"}}"#)
                .into_bytes(),
            br#"{"UserID":"g","UserID":"h","AlarmID":"a","Status":"WARNING","ChangedAt":"2021-06-07T20:40:15Z"}"#
                .to_vec(),
            deep.clone().into_bytes(),
            huge.clone(),
        ] {
            out.push((subject, body));
        }
    }
    for body in [
        br#"{"UserID":"g","AlarmID":"a","Status":"BROKEN","ChangedAt":"2021-06-07T20:40:15Z"}"#.to_vec(),
        br#"{"UserID":"g","AlarmID":"a","Status":"WARNING","ChangedAt":"9999-12-31T00:00:00Z"}"#.to_vec(),
        // Valid, but stamped by a producer whose clock is far ahead: refused, not applied.
        br#"{"UserID":"g","AlarmID":"a","Status":"CRITICAL","ChangedAt":"2099-06-07T20:40:15Z"}"#.to_vec(),
        br#"{"UserID":"g","AlarmID":"a","Status":"WARNING","ChangedAt":"yesterday"}"#.to_vec(),
        br#"{"UserID":"g","AlarmID":"a","Status":"WARNING"}"#.to_vec(),
    ] {
        out.push(("AlarmStatusChanged", body));
    }
    out.push((
        "AlarmAcknowledged",
        br#"{"UserID":"g","AlarmID":"a","AckedAt":"noon"}"#.to_vec(),
    ));
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_on_every_subject_is_dead_lettered_and_valid_messages_survive() {
    let stage = Stage::new(StoreKind::Sqlite).await;
    let replica = Replica::start(&stage.env).await;
    let digests = DigestLog::from_stream(&stage.bus).await;
    let bad = garbage();
    let mut valid = Vec::new();
    for (i, (subject, body)) in bad.iter().enumerate() {
        let before = TestEvent::new("v", &format!("before-{i:02}"), "WARNING", 1_000 + i as i64);
        stage
            .bus
            .publish_raw("AlarmStatusChanged", before.to_json().into_bytes())
            .await;
        stage.bus.publish_raw(subject, body.clone()).await;
        valid.push(before);
    }
    stage.bus.request_digest("v").await;
    let got = digests.wait_for_user("v", 1, PATIENCE).await;
    assert_eq!(
        got[0].alarms.len(),
        valid.len(),
        "every valid message around the garbage was applied"
    );

    let reasons = stage.bus.dead_letters(bad.len(), PATIENCE).await;
    assert!(reasons.iter().all(|(_, reason)| !reason.is_empty()));
    for needle in [
        "not valid JSON",
        "not a JSON object",
        "field UserID: must be a string",
        "field UserID: is empty",
        "characters long",
        "duplicate field",
        "limit is 65536",
        "unknown status",
        "outside the supported range",
        "field ChangedAt: is missing",
        "recursion limit",
        "field AckedAt: is not an RFC 3339",
        "years ahead of this service's clock",
    ] {
        assert!(
            reasons.iter().any(|(_, r)| r.contains(needle)),
            "no dead letter says {needle:?}: {reasons:#?}"
        );
    }
    let mut invalid = 0.0;
    for subject in ["AlarmStatusChanged", "SendAlarmDigest", "AlarmAcknowledged"] {
        let counter = format!(r#"alarm_digest_messages_total{{subject="{subject}",outcome="invalid"}}"#);
        invalid += replica.metric(&counter).await;
    }
    assert_eq!(invalid as usize, bad.len(), "each reject is counted once");
    let (status, body) = replica.get("/readyz").await;
    assert_eq!(status, 200, "the service keeps serving: {body}");
}

/// Valid ids a producer may send: any printable text, combining marks (U+0301), quotes,
/// backslashes and emoji included, drawn from the scenario's seed.
fn hostile_valid_id(w: &mut crate::harness::Workload) -> String {
    // The space may appear anywhere but first, so an id is never blank (blank ids are invalid).
    const PIECES: [&str; 10] = ["e\u{301}", "\"", "\\", "🚨", "<script>", "ß", "'", "日本", "a{b}", " "];
    let first = PIECES[w.below(PIECES.len() as u64 - 1) as usize];
    let rest = (0..w.below(6)).map(|_| PIECES[w.below(PIECES.len() as u64) as usize]);
    std::iter::once(first).chain(rest).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_rejected_after_parsing_is_dead_lettered_byte_for_byte_whatever_its_ids() {
    // Core mode dead-letters an acknowledgement of an alarm never seen at once (there is
    // no redelivery to wait for): a message rejected after it parsed.
    let stage = Stage::new(StoreKind::Sqlite).await;
    let env = stage.env.with("INTAKE", "core");
    let _replica = Replica::start(&env).await;
    let mut letters = stage.bus.client.subscribe("AlarmDigest.deadletter").await.unwrap();
    stage.bus.client.flush().await.unwrap();
    let mut w = crate::harness::Workload::seeded("dead letters byte for byte");
    for _ in 0..12 {
        let (user, alarm) = (hostile_valid_id(&mut w), hostile_valid_id(&mut w));
        // Spacing, field order and an unknown field of the producer's own: a dead letter
        // must be what was sent, not a re-encoding of what was understood.
        let payload = format!(
            "{{ \"AckedAt\" : \"2024-01-01T00:00:00Z\", \"AlarmID\":{}, \"Extra\":[1], \"UserID\":{} }}",
            serde_json::to_string(&alarm).unwrap(),
            serde_json::to_string(&user).unwrap()
        );
        stage
            .bus
            .publish_raw("AlarmAcknowledged", payload.clone().into_bytes())
            .await;
        let letter = tokio::time::timeout(PATIENCE, letters.next())
            .await
            .expect("a dead letter for an acknowledgement of an unknown alarm")
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&letter.payload),
            payload,
            "seed {}: the dead letter carries the original payload",
            w.seed
        );
        let reason = letter
            .headers
            .as_ref()
            .unwrap()
            .get("Alarm-Digest-Reason")
            .unwrap()
            .to_string();
        assert!(reason.contains("no alarm"), "{reason}");
    }
}
