//! `GET /v1/users/{id}/digest/preview`: the next digest in order with each alarm's reason,
//! and a preview that changes nothing, so the digest sent afterwards holds the same alarms;
//! `GET /v1/users/{id}/digests`: the digests sent, newest first.

use crate::server::{event, Api};
use alarm_digest::domain::ports::AlarmStore;
use alarm_digest::domain::UserId;
use alarm_digest::http::auth::Tokens;
use serde_json::{json, Value};
use std::sync::Arc;

const T: &str = "2024-01-01T00:00:0";

fn at(second: u8) -> String {
    format!("{T}{second}Z")
}

/// (AlarmID, Status, LatestChangedAt) of every alarm of a preview, in order.
fn entries(preview: &Value) -> Vec<(String, String, String)> {
    preview["Alarms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["AlarmID"].as_str().unwrap().to_string(),
                a["Status"].as_str().unwrap().to_string(),
                a["LatestChangedAt"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

pub async fn the_preview_lists_due_alarms_in_digest_order_with_their_reasons_and_changes_nothing(
    store: Arc<dyn AlarmStore>,
) {
    let api = Api::start(store, Tokens::default()).await;
    let e = |alarm: &str, status: &str, second: u8| event("u1", alarm, status, &at(second), alarm, "svc", "Ann");
    let hostile = "<script>alert(1)</script>\"'";
    api.seed(&[e("a1", "WARNING", 1), e("a2", "CRITICAL", 2), e("a3", "WARNING", 3)])
        .await;
    let user = UserId::parse("u1").unwrap();
    let first = api.digests.send_digest(&user, None).await.unwrap().unwrap();
    assert_eq!(first.digest.alarms.len(), 3);

    // a1 rises, a2 clears and comes back, a3 stays as delivered, two are new.
    api.seed(&[
        e("a1", "CRITICAL", 4),
        e("a2", "CLEARED", 5),
        e("a2", "CRITICAL", 6),
        e("a3", "WARNING", 7),
        e(hostile, "WARNING", 8),
        e("a0", "WARNING", 8),
    ])
    .await;
    let (status, preview) = api.get("/v1/users/u1/digest/preview").await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["UserID"], "u1");
    let alarms = preview["Alarms"].as_array().unwrap();
    let reasons: Vec<(&str, &str, Value)> = alarms
        .iter()
        .map(|a| {
            (
                a["AlarmID"].as_str().unwrap(),
                a["Reason"].as_str().unwrap(),
                a["Delivered"].clone(),
            )
        })
        .collect();
    let delivered = |status: &str, second: u8| json!({"Status": status, "ChangedAt": at(second)});
    assert_eq!(
        reasons,
        [
            ("a1", "ChangedSinceDelivered", delivered("WARNING", 1)),
            ("a2", "ClearedAndCameBack", delivered("CRITICAL", 2)),
            // Equal times: by AlarmID, and '<' sorts before 'a'.
            (hostile, "NeverDelivered", Value::Null),
            ("a0", "NeverDelivered", Value::Null),
        ]
    );
    assert_eq!(alarms[0]["Status"], "CRITICAL");
    assert_eq!(alarms[0]["LatestChangedAt"], at(4));
    assert_eq!(alarms[0]["Name"], "a1");

    // Asking again sees the same: nothing was claimed or recorded.
    assert_eq!(api.get("/v1/users/u1/digest/preview").await.1, preview);
    let sent = api.digests.send_digest(&user, None).await.unwrap().unwrap();
    let digested: Vec<(String, String, String)> = sent
        .digest
        .alarms
        .iter()
        .map(|a| {
            (
                a.alarm_id.as_str().to_string(),
                a.status().as_str().to_string(),
                a.changed_at().to_rfc3339(),
            )
        })
        .collect();
    assert_eq!(digested, entries(&preview));
    let (status, after) = api.get("/v1/users/u1/digest/preview").await;
    assert_eq!((status, after["Alarms"].clone()), (200, json!([])));

    // Both digests are listed as sent, newest first, under the ids they were published with.
    let (status, digests) = api.get("/v1/users/u1/digests").await;
    assert_eq!(status, 200, "{digests}");
    let listed: Vec<(&str, u64)> = digests
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["DigestID"].as_str().unwrap(), d["Alarms"].as_u64().unwrap()))
        .collect();
    assert_eq!(listed, [(sent.id.as_str(), 4), (first.id.as_str(), 3)]);
    assert!(digests[0]["RecordedAt"].as_str().unwrap() >= digests[1]["RecordedAt"].as_str().unwrap());
}

pub async fn the_preview_of_an_unknown_user_is_empty_and_a_bad_user_id_is_a_400(store: Arc<dyn AlarmStore>) {
    let api = Api::start(store, Tokens::default()).await;
    let (status, preview) = api.get("/v1/users/nobody/digest/preview").await;
    assert_eq!((status, preview), (200, json!({"UserID": "nobody", "Alarms": []})));
    assert_eq!(api.get("/v1/users/nobody/digests").await, (200, json!([])));
    for path in ["/v1/users/%20/digest/preview", "/v1/users/%20/digests"] {
        let (status, problem) = api.get(path).await;
        assert_eq!(status, 400, "{problem}");
        assert!(problem["detail"].as_str().unwrap().starts_with("user_id"), "{problem}");
    }
}
