//! One console scenario's world: nats-server, the binary on SQLite or MongoDB-wire, a NATS client that
//! publishes like producers, and an HTTP client for the API the pages must agree with.

use futures::StreamExt;
use serde_json::{json, Value};
use std::time::Duration;
use testkit::{eventually, NatsServer, Replica, ServiceEnv, StoreKind};

/// How long anything the scenario waits for may take.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// A running service and the clients the scenario uses.
pub struct Stage {
    /// The service; dropped (killed) before the broker.
    pub replica: Replica,
    /// The scenario's NATS client.
    pub nats: async_nats::Client,
    js: async_nats::jetstream::Context,
    http: reqwest::Client,
    published: u64,
    _env: ServiceEnv,
    _server: NatsServer,
}

/// An `AlarmStatusChanged` as producers publish it.
pub fn event(user: &str, alarm: &str, status: &str, second: u32, name: &str, service: &str) -> Value {
    json!({
        "UserID": user, "AlarmID": alarm, "Status": status,
        "ChangedAt": format!("2026-01-01T00:{:02}:{:02}Z", second / 60, second % 60),
        "Name": name, "Service": service, "UserName": "Ann",
    })
}

impl Stage {
    /// Starts nats-server and the binary on SQLite with `settings` (e.g. the API tokens).
    pub async fn start(settings: &[(&str, &str)]) -> Stage {
        Self::start_on(StoreKind::Sqlite, settings).await
    }

    /// Starts nats-server and the binary on `store` with `settings`.
    pub async fn start_on(store: StoreKind, settings: &[(&str, &str)]) -> Stage {
        let server = NatsServer::start();
        let mut env = ServiceEnv::new(server.url(), store);
        for (k, v) in settings {
            env = env.with(k, v);
        }
        let replica = Replica::start(&env).await;
        let nats = async_nats::connect(server.url()).await.unwrap();
        let js = async_nats::jetstream::new(nats.clone());
        Stage {
            replica,
            nats,
            js,
            http: reqwest::Client::new(),
            published: 0,
            _env: env,
            _server: server,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.replica.http_port)
    }

    /// Publishes events through JetStream and returns once the service has received them
    /// all (its `EventsReceived` count).
    pub async fn publish(&mut self, events: &[Value], token: Option<&str>) {
        for e in events {
            self.js
                .publish("AlarmStatusChanged", e.to_string().into())
                .await
                .unwrap()
                .await
                .unwrap();
        }
        self.published += events.len() as u64;
        let published = self.published;
        self.poll("/v1/counts", token, "events received", |status, counts| {
            status == 200 && counts["EventsReceived"].as_u64() >= Some(published)
        })
        .await;
    }

    /// Asks the API for `path` until `holds` is true of its status and JSON body (null when
    /// not JSON), or panics after [`PATIENCE`] saying what was awaited and the last answer.
    /// The service tells nothing outside itself when it applied an input; its API is where
    /// a reader sees it, so ask again shortly.
    async fn poll(&self, path: &str, token: Option<&str>, what: &str, holds: impl Fn(u16, &Value) -> bool) {
        eventually(what, PATIENCE, || async {
            let mut request = self.http.get(format!("{}{path}", self.base()));
            if let Some(t) = token {
                request = request.bearer_auth(t);
            }
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let body = response.json().await.unwrap_or(Value::Null);
            match holds(status, &body) {
                true => Ok(()),
                false => Err(format!("{path} answered {status} {body}")),
            }
        })
        .await
    }

    /// Returns once the API lists `n` digests sent to `user`: a digest is recorded as sent
    /// just after it is published, so a subscriber may see it first.
    pub async fn await_sent_digests(&self, user: &str, n: usize) {
        let path = format!("/v1/users/{user}/digests");
        self.poll(&path, None, "digests recorded", |status, sent| {
            status == 200 && sent.as_array().map(Vec::len) >= Some(n)
        })
        .await;
    }

