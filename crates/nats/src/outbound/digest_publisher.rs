//! Digests out: each as one or more `AlarmDigest` messages that fit the server's max
//! payload, with their `Nats-Msg-Id` and part headers (see [`super::digest_parts`]),
//! through the [`Publisher`].

use super::digest_parts::{
    encode_digest_parts, part_message_id, DIGEST_ID_HEADER, HEADER_ALLOWANCE, PARTS_HEADER, PART_HEADER,
};
use super::publisher::{Outgoing, PublishFailure, Publisher};
use crate::observer::BusObserver;
use async_nats::HeaderMap;
use async_trait::async_trait;
use domain::ports::{DigestPublisher, Failure, PublishError};
use domain::schedule::DigestCause;
use domain::{Digest, DigestId};
use std::sync::Arc;

/// Header saying what caused the digest: `requested` or `scheduled`.
pub const CAUSE_HEADER: &str = "Alarm-Digest-Cause";
/// Header of a scheduled digest: the occurrence it was sent for, RFC 3339.
pub const OCCURRENCE_HEADER: &str = "Alarm-Digest-Occurrence";

/// Publishes digests to one subject (which a stream captures, in JetStream mode).
pub struct NatsDigestPublisher {
    publisher: Publisher,
    subject: String,
    observer: Arc<dyn BusObserver>,
}

impl NatsDigestPublisher {
    /// Publishes to `subject`; parts the digest stream already held are told to `observer`.
    pub fn new(publisher: Publisher, subject: impl Into<String>, observer: Arc<dyn BusObserver>) -> Self {
        Self {
            publisher,
            subject: subject.into(),
            observer,
        }
    }

    /// The digest as messages that fit the server's current max payload.
    fn messages(&self, digest: &Digest, id: &DigestId) -> Vec<Outgoing> {
        let limit = self.publisher.max_payload().saturating_sub(HEADER_ALLOWANCE).max(1024);
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
                headers.insert(CAUSE_HEADER, digest.cause.as_str());
                if let DigestCause::Scheduled { occurrence } = digest.cause {
                    headers.insert(OCCURRENCE_HEADER, occurrence.to_rfc3339().as_str());
                }
                Outgoing {
                    subject: self.subject.clone(),
                    headers,
                    payload: payload.into(),
                }
            })
            .collect()
    }
}

#[async_trait]
impl DigestPublisher for NatsDigestPublisher {
    /// Confirmed only when every part is stored; a retry re-sends every part under the
    /// same ids, and the duplicate window drops those already stored.
    async fn publish(&self, digest: &Digest, id: &DigestId) -> Result<(), PublishError> {
        let messages = self.messages(digest, id);
        let duplicates = self.publisher.publish_all(&messages).await.map_err(|e| match e {
            PublishFailure::Refused(_) => PublishError::Refused(Failure::caused_by(e)),
            PublishFailure::NotConfirmed(_) => PublishError::NotConfirmed(Failure::caused_by(e)),
        })?;
        if duplicates > 0 {
            self.observer.digest_duplicates(duplicates);
            tracing::info!(digest = %id, user = %digest.user_id, parts = messages.len(), duplicates, "digest was already published; recording its delivery");
        }
        Ok(())
    }
}
