//! Serves the app's router over real HTTP on a free port, on a store of the caller's choice.

use alarm_digest::app::{Ports, UseCaseSettings, UseCases};
use alarm_digest::digests::{ClaimSettings, Digests};
use alarm_digest::domain::dead_letter::{DeadLetter, DeadLetterError, DeadLetterLog};
use alarm_digest::domain::pager::{Notification, Notifier, NotifyError};
use alarm_digest::domain::ports::{AlarmStore, DigestPublisher, PublishError, SystemClock};
use alarm_digest::domain::query::HistoryLimits;
use alarm_digest::domain::{Digest, DigestId};
use alarm_digest::health::Health;
use alarm_digest::metrics::Metrics;
use alarm_digest::pager::PagerSettings;
use alarm_digest::store::sqlite::SqliteStore;
use alarm_digest::store::Stores;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use web::observe::observed;
use web::{router, HttpLimits, Tokens};
use wire::alerts::AlertMapping;

/// Small history limits, so retention is visible with a handful of events.
pub const LIMITS: HistoryLimits = HistoryLimits {
    events_per_alarm: 3,
    alarms: 1000,
};

/// The body limit the tests run with.
pub const BODY_LIMIT: usize = 16 * 1024;

/// Keeps published digests, for the tests that compare a preview with the digest sent.
#[derive(Default)]
pub struct RecordedDigests(pub Mutex<Vec<(Digest, DigestId)>>);

#[async_trait::async_trait]
impl DigestPublisher for RecordedDigests {
    async fn publish(&self, digest: &Digest, id: &DigestId) -> Result<(), PublishError> {
        self.0.lock().unwrap().push((digest.clone(), id.clone()));
        Ok(())
    }
}

/// Keeps notifications; the pager's HTTP routes are under test, not its notifications.
#[derive(Default)]
pub struct RecordedNotifications(pub Mutex<Vec<Notification>>);

#[async_trait::async_trait]
impl Notifier for RecordedNotifications {
    async fn send(&self, notification: &Notification) -> Result<(), NotifyError> {
        self.0.lock().unwrap().push(notification.clone());
        Ok(())
    }
}

/// A dead-letter log that holds nothing: these tests run no intake.
pub struct NoDeadLetters;

#[async_trait::async_trait]
impl DeadLetterLog for NoDeadLetters {
    async fn latest(&self, _: Option<u64>, _: usize) -> Result<Vec<DeadLetter>, DeadLetterError> {
        Ok(Vec::new())
    }
}

/// A running API and a client for it.
pub struct Api {
    /// `http://127.0.0.1:port`.
    pub base: String,
    /// The client requests go through.
    pub client: reqwest::Client,
    /// The use cases behind the router, for what has no HTTP route (sending a digest).
    pub digests: Arc<Digests>,
    /// The pager, whose timers no loop fires here: a test fires them when it means to.
    pub pager: Arc<alarm_digest::pager::PagerService>,
}

impl Api {
    /// Serves the router on `store` with `tokens`, the pager on a private in-memory store.
    pub async fn start(store: Arc<dyn AlarmStore>, tokens: Tokens) -> Api {
        let pager = Arc::new(SqliteStore::open_in_memory(LIMITS).unwrap());
        let stores = Stores {
            alarms: store,
            pager: pager.clone(),
            policies: pager.clone(),
            schedules: pager.clone(),
            maintenance: pager,
        };
        Self::start_with_stores(stores, tokens).await
    }

    /// Serves the router on every port of `stores` with `tokens`, through the same
    /// composition root as the service.
    pub async fn start_with_stores(stores: Stores, tokens: Tokens) -> Api {
        Self::start_wired(stores, tokens, false).await.0
    }

    /// Like [`Api::start_with_stores`], with `PAGE_ON_CRITICAL` as given; also answers the
    /// notifications the pager sent.
    pub async fn start_wired(
        stores: Stores,
        tokens: Tokens,
        page_on_critical: bool,
    ) -> (Api, Arc<RecordedNotifications>) {
        // Readiness is not under test; a client that never connects is enough for it.
        let nats = async_nats::ConnectOptions::new()
            .retry_on_initial_connect()
            .connect("nats://127.0.0.1:1")
            .await
            .unwrap();
        let notifications = Arc::new(RecordedNotifications::default());
        let ports = Ports {
            stores,
            publisher: Arc::new(RecordedDigests::default()) as Arc<dyn DigestPublisher>,
            notifier: Arc::clone(&notifications) as Arc<dyn Notifier>,
            clock: Arc::new(SystemClock),
            dead_letters: Arc::new(NoDeadLetters),
        };
        let settings = UseCaseSettings {
            replica: "api-test".into(),
            claims: ClaimSettings {
                ttl: Duration::from_secs(5),
                wait: Duration::from_secs(1),
            },
            pager: PagerSettings::default(),
            page_on_critical,
            max_clock_skew: alarm_digest::alarms::DEFAULT_MAX_CLOCK_SKEW,
            retention: alarm_digest::domain::retention::Retention::DEFAULT,
            retention_batch: 500,
            schedules: Default::default(),
        };
        let metrics = Arc::new(Metrics::new());
        let use_cases = UseCases::build(ports, settings, &metrics);
        let limits = HttpLimits {
            body_bytes: BODY_LIMIT,
            timeout: Duration::from_secs(10),
        };
        let connected = move || matches!(nats.connection_state(), async_nats::connection::State::Connected);
        let state = use_cases.http_state(
            Health::new(connected),
            metrics.clone(),
            tokens,
            limits,
            AlertMapping::default(),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = observed(router(state), metrics);
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let api = Api {
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
            digests: Arc::clone(&use_cases.digests),
            pager: Arc::clone(&use_cases.pager),
        };
        (api, notifications)
    }

    /// GET `path`, answering status and JSON body (`Null` when the body is not JSON).
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response = self.client.get(format!("{}{path}", self.base)).send().await.unwrap();
        answer(response).await
    }

    /// GET `path` as text; (status, body).
    pub async fn get_text(&self, path: &str) -> (u16, String) {
        let response = self.client.get(format!("{}{path}", self.base)).send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// POST `body` as JSON to `path`.
    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .unwrap();
        answer(response).await
    }

    /// POSTs status changes and checks they were all accepted.
    pub async fn seed(&self, events: &[Value]) {
        let (status, body) = self.post("/v1/events", &Value::from(events.to_vec())).await;
        assert_eq!(status, 202, "{body}");
        assert_eq!(body["rejected"], 0, "{body}");
    }
}

/// Status and JSON body of a response.
pub async fn answer(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// An `AlarmStatusChanged` object.
pub fn event(
    user: &str,
    alarm: &str,
    status: &str,
    changed_at: &str,
    name: &str,
    service: &str,
    user_name: &str,
) -> Value {
    serde_json::json!({
        "UserID": user, "AlarmID": alarm, "Status": status, "ChangedAt": changed_at,
        "Name": name, "Service": service, "UserName": user_name,
    })
}

/// `user/alarm` of every item of a listing, in order.
pub fn keys(listing: &Value) -> Vec<String> {
    listing["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| format!("{}/{}", i["UserID"].as_str().unwrap(), i["AlarmID"].as_str().unwrap()))
        .collect()
}
