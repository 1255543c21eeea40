//! Events stamped too far ahead of the service's clock, over HTTP: refused with the
//! reason, and the alarm keeps its real status.

use super::server::{event, Api};
use alarm_digest::domain::ports::AlarmStore;
use alarm_digest::http::auth::Tokens;
use serde_json::Value;
use std::sync::Arc;

pub async fn an_event_stamped_years_ahead_is_refused_and_cannot_pin_an_alarm(store: Arc<dyn AlarmStore>) {
    let api = Api::start(store, Tokens::default()).await;
    let future = event("u1", "disk", "CRITICAL", "2099-06-07T20:40:15Z", "Disk", "db", "Ann");
    let (status, problem) = api.post("/v1/events", &future).await;
    assert_eq!(status, 422, "{problem}");
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("years ahead of this service's clock"), "{problem}");

    // In a batch, the future item is rejected with its reason and the others applied.
    let now = chrono::Utc::now().to_rfc3339();
    let batch = Value::from(vec![future, event("u1", "disk", "WARNING", &now, "Disk", "db", "Ann")]);
    let (status, answer) = api.post("/v1/events", &batch).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(
        (answer["applied"].as_u64(), answer["rejected"].as_u64()),
        (Some(1), Some(1)),
        "{answer}"
    );
    assert!(answer["items"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("ahead of this service's clock"));

    let (_, alarm) = api.get("/v1/users/u1/alarms/disk").await;
    assert_eq!(alarm["Status"], "WARNING", "the real change stands: {alarm}");
}
