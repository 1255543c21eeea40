//! The pager seen from outside: publishing its inputs, reading every notification the
//! notification stream holds, and driving policies and the console over HTTP.

use async_nats::jetstream::consumer::pull;
use futures::StreamExt;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use testkit::TestBus;
use tokio::sync::Notify;

/// The service's default notification stream.
pub const NOTIFICATION_STREAM: &str = "PAGER_NOTIFICATIONS";

/// One notification as a downstream e-mail or SMS sender sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationMsg {
    /// `Notification.email` or `Notification.sms`.
    pub subject: String,
    /// The ServiceID.
    pub service: String,
    /// The level notified.
    pub level: u64,
    /// `email:ADDRESS` or `sms:PHONE`.
    pub target: String,
    /// The idempotency key.
    pub key: String,
}

/// Every notification stored in the notification stream, in order.
#[derive(Clone, Default)]
pub struct NotificationLog {
    seen: Arc<Mutex<Vec<NotificationMsg>>>,
    arrived: Arc<Notify>,
}

impl NotificationLog {
    /// Reads the notification stream from its start, like a downstream JetStream consumer:
    /// copies the broker deduplicated by `Nats-Msg-Id` are not seen.
    pub async fn from_stream(bus: &TestBus) -> Self {
        let log = NotificationLog::default();
        let stream = bus
            .js
            .get_stream(NOTIFICATION_STREAM)
            .await
            .expect("the service creates the notification stream before consuming");
        let consumer = stream.create_consumer(pull::OrderedConfig::default()).await.unwrap();
        let mut messages = consumer.messages().await.unwrap();
        let sink = log.clone();
        tokio::spawn(async move {
            while let Some(Ok(msg)) = messages.next().await {
                let v: Value = serde_json::from_slice(&msg.payload).expect("notifications are JSON");
                let target = &v["Target"];
                let address = target["address"].as_str().or(target["phone"].as_str()).unwrap();
                sink.seen.lock().unwrap().push(NotificationMsg {
                    subject: msg.subject.to_string(),
                    service: v["ServiceID"].as_str().unwrap().to_string(),
                    level: v["Level"].as_u64().unwrap(),
                    target: format!("{}:{address}", target["type"].as_str().unwrap()),
                    key: v["IdempotencyKey"].as_str().unwrap().to_string(),
                });
                sink.arrived.notify_waiters();
            }
        });
        log
    }

    /// Notifications of `service` so far.
    pub fn of(&self, service: &str) -> Vec<NotificationMsg> {
        let seen = self.seen.lock().unwrap();
        seen.iter().filter(|n| n.service == service).cloned().collect()
    }

    /// Waits until `service` has at least `n` notifications, or panics after `timeout`.
    pub async fn wait_for(&self, service: &str, n: usize, timeout: Duration) -> Vec<NotificationMsg> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.arrived.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let got = self.of(service);
            if got.len() >= n {
                return got;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("timed out after {timeout:?} waiting for {n} notifications of {service}; got {got:?}");
            }
        }
    }
}

/// `(level, target)` pairs of notifications, sorted.
pub fn levels_and_targets(notifications: &[NotificationMsg]) -> Vec<(u64, String)> {
    let mut pairs: Vec<_> = notifications.iter().map(|n| (n.level, n.target.clone())).collect();
    pairs.sort();
    pairs
}
