//! Publishing digests (JetStream with PubAck and message id, or core with flush) and dead letters.
//!
//! A digest larger than the server's max payload goes out as several parts, each a
//! complete AlarmDigest with its own `Nats-Msg-Id` and headers to reassemble by
//! (see [`super::digest_parts`]).

use super::confirm;
use super::digest_parts::{
    encode_digest_parts, part_message_id, DIGEST_ID_HEADER, HEADER_ALLOWANCE, PARTS_HEADER, PART_HEADER,
};
use crate::domain::ports::{DigestPublisher, PublishError};
use crate::domain::{Digest, DigestId};
use crate::metrics::Metrics;
use async_nats::jetstream::{context::PublishErrorKind, message::PublishMessage, Context};
use async_nats::{Client, HeaderMap};
use async_trait::async_trait;
use std::sync::Arc;

/// Header naming why a message was dead-lettered.
pub const REASON_HEADER: &str = "Alarm-Digest-Reason";
/// Header naming the subject a dead letter came from.
pub const SUBJECT_HEADER: &str = "Alarm-Digest-Subject";

/// Publishes digests to a JetStream stream and waits for the PubAck.
pub struct JetStreamDigests {
    js: Context,
    subject: String,
    metrics: Arc<Metrics>,
}

impl JetStreamDigests {
    /// Publishes to `subject`, which a stream must capture; duplicates the stream drops
    /// are counted in `metrics`.
    pub fn new(js: Context, subject: impl Into<String>, metrics: Arc<Metrics>) -> Self {
        Self {
            js,
            subject: subject.into(),
            metrics,
        }
    }
}

/// The digest as messages that fit the server's current max payload: payloads with the
/// headers of each part (`Nats-Msg-Id` included).
fn digest_messages(client: &Client, digest: &Digest, id: &DigestId) -> Vec<(HeaderMap, bytes::Bytes)> {
    let limit = client.max_payload().saturating_sub(HEADER_ALLOWANCE).max(1024);
    let parts = encode_digest_parts(digest, limit);
    let count = parts.len();
    let count_text = count.to_string();
    parts
        .into_iter()
        .enumerate()
        .map(|(i, payload)| {
            let mut headers = HeaderMap::new();
            headers.insert("Nats-Msg-Id", part_message_id(id, i + 1, count).as_str());
            headers.insert(DIGEST_ID_HEADER, id.as_str());
            headers.insert(PART_HEADER, (i + 1).to_string().as_str());
            headers.insert(PARTS_HEADER, count_text.as_str());
            (headers, payload.into())
        })
        .collect()
}

#[async_trait]
impl DigestPublisher for JetStreamDigests {
    /// Sends every part, then awaits every PubAck: confirmed only when all parts are
    /// stored. A transient failure (a leader election) re-sends them all after a pause, a
    /// few times ([`confirm::retrying`]), and the duplicate window drops the parts already
    /// stored.
    async fn publish(&self, digest: &Digest, id: &DigestId) -> Result<(), PublishError> {
        let messages = digest_messages(&self.js.client(), digest, id);
        let duplicates = confirm::retrying(&self.subject, || self.publish_parts(&messages))
            .await
            .map_err(|e| match e.kind() {
                PublishErrorKind::MaxPayloadExceeded => PublishError::Refused(e.to_string()),
                _ => PublishError::NotConfirmed(e.to_string()),
            })?;
        if duplicates > 0 {
            self.metrics.count_digest_duplicates(duplicates);
            tracing::info!(digest = %id, user = %digest.user_id, parts = messages.len(), duplicates, "digest was already published; recording its delivery");
        }
        Ok(())
    }
}

impl JetStreamDigests {
    /// Sends every part, then awaits every PubAck; how many the stream already held.
    async fn publish_parts(
        &self,
        messages: &[(HeaderMap, bytes::Bytes)],
    ) -> Result<usize, async_nats::jetstream::context::PublishError> {
        let mut acks = Vec::with_capacity(messages.len());
        for (headers, payload) in messages {
            let message = PublishMessage::build()
                .payload(payload.clone())
                .headers(headers.clone());
            acks.push(self.js.send_publish(self.subject.clone(), message).await?);
        }
        let mut duplicates = 0;
        for ack in acks {
            duplicates += usize::from(ack.await?.duplicate);
        }
        Ok(duplicates)
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
        for (headers, payload) in digest_messages(&self.client, digest, id) {
            self.client
                .publish_with_headers(self.subject.clone(), headers, payload)
                .await
                .map_err(|e| PublishError::NotConfirmed(e.to_string()))?;
        }
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
    /// dead-lettered twice. False when JetStream did not confirm it, even after retries:
    /// the caller then keeps the message rather than lose it.
    pub async fn publish(&self, origin: &str, payload: bytes::Bytes, reason: &str, dedup_id: Option<String>) -> bool {
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
            Some(js) => confirm::publish_confirmed(
                js,
                &self.subject,
                PublishMessage::build().payload(payload).headers(headers),
            )
            .await
            .map(drop)
            .map_err(|e| e.to_string()),
            None => self
                .client
                .publish_with_headers(self.subject.clone(), headers, payload)
                .await
                .map_err(|e| e.to_string()),
        };
        match result {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(error = %e, origin, "could not publish a dead letter");
                false
            }
        }
    }
}
