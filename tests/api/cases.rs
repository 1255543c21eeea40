//! The API test bodies; each runs once per store adapter.

use crate::server::{answer, event, keys, Api, BODY_LIMIT};
use alarm_digest::domain::ports::AlarmStore;
use alarm_digest::http::auth::Tokens;
use serde_json::{json, Value};
use std::sync::Arc;

const T: &str = "2024-01-01T00:00:0";

/// Five alarms of two users with distinct times, names, services and statuses.
async fn seeded(store: Arc<dyn AlarmStore>) -> Api {
    let api = Api::start(store, Tokens::default()).await;
    api.seed(&[
        event("u1", "a1", "WARNING", &format!("{T}1Z"), "Disk full", "storage", "Ann"),
        event("u1", "a2", "CRITICAL", &format!("{T}2Z"), "CPU hot", "compute", "Ann"),
        event("u1", "a3", "CLEARED", &format!("{T}3Z"), "Disk slow", "storage", "Ann"),
        event("u2", "a1", "WARNING", &format!("{T}4Z"), "Net down", "network", "Bob"),
        event("u2", "a4", "CLEARED", &format!("{T}5Z"), "CPU cold", "compute", "Bob"),
    ])
    .await;
    api
}

pub async fn every_listing_filter_selects_exactly_the_matching_alarms(store: Arc<dyn AlarmStore>) {
    let api = seeded(store).await;
    let ack = json!({"AckedAt": format!("{T}9Z")});
    assert_eq!(api.post("/v1/users/u1/alarms/a2/ack", &ack).await.0, 201);
    assert_eq!(api.post("/v1/users/u2/alarms/a4/ack", &ack).await.0, 201);
    let cases: &[(&str, &[&str])] = &[
        ("", &["u1/a1", "u1/a2", "u1/a3", "u2/a1", "u2/a4"]),
        ("user_id=u1", &["u1/a1", "u1/a2", "u1/a3"]),
        ("status=WARNING&status=CRITICAL", &["u1/a1", "u1/a2", "u2/a1"]),
        ("status=CLEARED", &["u1/a3", "u2/a4"]),
        ("active=true", &["u1/a1", "u1/a2", "u2/a1"]),
        ("active=false", &["u1/a3", "u2/a4"]),
        ("name=CPU%20hot", &["u1/a2"]),
        ("service=storage", &["u1/a1", "u1/a3"]),
        ("user_name=Bob", &["u2/a1", "u2/a4"]),
        ("q=cpu", &["u1/a2", "u2/a4"]),
        ("changed_after=2024-01-01T00:00:02Z", &["u1/a3", "u2/a1", "u2/a4"]),
        ("changed_before=2024-01-01T00:00:02Z", &["u1/a1"]),
        ("order=desc&service=compute", &["u2/a4", "u1/a2"]),
        ("user_id=u1&active=true&q=disk", &["u1/a1"]),
        ("lifecycle=triggered", &["u1/a1", "u2/a1"]),
        ("lifecycle=acknowledged", &["u1/a2"]),
        ("lifecycle=resolved", &["u1/a3", "u2/a4"]),
        (
            "lifecycle=triggered&lifecycle=acknowledged",
            &["u1/a1", "u1/a2", "u2/a1"],
        ),
        ("lifecycle=acknowledged&status=WARNING", &[]),
        (
            "order=desc&lifecycle=resolved&lifecycle=triggered",
            &["u2/a4", "u2/a1", "u1/a3", "u1/a1"],
        ),
    ];
    for (query, expected) in cases {
        let (status, body) = api.get(&format!("/v1/alarms?{query}")).await;
        assert_eq!(status, 200, "{query}: {body}");
        assert_eq!(keys(&body), *expected, "{query}");
        assert_eq!(body["next_cursor"], Value::Null, "{query}");
    }
    let (status, body) = api.get("/v1/users/u2/alarms?active=true").await;
    assert_eq!((status, keys(&body)), (200, vec!["u2/a1".to_string()]));
    let (status, body) = api.get("/v1/users/u1/alarms?lifecycle=acknowledged").await;
    assert_eq!((status, keys(&body)), (200, vec!["u1/a2".to_string()]));
    let lifecycles: Vec<(String, Value)> = api.get("/v1/alarms").await.1["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                format!("{}/{}", a["UserID"].as_str().unwrap(), a["AlarmID"].as_str().unwrap()),
                a["Lifecycle"].clone(),
            )
        })
        .collect();
    let shown = |key: &str, lifecycle: &str| (key.to_string(), json!(lifecycle));
    assert_eq!(
        lifecycles,
        [
            shown("u1/a1", "triggered"),
            shown("u1/a2", "acknowledged"),
            shown("u1/a3", "resolved"),
            shown("u2/a1", "triggered"),
            shown("u2/a4", "resolved"),
        ],
        "every alarm shows its lifecycle"
    );
}

