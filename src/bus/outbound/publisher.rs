//! Confirmed JetStream publishing through a leader election: a publish that times out or
//! finds no stream leader is tried again with backoff, a few times, before it is reported.

use async_nats::jetstream::context::{PublishAckFuture, PublishError, PublishErrorKind};
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::publish::PublishAck;
use async_nats::jetstream::Context;
use std::future::Future;
use std::time::Duration;

/// Tries of one publish; with the backoff below they span about the 2–5 s a JetStream
/// cluster takes to elect a new stream leader.
const ATTEMPTS: u32 = 4;
/// Wait before the second try; doubled before each next one.
const FIRST_PAUSE: Duration = Duration::from_millis(250);

/// Whether another try may succeed: a timeout, no leader answering, a broken connection.
/// A message over the max payload or a failed expectation stays refused.
pub fn is_transient(kind: &PublishErrorKind) -> bool {
    matches!(
        kind,
        PublishErrorKind::TimedOut
            | PublishErrorKind::StreamNotFound
            | PublishErrorKind::BrokenPipe
            | PublishErrorKind::Other
    )
}

/// Sends `message` to `subject` and awaits its PubAck, through [`retrying`]. The caller's
/// `Nats-Msg-Id` makes a retry of a message that was in fact stored a duplicate the stream
/// drops.
pub async fn publish_confirmed(
    js: &Context,
    subject: &str,
    message: PublishMessage,
) -> Result<PublishAck, PublishError> {
    retrying(subject, || send(js, subject, message.clone())).await
}

/// Runs `attempt` until it succeeds, fails for good, or has failed transiently
/// [`ATTEMPTS`] times, pausing with backoff in between; the last error is returned.
pub async fn retrying<T, F, Fut>(subject: &str, mut attempt: F) -> Result<T, PublishError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, PublishError>>,
{
    let mut pause = FIRST_PAUSE;
    let mut tries = 1;
    loop {
        match attempt().await {
            Err(e) if tries < ATTEMPTS && is_transient(&e.kind()) => {
                tracing::debug!(error = %e, subject, tries, "publish not confirmed; trying again");
                tokio::time::sleep(pause).await;
                pause *= 2;
                tries += 1;
            }
            done => return done,
        }
    }
}

/// Sends without awaiting the PubAck, so several messages can be in flight at once.
pub async fn send(js: &Context, subject: &str, message: PublishMessage) -> Result<PublishAck, PublishError> {
    let pending: PublishAckFuture = js.send_publish(subject.to_string(), message).await?;
    pending.await
}
