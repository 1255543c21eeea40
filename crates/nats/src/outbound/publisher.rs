//! The one way the service publishes: through JetStream, every message confirmed by its
//! PubAck and retried through a leader election, or with core NATS and a flush. Digests,
//! notifications and dead letters all go through it.

use async_nats::jetstream::context::{PublishError as JetStreamError, PublishErrorKind};
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::Context;
use async_nats::{Client, HeaderMap};
use bytes::Bytes;
use domain::failure::Chain;
use std::future::Future;
use std::time::Duration;

/// Tries of one publish; with the backoff below they span about the 2–5 s a JetStream
/// cluster takes to elect a new stream leader.
const ATTEMPTS: u32 = 4;
/// Wait before the second try; doubled before each next one.
const FIRST_PAUSE: Duration = Duration::from_millis(250);

/// One message to publish.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Its subject.
    pub subject: String,
    /// Its headers (`Nats-Msg-Id` among them, for the stream's duplicate window).
    pub headers: HeaderMap,
    /// Its body.
    pub payload: Bytes,
}

/// Why messages were not published.
#[derive(Debug, thiserror::Error)]
pub enum PublishFailure {
    /// The server refuses them whatever the retries (over its max payload).
    #[error("refused: {0}")]
    Refused(#[source] JetStreamError),
    /// Not confirmed: they may or may not be stored (no leader, a timeout, disconnected).
    #[error("not confirmed: {0}")]
    NotConfirmed(#[source] async_nats::Error),
}

/// Publishes through JetStream when it has a context, else with core NATS.
#[derive(Clone)]
pub struct Publisher {
    client: Client,
    js: Option<Context>,
}

impl Publisher {
    /// Confirmed publishing through JetStream: a stream must capture every subject.
    pub fn jetstream(client: Client) -> Self {
        let js = async_nats::jetstream::new(client.clone());
        Self { client, js: Some(js) }
    }

    /// Core NATS publishing, flushed: delivered to whoever listens now.
    pub fn core(client: Client) -> Self {
        Self { client, js: None }
    }

    /// The server's largest message, headers included.
    pub fn max_payload(&self) -> usize {
        self.client.max_payload()
    }

    /// Publishes every message. Through JetStream they are all sent, then every PubAck is
    /// awaited: `Ok` only when all are stored, with how many the stream already held (its
    /// duplicate window dropped them). A transient failure sends them all again after a
    /// pause, a few times. With core NATS they are flushed; `Ok(0)`.
    pub async fn publish_all(&self, messages: &[Outgoing]) -> Result<usize, PublishFailure> {
        match &self.js {
            Some(js) => retrying(|| send_all(js, messages)).await.map_err(|e| {
                if matches!(e.kind(), PublishErrorKind::MaxPayloadExceeded) {
                    PublishFailure::Refused(e)
                } else {
                    PublishFailure::NotConfirmed(e.into())
                }
            }),
            None => {
                for m in messages {
                    self.client
                        .publish_with_headers(m.subject.clone(), m.headers.clone(), m.payload.clone())
                        .await
                        .map_err(|e| PublishFailure::NotConfirmed(e.into()))?;
                }
                self.client
                    .flush()
                    .await
                    .map_err(|e| PublishFailure::NotConfirmed(e.into()))?;
                Ok(0)
            }
        }
    }
}

/// Sends every message, then awaits every PubAck; how many were duplicates.
async fn send_all(js: &Context, messages: &[Outgoing]) -> Result<usize, JetStreamError> {
    let mut acks = Vec::with_capacity(messages.len());
    for m in messages {
        let message = PublishMessage::build()
            .payload(m.payload.clone())
            .headers(m.headers.clone());
        acks.push(js.send_publish(m.subject.clone(), message).await?);
    }
    let mut duplicates = 0;
    for ack in acks {
        duplicates += usize::from(ack.await?.duplicate);
    }
    Ok(duplicates)
}

/// Whether another try may succeed: a timeout, no leader answering, a broken connection.
/// A message over the max payload or a failed expectation stays refused.
fn is_transient(kind: &PublishErrorKind) -> bool {
    matches!(
        kind,
        PublishErrorKind::TimedOut
            | PublishErrorKind::StreamNotFound
            | PublishErrorKind::BrokenPipe
            | PublishErrorKind::Other
    )
}

/// Runs `attempt` until it succeeds, fails for good, or has failed transiently
/// [`ATTEMPTS`] times, pausing with backoff in between; the last error is returned.
async fn retrying<T, F, Fut>(mut attempt: F) -> Result<T, JetStreamError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, JetStreamError>>,
{
    let mut pause = FIRST_PAUSE;
    let mut tries = 1;
    loop {
        match attempt().await {
            Err(e) if tries < ATTEMPTS && is_transient(&e.kind()) => {
                tracing::debug!(error = %Chain(&e), tries, "publish not confirmed; trying again");
                tokio::time::sleep(pause).await;
                pause *= 2;
                tries += 1;
            }
            done => return done,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_and_missing_leaders_are_retried_but_an_oversized_message_is_not() {
        assert!(is_transient(&PublishErrorKind::TimedOut));
        assert!(is_transient(&PublishErrorKind::StreamNotFound));
        assert!(!is_transient(&PublishErrorKind::MaxPayloadExceeded));
        assert!(!is_transient(&PublishErrorKind::WrongLastMessageId));
    }

    #[tokio::test(start_paused = true)]
    async fn a_transient_failure_is_tried_four_times_with_backoff_then_reported() {
        let mut tries = 0;
        let started = tokio::time::Instant::now();
        let result: Result<(), _> = retrying(|| {
            tries += 1;
            async { Err(JetStreamError::new(PublishErrorKind::TimedOut)) }
        })
        .await;
        assert!(result.is_err());
        assert_eq!(tries, ATTEMPTS);
        assert_eq!(started.elapsed(), Duration::from_millis(250 + 500 + 1000));
    }
}
