//! Publishing notifications: `{prefix}.email` / `{prefix}.sms`, with the idempotency key as
//! `Nats-Msg-Id`, confirmed by JetStream (or flushed, in core mode).

use super::confirm::publish_confirmed;
use super::pager_wire::encode_notification;
use crate::domain::pager::{Notification, Notifier, NotifyError};
use async_nats::jetstream::{context::PublishErrorKind, message::PublishMessage, Context};
use async_nats::{Client, HeaderMap};
use async_trait::async_trait;

/// Publishes notifications for the e-mail and SMS services to deliver.
pub struct NatsNotifier {
    client: Client,
    js: Option<Context>,
    prefix: String,
}

impl NatsNotifier {
    /// Publishes under `prefix`; through JetStream (a stream must capture the subjects)
    /// when `js` is given, else with core NATS and a flush.
    pub fn new(client: Client, js: Option<Context>, prefix: impl Into<String>) -> Self {
        Self {
            client,
            js,
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
        let subject = Self::subject(&self.prefix, notification.target.channel().as_str());
        let key = notification.key();
        let payload = encode_notification(notification);
        match &self.js {
            Some(js) => {
                let message = PublishMessage::build().payload(payload.into()).message_id(key.as_str());
                let ack = publish_confirmed(js, &subject, message)
                    .await
                    .map_err(|e| match e.kind() {
                        PublishErrorKind::MaxPayloadExceeded => NotifyError::Refused(e.to_string()),
                        _ => NotifyError::NotConfirmed(e.to_string()),
                    })?;
                if ack.duplicate {
                    tracing::info!(key = %key, "notification was already published; recording it");
                }
                Ok(())
            }
            None => {
                let mut headers = HeaderMap::new();
                headers.insert("Nats-Msg-Id", key.as_str());
                self.client
                    .publish_with_headers(subject, headers, payload.into())
                    .await
                    .map_err(|e| NotifyError::NotConfirmed(e.to_string()))?;
                self.client
                    .flush()
                    .await
                    .map_err(|e| NotifyError::NotConfirmed(e.to_string()))
            }
        }
    }
}