pub async fn pages_walk_to_the_end_without_gaps_or_duplicates_in_both_orders(store: Arc<dyn AlarmStore>) {
    let api = Api::start(store, Tokens::default()).await;
    // 23 alarms over 5 instants, so pages end inside runs of equal ChangedAt.
    let events: Vec<Value> = (0..23)
        .map(|i| {
            let at = format!("{T}{}Z", i % 5);
            event(
                &format!("u{}", i % 3),
                &format!("a{i:02}"),
                "WARNING",
                &at,
                "n",
                "s",
                "p",
            )
        })
        .collect();
    api.seed(&events).await;
    let (_, everything) = api.get("/v1/alarms?limit=1000").await;
    let all = keys(&everything);
    assert_eq!(all.len(), 23);
    for order in ["asc", "desc"] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/v1/alarms?limit=4&order={order}");
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let (status, page) = api.get(&path).await;
            assert_eq!(status, 200, "{page}");
            assert!(page["items"].as_array().unwrap().len() <= 4);
            seen.extend(keys(&page));
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => break,
            }
            assert!(seen.len() <= 23, "pages never end");
        }
        let mut expected = all.clone();
        if order == "desc" {
            expected.reverse();
        }
        assert_eq!(seen, expected, "{order}");
    }
}

pub async fn one_alarm_shows_its_state_and_unknown_alarms_are_404(store: Arc<dyn AlarmStore>) {
    let api = seeded(store).await;
    let (status, alarm) = api.get("/v1/users/u1/alarms/a2").await;
    assert_eq!(status, 200, "{alarm}");
    assert_eq!(
        alarm,
        json!({
            "UserID": "u1", "AlarmID": "a2", "Status": "CRITICAL", "ChangedAt": "2024-01-01T00:00:02Z",
            "Active": true, "Due": true, "Lifecycle": "triggered", "Name": "CPU hot", "Service": "compute", "UserName": "Ann",
            "Summary": null, "LastDelivered": null, "Acknowledgements": [],
        })
    );
    for path in [
        "/v1/users/u1/alarms/zz",
        "/v1/users/u9/alarms/a1",
        "/v1/users/u1/alarms/zz/events",
    ] {
        let (status, body) = api.get(path).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(body["status"], 404);
    }
}

