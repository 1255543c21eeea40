//! The pager's HTTP routes: escalation policies, a service's health and incident, and the
//! console's acknowledge and healthy actions.

use super::server::Api;
use alarm_digest::domain::pager::decide::Alert;
use alarm_digest::domain::ports::SystemClock;
use alarm_digest::domain::{EventTime, ServiceId};
use alarm_digest::http::auth::Tokens;
use alarm_digest::pager::{PagerService, PagerSettings};
use alarm_digest::store::Stores;
use serde_json::{json, Value};
use std::sync::Arc;

const POLICY: &str = "/v1/services/payments/escalation-policy";

fn two_levels() -> Value {
    json!({"levels": [
        {"targets": [{"type": "email", "address": "a@example.com"}, {"type": "sms", "phone": "+33600000000"}]},
        {"targets": [{"type": "email", "address": "b@example.com"}]}
    ]})
}

async fn put(api: &Api, path: &str, body: &Value) -> (u16, Value) {
    let response = api
        .client
        .put(format!("{}{path}", api.base))
        .json(body)
        .send()
        .await
        .unwrap();
    super::server::answer(response).await
}

async fn delete(api: &Api, path: &str) -> u16 {
    let response = api.client.delete(format!("{}{path}", api.base)).send().await.unwrap();
    response.status().as_u16()
}

pub async fn escalation_policies_are_created_replaced_read_and_deleted(stores: Stores) {
    let api = Api::start_with_stores(stores, Tokens::default()).await;
    assert_eq!(api.get(POLICY).await.0, 404);
    let (status, created) = put(&api, POLICY, &two_levels()).await;
    assert_eq!(status, 201, "{created}");
    let mut expected = two_levels();
    expected["last_level_timeout"] = json!("stop");
    assert_eq!(created, expected);
    let repeat = json!({"levels": [{"targets": [{"type": "sms", "phone": "+15550000000"}], "timeout_seconds": 90}], "last_level_timeout": "repeat"});
    assert_eq!(put(&api, POLICY, &repeat).await, (200, repeat.clone()));
    assert_eq!(api.get(POLICY).await, (200, repeat));
    assert_eq!(delete(&api, POLICY).await, 204);
    assert_eq!(delete(&api, POLICY).await, 404);
    assert_eq!(api.get(POLICY).await.0, 404);
}

pub async fn invalid_escalation_policies_are_422_problems_naming_the_fault(stores: Stores) {
    let api = Api::start_with_stores(stores, Tokens::default()).await;
    let cases = [
        (json!({"levels": []}), "levels"),
        (json!({"levels": [{"targets": []}]}), "level 1"),
        (
            json!({"levels": [{"targets": [{"type": "email", "address": "nobody"}]}]}),
            "nobody",
        ),
        (
            json!({"levels": [{"targets": [{"type": "sms", "phone": "0600000000"}]}]}),
            "0600000000",
        ),
        (
            json!({"levels": [{"targets": [{"type": "email", "address": "a@example.com"}]}, {"targets": [{"type": "email", "address": "b@example.com"}, {"type": "sms", "phone": "+12"}]}]}),
            "level 2, target 2",
        ),
        (
            json!({"levels": [{"targets": [{"type": "email", "address": "a@example.com"}], "timeout_seconds": 0}]}),
            "timeout",
        ),
        (
            json!({"levels": [{"targets": [{"type": "pigeon", "address": "x"}]}]}),
            "pigeon",
        ),
        (
            json!({"levels": [{"targets": [{"type": "email", "address": "a@example.com"}, {"type": "email", "address": "a@example.com"}]}]}),
            "twice",
        ),
        (
            json!({"levels": [{"targets": [{"type": "email", "address": "a@example.com", "phone": "+33600000000"}]}]}),
            "phone",
        ),
        (
            json!({"levels": [[[{"type": "email", "address": "a@example.com"}]]]}),
            "levels/0",
        ),
        (
            json!({"levels": [{"targets": [["email", "a@example.com"]]}]}),
            "targets/0",
        ),
        (
            json!([[{"targets": [{"type": "email", "address": "a@example.com"}]}]]),
            "body",
        ),
    ];
    for (body, named) in cases {
        let (status, problem) = put(&api, POLICY, &body).await;
        assert_eq!(status, 422, "{body} -> {problem}");
        assert!(
            problem["detail"].as_str().unwrap().contains(named),
            "{body} -> {problem}"
        );
    }
    assert_eq!(api.get(POLICY).await.0, 404, "nothing was stored");
}

