//! Publishing digests (JetStream with PubAck and message id, or core with flush) and dead letters.

use super::wire::encode_digest;
use crate::domain::ports::{DigestPublisher, PublishError};
use crate::domain::{Digest, DigestId};
use async_nats::jetstream::{context::PublishErrorKind, message::PublishMessage, Context};
use async_nats::{Client, HeaderMap};
use async_trait::async_trait;

/// Header naming why a message was dead-lettered.
pub const REASON_HEADER: &str = "Alarm-Digest-Reason";
/// Header naming the subject a dead letter came from.
pub const SUBJECT_HEADER: &str = "Alarm-Digest-Subject";

/// Publishes digests to a JetStream stream and waits for the PubAck.
pub struct JetStreamDigests {
    js: Context,
    subject: String,
}

impl JetStreamDigests {
    /// Publishes to `subject`, which a stream must capture.
    pub fn new(js: Context, subject: impl Into<String>) -> Self {
        Self {
            js,
            subject: subject.into(),
        }
    }
}

#[async_trait]
impl DigestPublisher for JetStreamDigests {
    async fn publish(&self, digest: &Digest, id: &DigestId) -> Result<(), PublishError> {
        let message = PublishMessage::build()
            .payload(encode_digest(digest).into())
            .message_id(id.as_str());
        let ack = self
            .js
            .send_publish(self.subject.clone(), message)
            .await
            .map_err(|e| match e.kind() {
                PublishErrorKind::MaxPayloadExceeded => PublishError::Refused(e.to_string()),
                _ => PublishError::NotConfirmed(e.to_string()),
            })?;
        let ack = ack.await.map_err(|e| PublishError::NotConfirmed(e.to_string()))?;
        if ack.duplicate {
            tracing::info!(digest = %id, user = %digest.user_id, "digest was already published; recording its delivery");
        }
        Ok(())
    }
}

/// Publishes digests with core NATS and flushes: delivered to whoever listens now.
pub struct CoreDigests {
    client: Client,
    subject: String,
}

impl CoreDigests {
    /// Publishes to `subject`.
    pub fn new(client: Client, subject: impl Into<String>) -> Self {
        Self {
            client,
            subject: subject.into(),
        }
    }
}

#[async_trait]
impl DigestPublisher for CoreDigests {
    async fn publish(&self, digest: &Digest, id: &DigestId) -> Result<(), PublishError> {
        let mut headers = HeaderMap::new();
        headers.insert("Nats-Msg-Id", id.as_str());
        self.client
            .publish_with_headers(self.subject.clone(), headers, encode_digest(digest).into())
            .await
            .map_err(|e| PublishError::NotConfirmed(e.to_string()))?;
        self.client
            .flush()
            .await
            .map_err(|e| PublishError::NotConfirmed(e.to_string()))
    }
}

/// Where rejected input goes, with the reason, so nothing is silently dropped.
#[derive(Clone)]
pub struct DeadLetters {
    client: Client,
    js: Option<Context>,
    subject: String,
}

impl DeadLetters {
    /// Dead letters to `subject`; through JetStream (confirmed) when `js` is given.
    pub fn new(client: Client, js: Option<Context>, subject: impl Into<String>) -> Self {
        Self {
            client,
            js,
            subject: subject.into(),
        }
    }

    /// Publishes the original payload with the reason and origin in headers; `dedup_id`
    /// (the input stream sequence) keeps a redelivered poison message from being
    /// dead-lettered twice.
    pub async fn publish(&self, origin: &str, payload: bytes::Bytes, reason: &str, dedup_id: Option<String>) {
        let reason: String = reason
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(512)
            .collect();
        let mut headers = HeaderMap::new();
        headers.insert(REASON_HEADER, reason.as_str());
        headers.insert(SUBJECT_HEADER, origin);
        if let Some(id) = &dedup_id {
            headers.insert("Nats-Msg-Id", id.as_str());
        }
        let result = match &self.js {
            Some(js) => match js
                .send_publish(
                    self.subject.clone(),
                    PublishMessage::build().payload(payload).headers(headers),
                )
                .await
            {
                Ok(ack) => ack.await.map(drop).map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            },
            None => self
                .client
                .publish_with_headers(self.subject.clone(), headers, payload)
                .await
                .map_err(|e| e.to_string()),
        };
        if let Err(e) = result {
            tracing::error!(error = %e, origin, "could not publish a dead letter; the rejection is only logged");
        }
    }
}
