//! JetStream streams and the shared durable consumer, created when absent.

use async_nats::jetstream::consumer::{pull, AckPolicy, DeliverPolicy};
use async_nats::jetstream::stream::{Config, DiscardPolicy, RetentionPolicy, StorageType};
use async_nats::jetstream::{self, Context};
use std::time::Duration;

/// How long the input stream keeps a message nobody consumed.
const INPUT_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);
/// Duplicate window of the input stream: producers' `Nats-Msg-Id` within it are dropped.
const INPUT_DUPLICATE_WINDOW: Duration = Duration::from_secs(120);
/// Digests are kept a week for consumers that were down.
const DIGEST_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);
/// Long enough to cover a crash between publishing a digest and recording it, a restart,
/// and the claim expiring.
const DIGEST_DUPLICATE_WINDOW: Duration = Duration::from_secs(600);
/// Dead letters are kept a month for inspection.
const DEAD_LETTER_MAX_AGE: Duration = Duration::from_secs(30 * 24 * 3600);

/// What the input side needs to exist.
#[derive(Debug, Clone)]
pub struct InputTopology {
    /// Stream name.
    pub stream: String,
    /// Subjects it must capture.
    pub subjects: Vec<String>,
    /// Largest size in bytes.
    pub max_bytes: i64,
    /// Durable consumer name.
    pub consumer: String,
    /// Messages handed out and not yet acknowledged, at most.
    pub max_ack_pending: i64,
    /// How long before an unacknowledged message is redelivered.
    pub ack_wait: Duration,
    /// Digest stream and subject to create when absent, unless another service owns it.
    pub digest_stream: Option<(String, String)>,
    /// Dead-letter stream and subject.
    pub dead_letter_stream: (String, String),
    /// Notification stream and its subjects, when the pager publishes through JetStream.
    pub notification_stream: Option<(String, Vec<String>)>,
}

/// Makes sure the input stream captures our subjects, creating it as a work queue when
/// absent (acknowledged messages are removed; when full, new publishes are refused rather
/// than old unprocessed ones dropped), and returns the shared durable pull consumer.
pub async fn ensure_input(
    js: &Context,
    topology: &InputTopology,
) -> anyhow::Result<jetstream::consumer::Consumer<pull::Config>> {
    let wanted = Config {
        name: topology.stream.clone(),
        subjects: topology.subjects.clone(),
        retention: RetentionPolicy::WorkQueue,
        storage: StorageType::File,
        discard: DiscardPolicy::New,
        max_age: INPUT_MAX_AGE,
        max_bytes: topology.max_bytes,
        duplicate_window: INPUT_DUPLICATE_WINDOW,
        ..Default::default()
    };
    if let Some((name, subject)) = &topology.digest_stream {
        ensure_digest_stream(js, name, subject).await?;
    }
    ensure_dead_letter_stream(js, &topology.dead_letter_stream.0, &topology.dead_letter_stream.1).await?;
    if let Some((name, subjects)) = &topology.notification_stream {
        ensure_notification_stream(js, name, subjects).await?;
    }
    let mut stream = js.get_or_create_stream(wanted).await?;
    let mut config = stream.info().await?.config.clone();
    let missing: Vec<_> = topology
        .subjects
        .iter()
        .filter(|s| !config.subjects.contains(s))
        .cloned()
        .collect();
    if !missing.is_empty() {
        tracing::info!(stream = %topology.stream, ?missing, "adding subjects to the input stream");
        config.subjects.extend(missing);
        js.update_stream(config).await?;
        stream = js.get_stream(&topology.stream).await?;
    }
    let consumer = stream
        .get_or_create_consumer(
            &topology.consumer,
            pull::Config {
                durable_name: Some(topology.consumer.clone()),
                ack_policy: AckPolicy::Explicit,
                ack_wait: topology.ack_wait,
                deliver_policy: DeliverPolicy::All,
                max_deliver: -1,
                max_ack_pending: topology.max_ack_pending,
                ..Default::default()
            },
        )
        .await?;
    Ok(consumer)
}

/// Creates the digest stream when absent: limits retention, with a duplicate window that
/// drops a digest re-published under the same id after a crash.
pub async fn ensure_digest_stream(js: &Context, name: &str, subject: &str) -> anyhow::Result<()> {
    js.get_or_create_stream(Config {
        name: name.to_string(),
        subjects: vec![subject.to_string()],
        retention: RetentionPolicy::Limits,
        storage: StorageType::File,
        max_age: DIGEST_MAX_AGE,
        duplicate_window: DIGEST_DUPLICATE_WINDOW,
        ..Default::default()
    })
    .await?;
    Ok(())
}

/// Creates the notification stream when absent: the same duplicate window as digests, so
/// a notification re-published under its idempotency key after a crash is dropped.
pub async fn ensure_notification_stream(js: &Context, name: &str, subjects: &[String]) -> anyhow::Result<()> {
    js.get_or_create_stream(Config {
        name: name.to_string(),
        subjects: subjects.to_vec(),
        retention: RetentionPolicy::Limits,
        storage: StorageType::File,
        max_age: DIGEST_MAX_AGE,
        duplicate_window: DIGEST_DUPLICATE_WINDOW,
        ..Default::default()
    })
    .await?;
    Ok(())
}

/// Creates the dead-letter stream when absent.
pub async fn ensure_dead_letter_stream(js: &Context, name: &str, subject: &str) -> anyhow::Result<()> {
    js.get_or_create_stream(Config {
        name: name.to_string(),
        subjects: vec![subject.to_string()],
        retention: RetentionPolicy::Limits,
        storage: StorageType::File,
        max_age: DEAD_LETTER_MAX_AGE,
        max_bytes: 256 << 20,
        discard: DiscardPolicy::Old,
        duplicate_window: INPUT_DUPLICATE_WINDOW,
        ..Default::default()
    })
    .await?;
    Ok(())
}