pub async fn a_service_shows_its_incident_until_the_console_acknowledges_and_heals_it(stores: Stores) {
    let api = Api::start_with_stores(stores.clone(), Tokens::default()).await;
    assert_eq!(api.get("/v1/services/payments").await.0, 404);
    assert_eq!(put(&api, POLICY, &two_levels()).await.0, 201);
    let (status, fresh) = api.get("/v1/services/payments").await;
    assert_eq!(
        (status, &fresh["Healthy"], &fresh["Incident"]),
        (200, &json!(true), &Value::Null)
    );

    let pager = PagerService::new(
        stores.policies,
        stores.pager,
        Arc::new(super::server::RecordedNotifications::default()),
        Arc::new(SystemClock),
        PagerSettings::default(),
    );
    let alert = Alert {
        service_id: ServiceId::parse("payments").unwrap(),
        message: "checkout is failing".into(),
        raised_at: EventTime::parse_rfc3339("2024-01-01T00:00:00Z").unwrap(),
    };
    pager.alert(&alert).await.unwrap();
    let (_, open) = api.get("/v1/services/payments").await;
    assert_eq!(open["Healthy"], json!(false));
    assert_eq!(open["Incident"]["Level"], json!(1));
    assert_eq!(open["Incident"]["Message"], json!("checkout is failing"));
    assert_eq!(open["Incident"]["RaisedAt"], json!("2024-01-01T00:00:00Z"));
    assert!(open["Incident"]["TimeoutAt"].is_string(), "{open}");

    let ack = "/v1/services/payments/acknowledge";
    let (status, acked) = api.post(ack, &json!({"AcknowledgedBy": "ann"})).await;
    assert_eq!(status, 200, "{acked}");
    assert_eq!(acked["Outcome"], json!("acknowledged"));
    assert_eq!(acked["Incident"]["AcknowledgedBy"], json!("ann"));
    assert_eq!(acked["Incident"]["TimeoutAt"], Value::Null);
    assert_eq!(
        api.post(ack, &json!({})).await.1["Outcome"],
        json!("already_acknowledged")
    );

    let (status, healed) = api.post("/v1/services/payments/healthy", &Value::Null).await;
    assert_eq!(
        (status, &healed["Outcome"], &healed["Healthy"]),
        (200, &json!("recovered"), &json!(true))
    );
    assert_eq!(api.post(ack, &Value::Null).await.1["Outcome"], json!("no_incident"));
}

pub async fn pager_writes_need_the_write_token_and_reads_the_read_token(stores: Stores) {
    let tokens = Tokens {
        write: Some("w".into()),
        read: Some("r".into()),
    };
    let api = Api::start_with_stores(stores, tokens).await;
    let url = |path: &str| format!("{}{path}", api.base);
    let status = |r: reqwest::Response| r.status().as_u16();
    let put = api.client.put(url(POLICY)).json(&two_levels());
    assert_eq!(status(put.try_clone().unwrap().send().await.unwrap()), 401);
    assert_eq!(
        status(put.bearer_auth("r").send().await.unwrap()),
        401,
        "a read token cannot write"
    );
    let put = api.client.put(url(POLICY)).bearer_auth("w").json(&two_levels());
    assert_eq!(status(put.send().await.unwrap()), 201);
    for action in ["acknowledge", "healthy"] {
        let post = api.client.post(url(&format!("/v1/services/payments/{action}")));
        assert_eq!(status(post.send().await.unwrap()), 401, "{action}");
    }
    assert_eq!(status(api.client.delete(url(POLICY)).send().await.unwrap()), 401);
    for read in [POLICY, "/v1/services/payments"] {
        assert_eq!(status(api.client.get(url(read)).send().await.unwrap()), 401, "{read}");
        let with_token = api.client.get(url(read)).bearer_auth("r").send().await.unwrap();
        assert_eq!(status(with_token), 200, "{read}");
    }
}

