//! API test bodies for the stats and the external alert intake; each runs once per store.

use crate::server::{event, keys, Api};
use alarm_digest::domain::ports::AlarmStore;
use alarm_digest::http::auth::Tokens;
use serde_json::{json, Value};
use std::sync::Arc;

/// `2024-01-01T00:00:00Z` plus `seconds`.
fn at(seconds: u32) -> String {
    format!(
        "2024-01-01T{:02}:{:02}:{:02}Z",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// Asserts a stats summary equals (count, min, mean, max, p50, p95).
fn assert_summary(actual: &Value, expected: (u64, f64, f64, f64, f64, f64), what: &str) {
    let (count, min, mean, max, p50, p95) = expected;
    assert_eq!(actual["count"], count, "{what}: {actual}");
    for (field, want) in [("min", min), ("mean", mean), ("max", max), ("p50", p50), ("p95", p95)] {
        let got = actual[field].as_f64().unwrap();
        assert!((got - want).abs() < 1e-9, "{what}.{field}: {got} != {want}");
    }
}

pub async fn stats_match_figures_worked_out_by_hand(store: Arc<dyn AlarmStore>) {
    let api = Api::start(store, Tokens::default()).await;
    let e = |user: &str, alarm: &str, status: &str, second: u32, service: &str| {
        event(user, alarm, status, &at(second), "n", service, "p")
    };
    // Episodes (start, acknowledged, resolved), in seconds:
    // u1/a1 storage (0, 30, 60); u1/a2 compute (10, 20, open); u1/a4 storage (100, 160, 400);
    // u2/a3 storage (200, none, 290).
    api.seed(&[
        e("u1", "a1", "WARNING", 0, "storage"),
        e("u1", "a1", "CLEARED", 60, "storage"),
        e("u1", "a2", "CRITICAL", 10, "compute"),
        e("u1", "a4", "WARNING", 100, "storage"),
        e("u1", "a4", "CLEARED", 400, "storage"),
        e("u2", "a3", "WARNING", 200, "storage"),
        e("u2", "a3", "CLEARED", 290, "storage"),
    ])
    .await;
    for (alarm, second) in [("a1", 30), ("a2", 20), ("a4", 160)] {
        let (status, _) = api
            .post(
                &format!("/v1/users/u1/alarms/{alarm}/ack"),
                &json!({"AckedAt": at(second)}),
            )
            .await;
        assert_eq!(status, 201);
    }
    let (status, all) = api.get("/v1/stats").await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(all["alarms"], json!({"CLEARED": 3, "WARNING": 0, "CRITICAL": 1}));
    assert_eq!(all["episodes"], 4);
    assert_summary(
        &all["time_to_acknowledge"],
        (3, 10.0, 100.0 / 3.0, 60.0, 30.0, 60.0),
        "all ack",
    );
    assert_summary(
        &all["time_to_resolve"],
        (3, 60.0, 150.0, 300.0, 90.0, 300.0),
        "all resolve",
    );

    // p90, nearest rank, of three durations is the largest; the buckets count every one.
    assert_eq!(all["time_to_acknowledge"]["p90"], 60.0);
    assert_eq!(all["time_to_resolve"]["p90"], 300.0);
    let counts = |buckets: &Value| -> Vec<u64> {
        buckets
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["count"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(
        counts(&all["time_to_acknowledge_buckets"]),
        [2, 1, 0, 0, 0, 0, 0],
        "{all}"
    );
    assert_eq!(counts(&all["time_to_resolve_buckets"]), [0, 2, 1, 0, 0, 0, 0], "{all}");
    assert_eq!(
        all["time_to_resolve_buckets"][1],
        json!({"from_seconds": 60, "to_seconds": 300, "label": "1m–5m", "count": 2})
    );
    assert_eq!(all["time_to_resolve_buckets"][6]["to_seconds"], Value::Null);
    assert_eq!(
        all["opened_per_hour"],
        json!([{"hour": "2024-01-01T00:00:00Z", "count": 4}]),
        "every episode started in the first hour"
    );

    let (_, u1) = api.get("/v1/stats?user_id=u1").await;
    assert_eq!(u1["alarms"], json!({"CLEARED": 2, "WARNING": 0, "CRITICAL": 1}));
    assert_summary(
        &u1["time_to_resolve"],
        (2, 60.0, 180.0, 300.0, 60.0, 300.0),
        "u1 resolve",
    );

    let since = at(50).replace(':', "%3A");
    let (_, storage) = api.get(&format!("/v1/stats?service=storage&since={since}")).await;
    assert_eq!(storage["alarms"], json!({"CLEARED": 3, "WARNING": 0, "CRITICAL": 0}));
    assert_eq!(storage["episodes"], 2);
    assert_summary(
        &storage["time_to_acknowledge"],
        (1, 60.0, 60.0, 60.0, 60.0, 60.0),
        "storage ack",
    );
    assert_summary(
        &storage["time_to_resolve"],
        (2, 90.0, 195.0, 300.0, 90.0, 300.0),
        "storage resolve",
    );

    // The window narrows the counts alike: alarms whose latest change falls in it. Of u1's
    // alarms since 50 s, a2 (CRITICAL since 10 s, acknowledged) is out.
    let (_, u1_since) = api.get(&format!("/v1/stats?user_id=u1&since={since}")).await;
    assert_eq!(u1_since["alarms"], json!({"CLEARED": 2, "WARNING": 0, "CRITICAL": 0}));
    assert_eq!(
        u1_since["lifecycle"],
        json!({"triggered": 0, "acknowledged": 0, "resolved": 2})
    );
    assert_eq!(u1_since["episodes"], 1);

    // `until` is exclusive: the episode starting at 10 s is outside [.., 10 s).
    let (_, early) = api.get(&format!("/v1/stats?until={}", at(10))).await;
    assert_eq!(early["episodes"], 1);
    assert_eq!(
        early["alarms"],
        json!({"CLEARED": 0, "WARNING": 0, "CRITICAL": 0}),
        "no alarm's latest change is before 10 s"
    );
    assert_summary(
        &early["time_to_acknowledge"],
        (1, 30.0, 30.0, 30.0, 30.0, 30.0),
        "early ack",
    );

    let (_, none) = api.get(&format!("/v1/stats?since={}", at(1000))).await;
    assert_eq!(none["episodes"], 0);
    assert_eq!(counts(&none["time_to_acknowledge_buckets"]), [0; 7]);
    assert_eq!(none["opened_per_hour"], json!([]));
    let (_, two_hours) = api.get(&format!("/v1/stats?since={}&until={}", at(0), at(7200))).await;
    assert_eq!(
        two_hours["opened_per_hour"],
        json!([{"hour": "2024-01-01T00:00:00Z", "count": 4}, {"hour": "2024-01-01T01:00:00Z", "count": 0}])
    );
    assert_eq!(
        (&none["time_to_acknowledge"], &none["time_to_resolve"]),
        (&Value::Null, &Value::Null)
    );
    assert_eq!(api.get("/v1/stats?since=later").await.0, 400);

    // By lifecycle: u1/a2 is active and acknowledged; a new alarm nobody acknowledged yet.
    assert_eq!(
        all["lifecycle"],
        json!({"triggered": 0, "acknowledged": 1, "resolved": 3})
    );
    api.seed(&[e("u3", "a5", "WARNING", 500, "storage")]).await;
    let (_, all) = api.get("/v1/stats").await;
    assert_eq!(
        all["lifecycle"],
        json!({"triggered": 1, "acknowledged": 1, "resolved": 3})
    );
    let (_, storage) = api.get("/v1/stats?service=storage").await;
    assert_eq!(
        storage["lifecycle"],
        json!({"triggered": 1, "acknowledged": 0, "resolved": 3})
    );
}

pub async fn allma_alerts_become_status_changes_and_acknowledgements(store: Arc<dyn AlarmStore>) {
    let api = Api::start(store, Tokens::default()).await;
    let alert = |status: &str, extra: Value| {
        let mut a = json!({
            "alertId": "al-1", "name": "Disk full", "status": status, "triggeredOn": at(10),
            "responder": {"userId": "u1", "name": "Ann"}, "service": {"name": "storage"},
        });
        a.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        json!({"type": "ALERT_CHANGED", "alert": a})
    };
    // A change for an alert never seen is inserted, not refused.
    let changed = alert("TRIGGERED", json!({}));
    let (status, body) = api.post("/v1/intake/allma", &changed).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["Outcomes"], json!(["applied"]));
    let (_, alarm) = api.get("/v1/users/u1/alarms/al-1").await;
    assert_eq!(
        (
            &alarm["Status"],
            &alarm["ChangedAt"],
            &alarm["Name"],
            &alarm["Service"],
            &alarm["UserName"]
        ),
        (
            &json!("WARNING"),
            &json!(at(10)),
            &json!("Disk full"),
            &json!("storage"),
            &json!("Ann")
        )
    );

    let acked = alert("ACKNOWLEDGED", json!({"acknowledgedOn": at(40)}));
    let (status, body) = api.post("/v1/intake/allma", &acked).await;
    assert_eq!(
        (status, &body["Outcomes"], &body["Acknowledged"]),
        (202, &json!(["duplicate"]), &json!(true))
    );

    let resolved = alert("RESOLVED", json!({"acknowledgedOn": at(40), "resolvedOn": at(70)}));
    let (status, body) = api.post("/v1/intake/allma", &resolved).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["Outcomes"], json!(["duplicate", "applied"]));
    let (_, alarm) = api.get("/v1/users/u1/alarms/al-1").await;
    assert_eq!((&alarm["Status"], &alarm["Active"]), (&json!("CLEARED"), &json!(false)));
    assert_eq!(alarm["Acknowledgements"], json!([at(40)]));

    for invalid in [
        json!({"type": "ALERT_CREATED", "alert": {"alertId": "al-2", "status": "TRIGGERED", "triggeredOn": at(1)}}),
        alert("TRIGGERED", json!({}))["alert"].clone(),
        alert("EXPLODED", json!({})),
        alert("RESOLVED", json!({})),
        alert("TRIGGERED", json!({"triggeredOn": "noon"})),
    ] {
        let (status, problem) = api.post("/v1/intake/allma", &invalid).await;
        assert_eq!(status, 422, "{invalid}: {problem}");
    }
}

pub async fn allma_services_that_share_a_name_stay_apart_by_their_ids(store: Arc<dyn AlarmStore>) {
    let api = Api::start(store, Tokens::default()).await;
    let alerts = [
        ("al-1", json!({"serviceId": "s-1", "name": "storage"})),
        ("al-2", json!({"serviceId": "s-2", "name": "storage"})),
        ("al-3", json!({"serviceId": "s-2", "name": "storage"})),
        ("al-4", json!({"name": "storage"})),
        ("al-5", json!({"serviceId": "", "name": "storage"})),
    ];
    for (alert_id, service) in alerts {
        let event = json!({"type": "ALERT_CREATED", "alert": {
            "alertId": alert_id, "name": "Disk full", "status": "TRIGGERED", "triggeredOn": at(10),
            "responder": {"userId": "u1", "name": "Ann"}, "service": service,
        }});
        let (status, body) = api.post("/v1/intake/allma", &event).await;
        assert_eq!(status, 202, "{alert_id}: {body}");
    }
    let (_, alarm) = api.get("/v1/users/u1/alarms/al-1").await;
    assert_eq!(
        alarm["Service"], "s-1",
        "the service id is the alarm's Service: {alarm}"
    );
    let (_, listed) = api.get("/v1/alarms").await;
    let services: Vec<&Value> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["Service"])
        .collect();
    assert_eq!(services, ["s-1", "s-2", "s-2", "storage", "storage"]);
    for (service, expected) in [
        ("s-1", &["u1/al-1"][..]),
        ("s-2", &["u1/al-2", "u1/al-3"]),
        ("storage", &["u1/al-1", "u1/al-2", "u1/al-3", "u1/al-4", "u1/al-5"]),
    ] {
        let (status, body) = api.get(&format!("/v1/alarms?service={service}")).await;
        assert_eq!(
            (status, keys(&body)),
            (200, expected.iter().map(|k| k.to_string()).collect()),
            "service={service}"
        );
    }
    let (_, stats) = api.get("/v1/stats?service=s-2").await;
    assert_eq!(stats["alarms"], json!({"CLEARED": 0, "WARNING": 2, "CRITICAL": 0}));
}

pub async fn an_allma_alert_with_a_service_id_is_found_by_its_service_name_and_keeps_both(store: Arc<dyn AlarmStore>) {
    let api = Api::start(store, Tokens::default()).await;
    let event = json!({"type": "ALERT_CREATED", "alert": {
        "alertId": "al-9", "name": "Invoices late", "status": "TRIGGERED", "triggeredOn": at(10),
        "responder": {"userId": "u1", "name": "Ann"}, "service": {"serviceId": "svc-42", "name": "billing"},
    }});
    let (status, body) = api.post("/v1/intake/allma", &event).await;
    assert_eq!(status, 202, "{body}");
    let (_, alarm) = api.get("/v1/users/u1/alarms/al-9").await;
    assert_eq!(
        (&alarm["Service"], &alarm["ServiceName"]),
        (&json!("svc-42"), &json!("billing")),
        "{alarm}"
    );
    for service in ["billing", "svc-42"] {
        let (status, body) = api.get(&format!("/v1/alarms?service={service}")).await;
        assert_eq!(
            (status, keys(&body)),
            (200, vec!["u1/al-9".to_string()]),
            "service={service}"
        );
    }
    let (_, stats) = api.get("/v1/stats?service=billing").await;
    assert_eq!(stats["alarms"], json!({"CLEARED": 0, "WARNING": 1, "CRITICAL": 0}));
}
