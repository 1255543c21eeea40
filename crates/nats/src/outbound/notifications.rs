//! Notifications out: `{prefix}.email` / `{prefix}.sms`, with the idempotency key as
//! `Nats-Msg-Id`, through the [`Publisher`].

use super::publisher::{Outgoing, PublishFailure, Publisher};
use async_nats::HeaderMap;
use async_trait::async_trait;
use domain::pager::{Notification, Notifier, NotifyError};
use domain::ports::Failure;
use serde::Serialize;

/// Publishes notifications for the e-mail and SMS services to deliver.
pub struct NatsNotifier {
    publisher: Publisher,
    prefix: String,
}

impl NatsNotifier {
    /// Publishes under `prefix` (a stream must capture the subjects in JetStream mode).
    pub fn new(publisher: Publisher, prefix: impl Into<String>) -> Self {
        Self {
            publisher,
            prefix: prefix.into(),
        }
    }

    /// The subject of a channel.
    pub fn subject(prefix: &str, channel: &str) -> String {
        format!("{prefix}.{channel}")
    }
}

#[async_trait]
impl Notifier for NatsNotifier {
    async fn send(&self, notification: &Notification) -> Result<(), NotifyError> {
        let key = notification.key();
        let mut headers = HeaderMap::new();
        headers.insert("Nats-Msg-Id", key.as_str());
        let message = Outgoing {
            subject: Self::subject(&self.prefix, notification.target.channel().as_str()),
            headers,
            payload: encode_notification(notification).into(),
        };
        let duplicates = self
            .publisher
            .publish_all(std::slice::from_ref(&message))
            .await
            .map_err(|e| match e {
                PublishFailure::Refused(_) => NotifyError::Refused(Failure::caused_by(e)),
                PublishFailure::NotConfirmed(_) => NotifyError::NotConfirmed(Failure::caused_by(e)),
            })?;
        if duplicates > 0 {
            tracing::info!(key = %key, "notification was already published; recording it");
        }
        Ok(())
    }
}

#[derive(Serialize)]
struct WireNotification<'a> {
    #[serde(rename = "ServiceID")]
    service_id: &'a str,
    #[serde(rename = "Incident")]
    incident: u64,
    #[serde(rename = "Level")]
    level: u32,
    #[serde(rename = "Target")]
    target: WireTarget<'a>,
    #[serde(rename = "Message")]
    message: &'a str,
    #[serde(rename = "IdempotencyKey")]
    idempotency_key: String,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum WireTarget<'a> {
    Email { address: &'a str },
    Sms { phone: &'a str },
}

/// Encodes a notification; its target is written like in policies.
pub fn encode_notification(n: &Notification) -> Vec<u8> {
    let target = match &n.target {
        domain::pager::Target::Email(address) => WireTarget::Email { address },
        domain::pager::Target::Sms(phone) => WireTarget::Sms { phone },
    };
    let wire = WireNotification {
        service_id: n.service_id.as_str(),
        incident: n.incident,
        level: n.level,
        target,
        message: &n.message,
        idempotency_key: n.key(),
    };
    serde_json::to_vec(&wire).expect("a notification always serializes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::pager::Target;
    use domain::ServiceId;

    #[test]
    fn notifications_carry_target_message_and_idempotency_key() {
        let n = Notification {
            service_id: ServiceId::parse("db").unwrap(),
            incident: 3,
            level: 2,
            repeat: 0,
            target: Target::sms("+33600000000").unwrap(),
            message: "disk full".into(),
        };
        let v: serde_json::Value = serde_json::from_slice(&encode_notification(&n)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "ServiceID": "db", "Incident": 3, "Level": 2,
                "Target": {"type": "sms", "phone": "+33600000000"},
                "Message": "disk full", "IdempotencyKey": "db/3/2/sms:+33600000000"
            })
        );
    }
}