pub async fn http_intake_pages_a_service_whose_alarm_turns_critical_like_nats_intake(stores: Stores) {
    // Before the use case owned the rule, only NATS intake paged: this saw no notification.
    let (api, notifications) = super::server::Api::start_wired(stores, Tokens::default(), true).await;
    assert_eq!(put(&api, POLICY, &two_levels()).await.0, 201);
    let critical = super::server::event(
        "u1",
        "checkout",
        "CRITICAL",
        "2024-01-01T00:00:00Z",
        "Checkout",
        "payments",
        "Ann",
    );
    api.seed(&[critical]).await;
    let sent = notifications.0.lock().unwrap().clone();
    let level_one: Vec<_> = sent.iter().filter(|n| n.level == 1).collect();
    assert_eq!(level_one.len(), 2, "both targets of level 1 are paged: {sent:?}");
    let (_, service) = api.get("/v1/services/payments").await;
    assert_eq!(service["Healthy"], false, "{service}");
    assert!(
        service["Incident"]["Message"]
            .as_str()
            .unwrap()
            .contains("Checkout is CRITICAL"),
        "{service}"
    );
}

pub async fn services_are_listed_a_page_at_a_time_by_id_as_the_service_route_shows_them(stores: Stores) {
    let api = Api::start_with_stores(stores.clone(), Tokens::default()).await;
    let pager = PagerService::new(
        stores.policies,
        stores.pager,
        Arc::new(super::server::RecordedNotifications::default()),
        Arc::new(SystemClock),
        PagerSettings::default(),
    );
    for id in ["web", "db", "cache", "api", "queue"] {
        let alert = Alert {
            service_id: ServiceId::parse(id).unwrap(),
            message: format!("{id} is down"),
            raised_at: EventTime::parse_rfc3339("2024-01-01T00:00:00Z").unwrap(),
        };
        pager.alert(&alert).await.unwrap();
    }
    pager.healthy(&ServiceId::parse("db").unwrap()).await.unwrap();
    let (status, first) = api.get("/v1/services?limit=2").await;
    assert_eq!(status, 200, "{first}");
    let ids = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["ServiceID"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(&first), ["api", "cache"]);
    assert_eq!(first["next_after"], json!("cache"));
    let (_, second) = api.get("/v1/services?after=cache&limit=2").await;
    assert_eq!(ids(&second), ["db", "queue"]);
    assert_eq!(second["items"][0]["Healthy"], json!(true));
    assert_eq!(
        second["items"][1],
        api.get("/v1/services/queue").await.1,
        "the list shows what the service route does"
    );
    let (_, last) = api
        .get(&format!(
            "/v1/services?after={}&limit=2",
            second["next_after"].as_str().unwrap()
        ))
        .await;
    assert_eq!(ids(&last), ["web"]);
    assert_eq!(last["next_after"], Value::Null);
    let whole = api.get("/v1/services?limit=5").await.1;
    assert_eq!(ids(&whole), ["api", "cache", "db", "queue", "web"]);
    assert_eq!(whole["next_after"], Value::Null, "a page that ends the list says so");
    for bad in ["limit=0", "limit=501", "after=%20", "colour=red"] {
        assert_eq!(api.get(&format!("/v1/services?{bad}")).await.0, 400, "{bad}");
    }
}
