//! Dead letters out: a rejected input's original payload, unchanged, with the reason and
//! the subject it came on in headers, so nothing is silently dropped.

use super::publisher::{Outgoing, Publisher};
use async_nats::HeaderMap;
use domain::failure::Chain;

/// Header naming why a message was dead-lettered.
pub const REASON_HEADER: &str = "Alarm-Digest-Reason";
/// Header naming the subject a dead letter came from.
pub const SUBJECT_HEADER: &str = "Alarm-Digest-Subject";

/// Where rejected input goes.
#[derive(Clone)]
pub struct DeadLetterPublisher {
    publisher: Publisher,
    subject: String,
}

impl DeadLetterPublisher {
    /// Dead letters to `subject`, confirmed when `publisher` goes through JetStream.
    pub fn new(publisher: Publisher, subject: impl Into<String>) -> Self {
        Self {
            publisher,
            subject: subject.into(),
        }
    }

    /// Publishes the original payload with the reason and origin in headers; `dedup_id`
    /// (the input stream sequence) keeps a redelivered poison message from being
    /// dead-lettered twice. False when it was not confirmed, even after retries: the
    /// caller then keeps the message rather than lose it.
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
        let letter = Outgoing {
            subject: self.subject.clone(),
            headers,
            payload,
        };
        match self.publisher.publish_all(std::slice::from_ref(&letter)).await {
            Ok(_) => true,
            Err(e) => {
                tracing::error!(error = %Chain(&e), origin, "could not publish a dead letter");
                false
            }
        }
    }
}