pub async fn history_keeps_the_newest_events_in_changed_at_order_with_ignored_ones_flagged(store: Arc<dyn AlarmStore>) {
    let api = Api::start(store, Tokens::default()).await;
    let e = |status: &str, second: u32| event("u1", "a1", status, &format!("{T}{second}Z"), "n", "s", "p");
    // The history keeps 3 events per alarm: the two oldest of five (by arrival and by
    // ChangedAt alike) are dropped.
    api.seed(&[
        e("WARNING", 1),
        e("WARNING", 2),
        e("CRITICAL", 6),
        e("CRITICAL", 6),
        e("CLEARED", 4),
    ])
    .await;
    let (status, history) = api.get("/v1/users/u1/alarms/a1/events").await;
    assert_eq!(status, 200, "{history}");
    let rows: Vec<(String, String, bool, String)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            assert!(h["ReceivedAt"].as_str().is_some_and(|r| r.ends_with('Z')), "{h}");
            (
                h["Status"].as_str().unwrap().to_string(),
                h["ChangedAt"].as_str().unwrap().to_string(),
                h["Ignored"].as_bool().unwrap(),
                h["Outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let row = |s: &str, at: u32, ignored: bool, o: &str| (s.to_string(), format!("{T}{at}Z"), ignored, o.to_string());
    assert_eq!(
        rows,
        vec![
            row("CLEARED", 4, true, "stale"),
            row("CRITICAL", 6, false, "applied"),
            row("CRITICAL", 6, true, "duplicate"),
        ]
    );
}

pub async fn counts_report_active_alarms_alarms_and_events_received(store: Arc<dyn AlarmStore>) {
    let api = seeded(store).await;
    api.seed(&[event(
        "u1",
        "a1",
        "WARNING",
        &format!("{T}1Z"),
        "Disk full",
        "storage",
        "Ann",
    )])
    .await;
    let (status, counts) = api.get("/v1/counts").await;
    assert_eq!(status, 200);
    assert_eq!(
        counts,
        json!({"ActiveAlarms": 3, "Alarms": 5, "EventsReceived": 6, "Tombstones": 0, "RemovedAlarms": 0})
    );
}

pub async fn a_batch_applies_valid_items_and_reports_each_rejected_one(store: Arc<dyn AlarmStore>) {
    let api = Api::start(store, Tokens::default()).await;
    let ok = event("u1", "a1", "WARNING", &format!("{T}5Z"), "n", "s", "p");
    let older = event("u1", "a1", "CLEARED", &format!("{T}1Z"), "n", "s", "p");
    let batch =
        json!([ok, {"UserID": "u1", "AlarmID": "a2", "Status": "PURPLE", "ChangedAt": format!("{T}1Z")}, ok, older, 7]);
    let (status, body) = api.post("/v1/events", &batch).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(
        (&body["applied"], &body["stale"], &body["duplicate"], &body["rejected"]),
        (&json!(1), &json!(1), &json!(1), &json!(2))
    );
    let outcomes: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["applied", "rejected", "duplicate", "stale", "rejected"]);
    assert!(
        body["items"][1]["reason"].as_str().unwrap().contains("Status"),
        "{body}"
    );
    let (_, alarm) = api.get("/v1/users/u1/alarms/a1").await;
    assert_eq!(alarm["Status"], "WARNING");
    assert_eq!(api.get("/v1/users/u1/alarms/a2").await.0, 404);
}

pub async fn a_single_invalid_event_is_a_422_problem(store: Arc<dyn AlarmStore>) {
    let api = Api::start(store, Tokens::default()).await;
    for invalid in [
        json!({"UserID": "u1", "AlarmID": "a1", "Status": "WARNING"}),
        json!({"UserID": "u1", "AlarmID": "a1", "Status": "WARNING", "ChangedAt": "yesterday"}),
        json!("just a string"),
    ] {
        let response = api
            .client
            .post(format!("{}/v1/events", api.base))
            .json(&invalid)
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["content-type"], "application/problem+json");
        let (status, problem) = answer(response).await;
        assert_eq!(status, 422, "{invalid}: {problem}");
        assert_eq!(problem["status"], 422);
        assert_eq!(problem["title"], "Unprocessable Entity");
        assert!(!problem["detail"].as_str().unwrap().is_empty());
    }
    assert_eq!(api.get("/v1/counts").await.1["EventsReceived"], 0);
}

pub async fn acknowledging_is_201_then_200_and_404_for_an_unknown_alarm(store: Arc<dyn AlarmStore>) {
    let api = seeded(store).await;
    let body = json!({"AckedAt": "2024-01-01T00:01:00Z"});
    let (first, ack) = api.post("/v1/users/u1/alarms/a1/ack", &body).await;
    assert_eq!(first, 201, "{ack}");
    assert_eq!(ack["AckedAt"], "2024-01-01T00:01:00Z");
    assert_eq!(api.post("/v1/users/u1/alarms/a1/ack", &body).await.0, 200);
    let (_, alarm) = api.get("/v1/users/u1/alarms/a1").await;
    assert_eq!(alarm["Acknowledgements"], json!(["2024-01-01T00:01:00Z"]));
    // Without a body the acknowledgement time is now.
    let bare = api
        .client
        .post(format!("{}/v1/users/u1/alarms/a2/ack", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), 201);
    assert_eq!(api.post("/v1/users/u1/alarms/nope/ack", &body).await.0, 404);
    let (status, _) = api
        .post("/v1/users/u1/alarms/a1/ack", &json!({"AckedAt": "soon"}))
        .await;
    assert_eq!(status, 422);
}