    /// Publishes a `PagerAlert` through JetStream and returns once the API shows the
    /// service unhealthy.
    pub async fn alert(&self, service: &str, message: &str) {
        let body = json!({"ServiceID": service, "Message": message, "RaisedAt": "2026-01-01T00:00:00Z"});
        self.js
            .publish("PagerAlert", body.to_string().into())
            .await
            .unwrap()
            .await
            .unwrap();
        let path = format!("/v1/services/{}", path_segment(service));
        self.poll(&path, None, "alert applied", |status, state| {
            status == 200 && state["Healthy"] == false
        })
        .await;
    }

    /// Publishes raw `payloads` as status changes through JetStream and returns once the
    /// service has dead-lettered them all (a consumer of the dead-letter stream delivers a
    /// letter only once it is stored).
    pub async fn refuse(&self, payloads: &[&[u8]]) {
        let stream = self.js.get_stream("ALARM_DIGEST_DEADLETTERS").await.unwrap();
        let consumer = stream
            .create_consumer(async_nats::jetstream::consumer::pull::Config::default())
            .await
            .unwrap();
        let mut stored = consumer.messages().await.unwrap();
        for payload in payloads {
            self.js
                .publish("AlarmStatusChanged", payload.to_vec().into())
                .await
                .unwrap()
                .await
                .unwrap();
        }
        for _ in payloads {
            tokio::time::timeout(PATIENCE, stored.next())
                .await
                .expect("a dead letter")
                .unwrap()
                .unwrap();
        }
    }

    /// POSTs `body` as JSON to an API path; the status.
    pub async fn post(&self, path: &str, body: &Value) -> u16 {
        let response = self
            .http
            .post(format!("{}{path}", self.base()))
            .json(body)
            .send()
            .await
            .unwrap();
        response.status().as_u16()
    }

    /// PUTs an escalation policy; panics unless it is stored.
    pub async fn put_policy(&self, service: &str, policy: &Value) {
        let url = format!(
            "{}/v1/services/{}/escalation-policy",
            self.base(),
            path_segment(service)
        );
        let response = self.http.put(url).json(policy).send().await.unwrap();
        assert!(response.status().is_success(), "{}", response.text().await.unwrap());
    }

    /// GET an API path without a token: status and JSON body (null when not JSON).
    pub async fn fetch(&self, path: &str) -> (u16, Value) {
        let response = self.http.get(format!("{}{path}", self.base())).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Logs in with `token` over plain HTTP and returns the session cookie it sets, checking
    /// the cookie does not carry the token.
    pub async fn session_cookie(&self, token: &str) -> String {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let response = http
            .post(format!("{}/login", self.base()))
            .form(&[("token", token), ("next", "/")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303, "login with {token}");
        let set = response.headers()[reqwest::header::SET_COOKIE]
            .to_str()
            .unwrap()
            .to_string();
        let cookie = set.split(';').next().unwrap().to_string();
        assert!(
            cookie.starts_with("alarm_digest_session=") && !cookie.contains(token),
            "{set}"
        );
        cookie
    }

    /// GET an API path as JSON, with a bearer token when given.
    pub async fn get(&self, path: &str, token: Option<&str>) -> Value {
        let mut request = self.http.get(format!("{}{path}", self.base()));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.unwrap()
    }

    /// Publishes a `SendAlarmDigest` for `user` and returns the digest that comes out, as
    /// (AlarmID, Status, LatestChangedAt) in order.
    pub async fn send_digest(&self, user: &str) -> Vec<(String, String, String)> {
        let mut digests = self.nats.subscribe("AlarmDigest").await.unwrap();
        self.nats.flush().await.unwrap();
        self.js
            .publish("SendAlarmDigest", json!({ "UserID": user }).to_string().into())
            .await
            .unwrap()
            .await
            .unwrap();
        let message = tokio::time::timeout(PATIENCE, digests.next())
            .await
            .expect("a digest")
            .unwrap();
        let digest: Value = serde_json::from_slice(&message.payload).unwrap();
        assert_eq!(digest["UserID"], user);
        digest["ActiveAlarms"]
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
}

/// One path segment, percent-encoded but for RFC 3986's unreserved characters.
pub fn path_segment(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