pub async fn malformed_requests_get_problem_json_with_the_right_status(store: Arc<dyn AlarmStore>) {
    let api = seeded(store).await;
    for (path, expected) in [
        ("/v1/alarms?limit=0", 400),
        ("/v1/alarms?limit=1001", 400),
        ("/v1/alarms?cursor=not-a-cursor", 400),
        ("/v1/alarms?changed_after=monday", 400),
        ("/v1/alarms?status=PURPLE", 400),
        ("/v1/alarms?active=maybe", 400),
        ("/v1/alarms?lifecycle=open", 400),
        ("/v1/users/u1/alarms?lifecycle=TRIGGERED", 400),
        ("/v1/nowhere", 404),
    ] {
        let response = api.client.get(format!("{}{path}", api.base)).send().await.unwrap();
        assert_eq!(response.headers()["content-type"], "application/problem+json", "{path}");
        let (status, problem) = answer(response).await;
        assert_eq!(
            (status, problem["status"].as_u64()),
            (expected, Some(expected as u64)),
            "{path}"
        );
    }
    let url = format!("{}/v1/events", api.base);
    let wrong_method = api.client.delete(&url).send().await.unwrap();
    assert_eq!(wrong_method.status(), 405);
    assert_eq!(wrong_method.headers()["allow"], "POST");
    assert_eq!(wrong_method.headers()["content-type"], "application/problem+json");
    let send = |body: Vec<u8>, content_type: &'static str| {
        api.client
            .post(&url)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let too_large = format!("[{}]", vec!["1"; BODY_LIMIT].join(","));
    for (body, content_type, expected) in [
        (b"{\"UserID\": ".to_vec(), "application/json", 400),
        (b"{}".to_vec(), "text/plain", 415),
        (too_large.into_bytes(), "application/json", 413),
    ] {
        let response = send(body, content_type).await.unwrap();
        assert_eq!(response.headers()["content-type"], "application/problem+json");
        assert_eq!(answer(response).await.0, expected, "{content_type}");
    }
}

pub async fn tokens_guard_reads_and_writes_but_never_health(store: Arc<dyn AlarmStore>) {
    let tokens = Tokens {
        write: Some("w-token".into()),
        read: Some("r-token".into()),
    };
    let api = Api::start(store, tokens).await;
    let get = |path: &str, token: Option<&str>| {
        let mut request = api.client.get(format!("{}{path}", api.base));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        request.send()
    };
    assert_eq!(get("/healthz", None).await.unwrap().status(), 200);
    assert_eq!(get("/metrics", None).await.unwrap().status(), 200);
    for token in [None, Some("wrong"), Some("w-token")] {
        let response = get("/v1/alarms", token).await.unwrap();
        assert_eq!(response.status(), 401, "{token:?}");
        assert_eq!(response.headers()["content-type"], "application/problem+json");
    }
    assert_eq!(get("/v1/counts", Some("r-token")).await.unwrap().status(), 200);
    assert_eq!(get("/v1/dead-letters", None).await.unwrap().status(), 401);
    assert_eq!(get("/v1/dead-letters", Some("r-token")).await.unwrap().status(), 200);
    let post = |token: &str| {
        api.client
            .post(format!("{}/v1/events", api.base))
            .bearer_auth(token)
            .json(&event("u1", "a1", "WARNING", &format!("{T}1Z"), "n", "s", "p"))
            .send()
    };
    assert_eq!(post("r-token").await.unwrap().status(), 401);
    assert_eq!(post("w-token").await.unwrap().status(), 202);
}
