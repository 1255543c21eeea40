//! JetStream streams and the shared durable consumer: created when absent, with the
//! configured replica count, and brought to it (or reported) when they exist.

use async_nats::jetstream::consumer::{pull, AckPolicy, DeliverPolicy};
use async_nats::jetstream::context::{CreateStreamErrorKind, GetStreamErrorKind};
use async_nats::jetstream::stream::{Config, ConsumerErrorKind, DiscardPolicy, RetentionPolicy, StorageType};
use async_nats::jetstream::ErrorCode;
use async_nats::jetstream::{self, Context};
use domain::failure::Failure;
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

/// A stream the service publishes to, by name and subjects, and whether the service
/// manages it (creates it and brings it to its settings) or only uses it.
#[derive(Debug, Clone)]
pub struct StreamSettings {
    /// Stream name.
    pub name: String,
    /// The subjects it captures.
    pub subjects: Vec<String>,
    /// Created and reconciled by this service (`MANAGE_*`); otherwise only reported.
    pub managed: bool,
}

/// Every stream the service needs and the shared consumer of the input stream.
#[derive(Debug, Clone)]
pub struct Topology {
    /// The input stream's name.
    pub stream: String,
    /// The input subjects it must capture.
    pub subjects: Vec<String>,
    /// The input stream's largest size in bytes.
    pub max_bytes: i64,
    /// Durable consumer name.
    pub consumer: String,
    /// Messages handed out and not yet acknowledged, at most.
    pub max_ack_pending: i64,
    /// How long before an unacknowledged message is redelivered.
    pub ack_wait: Duration,
    /// Replicas of every stream created here (`STREAM_REPLICAS`).
    pub replicas: usize,
    /// The digest stream (`MANAGE_DIGEST_STREAM`), in JetStream mode.
    pub digest_stream: Option<StreamSettings>,
    /// The dead-letter stream (always managed).
    pub dead_letter_stream: StreamSettings,
    /// The notification stream, when the pager publishes through JetStream.
    pub notification_stream: Option<StreamSettings>,
}

/// Why the streams or the consumer could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TopologyError {
    /// The servers refuse what was asked (more replicas than servers, JetStream disabled,
    /// subjects owned by another stream): retrying cannot help, so the service stops.
    #[error("{what} is refused by the servers{hint}")]
    Misconfigured {
        /// What was being set up.
        what: String,
        /// What to change, when the refusal names a setting.
        hint: String,
        /// The servers' answer.
        #[source]
        source: Failure,
    },
    /// JetStream did not answer or had no leader (a node down, an election): retried.
    #[error("JetStream is not answering yet: {what}")]
    Unavailable {
        /// What was being set up.
        what: String,
        /// The client's or the servers' error.
        #[source]
        source: Failure,
    },
}

/// Codes of JetStream API errors that no retry can cure.
const MISCONFIGURED: [ErrorCode; 8] = [
    ErrorCode::INSUFFICIENT_RESOURCES,
    ErrorCode::STREAM_REPLICAS_NOT_SUPPORTED,
    ErrorCode::STREAM_REPLICAS_NOT_UPDATABLE,
    ErrorCode::JETSTREAM_NOT_ENABLED,
    ErrorCode::JETSTREAM_NOT_ENABLED_FOR_ACCOUNT,
    ErrorCode::STREAM_SUBJECT_OVERLAP,
    ErrorCode::STREAM_INVALID_CONFIG,
    ErrorCode::CLUSTER_TAGS,
];

/// Names the error of `what`, as misconfiguration when the server's code says so.
fn classify(
    what: &str,
    replicas: usize,
    code: Option<ErrorCode>,
    error: impl std::error::Error + Send + Sync + 'static,
) -> TopologyError {
    let (what, source) = (what.to_string(), Failure::caused_by(error));
    match code {
        Some(code) if MISCONFIGURED.contains(&code) => {
            let hint = if matches!(
                code,
                ErrorCode::INSUFFICIENT_RESOURCES | ErrorCode::STREAM_REPLICAS_NOT_SUPPORTED
            ) {
                format!(
                    "; STREAM_REPLICAS={replicas} needs a JetStream cluster of at least {replicas} servers, all up \
                     (a single server takes STREAM_REPLICAS=1)"
                )
            } else {
                String::new()
            };
            TopologyError::Misconfigured { what, hint, source }
        }
        _ => TopologyError::Unavailable { what, source },
    }
}

/// Makes sure every stream exists with the configured replicas and the input stream
/// captures our subjects (a work queue: acknowledged messages are removed; when full, new
/// publishes are refused rather than old unprocessed ones dropped), and returns the
/// shared durable pull consumer.
pub async fn ensure_input(
    js: &Context,
    topology: &Topology,
) -> Result<jetstream::consumer::Consumer<pull::Config>, TopologyError> {
    let replicas = topology.replicas;
    for stream in topology.digest_stream.iter().chain(&topology.notification_stream) {
        let wanted = kept_with_duplicate_window(&stream.name, stream.subjects.clone(), replicas);
        reconcile(js, wanted, stream.managed).await?;
    }
    let dead_letters = &topology.dead_letter_stream;
    reconcile(
        js,
        dead_letter_config(&dead_letters.name, dead_letters.subjects.clone(), replicas),
        dead_letters.managed,
    )
    .await?;
    let wanted = Config {
        name: topology.stream.clone(),
        subjects: topology.subjects.clone(),
        retention: RetentionPolicy::WorkQueue,
        storage: StorageType::File,
        discard: DiscardPolicy::New,
        max_age: INPUT_MAX_AGE,
        max_bytes: topology.max_bytes,
        duplicate_window: INPUT_DUPLICATE_WINDOW,
        num_replicas: replicas,
        ..Default::default()
    };
    let mut stream = reconcile(js, wanted, true)
        .await?
        .expect("a managed stream is always returned");
    let consumer_error = |e: jetstream::stream::ConsumerError| {
        let code = match e.kind() {
            ConsumerErrorKind::JetStream(api) => Some(api.error_code()),
            _ => None,
        };
        classify(&format!("consumer {}", topology.consumer), replicas, code, e)
    };
    let mut consumer = stream
        .get_or_create_consumer(
            &topology.consumer,
            pull::Config {
                durable_name: Some(topology.consumer.clone()),
                ack_policy: AckPolicy::Explicit,
                ack_wait: topology.ack_wait,
                deliver_policy: DeliverPolicy::All,
                max_deliver: -1,
                max_ack_pending: topology.max_ack_pending,
                num_replicas: consumer_replicas(replicas),
                ..Default::default()
            },
        )
        .await
        .map_err(consumer_error)?;
    let config = consumer.cached_info().config.clone();
    if config.num_replicas != consumer_replicas(replicas) {
        tracing::warn!(
            consumer = %topology.consumer, has = config.num_replicas, wanted = replicas,
            "the input consumer has another replica count than STREAM_REPLICAS; updating it"
        );
        let config = jetstream::consumer::Config {
            num_replicas: consumer_replicas(replicas),
            ..config
        };
        let what = format!("updating consumer {}", topology.consumer);
        stream
            .update_consumer::<jetstream::consumer::Config>(config)
            .await
            .map_err(|e| classify(&what, replicas, None, e))?;
        consumer = stream
            .get_consumer(&topology.consumer)
            .await
            .map_err(|e| classify(&what, replicas, None, Failure::boxed(e)))?;
    }
    if replicas > 1 {
        wait_replicated(&mut stream, &mut consumer, replicas).await;
    }
    Ok(consumer)
}

/// The consumer's replica count for `STREAM_REPLICAS`: one server takes 0 (as many as the
/// stream, what every server version accepts); a cluster takes the count itself, because
/// a consumer left at 0 is moved to the stream's new replicas only some time after the
/// stream is raised, and until then lives on one node.
fn consumer_replicas(replicas: usize) -> usize {
    if replicas > 1 {
        replicas
    } else {
        0
    }
}

/// How long a start waits for the input stream's and consumer's replicas to be current
/// after they were created or raised: the few seconds new replicas take to copy them.
const REPLICATION_WAIT: Duration = Duration::from_secs(30);

/// Waits, up to [`REPLICATION_WAIT`], until the input stream and its consumer each have
/// `replicas` replicas reported current, so that losing one node right after a start
/// (a rolling upgrade that raised `STREAM_REPLICAS`) does not find a replica still
/// copying them; past the bound it warns and goes on.
async fn wait_replicated(
    stream: &mut jetstream::stream::Stream,
    consumer: &mut jetstream::consumer::Consumer<pull::Config>,
    replicas: usize,
) {
    let started = std::time::Instant::now();
    let current = |cluster: Option<&jetstream::stream::ClusterInfo>| {
        cluster.is_some_and(|c| {
            c.leader.is_some() && c.replicas.len() + 1 >= replicas && c.replicas.iter().all(|r| r.current && !r.offline)
        })
    };
    loop {
        let stream_current = stream.info().await.is_ok_and(|i| current(i.cluster.as_ref()));
        let consumer_current = consumer.info().await.is_ok_and(|i| current(i.cluster.as_ref()));
        if stream_current && consumer_current {
            tracing::info!(replicas, waited = ?started.elapsed(), "the input stream and consumer are replicated");
            return;
        }
        if started.elapsed() >= REPLICATION_WAIT {
            tracing::warn!(
                replicas,
                stream_current,
                consumer_current,
                "the input stream or consumer has no {replicas} current replicas after {REPLICATION_WAIT:?}; \
                 starting anyway (losing a node now may stall intake until it returns)"
            );
            return;
        }
        // Replication has no event a client can await; ask again shortly.
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Brings stream `wanted.name` to `wanted`'s replicas and subjects when `managed` (created
/// when absent), or only reports a difference when another service owns it. Returns the
/// stream when it exists.
async fn reconcile(
    js: &Context,
    wanted: Config,
    managed: bool,
) -> Result<Option<jetstream::stream::Stream>, TopologyError> {
    let name = wanted.name.clone();
    let replicas = wanted.num_replicas;
    let what = format!("stream {name}");
    let mut stream = match js.get_stream(&name).await {
        Ok(stream) => stream,
        Err(e) => match e.kind() {
            GetStreamErrorKind::JetStream(api) if api.error_code() == ErrorCode::STREAM_NOT_FOUND => {
                if !managed {
                    return Ok(None);
                }
                tracing::info!(stream = %name, replicas, "creating stream");
                return js
                    .create_stream(wanted)
                    .await
                    .map(Some)
                    .map_err(|e| classify(&format!("creating {what}"), replicas, create_code(e.kind()), e));
            }
            GetStreamErrorKind::JetStream(api) => return Err(classify(&what, replicas, Some(api.error_code()), e)),
            _ => return Err(classify(&what, replicas, None, e)),
        },
    };
    let mut config = stream.cached_info().config.clone();
    let missing: Vec<String> = wanted
        .subjects
        .iter()
        .filter(|s| !config.subjects.contains(s))
        .cloned()
        .collect();
    let other_replicas = config.num_replicas != replicas;
    if missing.is_empty() && !other_replicas {
        return Ok(Some(stream));
    }
    if !managed {
        tracing::warn!(
            stream = %name, has = config.num_replicas, wanted = replicas, ?missing,
            "stream differs from this service's settings; left as it is, since another service manages it"
        );
        return Ok(Some(stream));
    }
    if other_replicas {
        tracing::warn!(stream = %name, has = config.num_replicas, wanted = replicas, "stream has another replica count than STREAM_REPLICAS; updating it");
    }
    if !missing.is_empty() {
        tracing::info!(stream = %name, ?missing, "adding subjects to the stream");
    }
    config.subjects.extend(missing);
    config.num_replicas = replicas;
    js.update_stream(config)
        .await
        .map_err(|e| classify(&format!("updating {what}"), replicas, create_code(e.kind()), e))?;
    stream = js
        .get_stream(&name)
        .await
        .map_err(|e| classify(&what, replicas, None, e))?;
    Ok(Some(stream))
}

fn create_code(kind: CreateStreamErrorKind) -> Option<ErrorCode> {
    match kind {
        CreateStreamErrorKind::JetStream(api) => Some(api.error_code()),
        _ => None,
    }
}

/// The digest and notification streams: limits retention, with a duplicate window that
/// drops a message re-published under the same id after a crash.
fn kept_with_duplicate_window(name: &str, subjects: Vec<String>, replicas: usize) -> Config {
    Config {
        name: name.to_string(),
        subjects,
        retention: RetentionPolicy::Limits,
        storage: StorageType::File,
        max_age: DIGEST_MAX_AGE,
        duplicate_window: DIGEST_DUPLICATE_WINDOW,
        num_replicas: replicas,
        ..Default::default()
    }
}

/// The dead-letter stream: a month of rejects, the oldest dropped past 256 MiB.
fn dead_letter_config(name: &str, subjects: Vec<String>, replicas: usize) -> Config {
    Config {
        name: name.to_string(),
        subjects,
        retention: RetentionPolicy::Limits,
        storage: StorageType::File,
        max_age: DEAD_LETTER_MAX_AGE,
        max_bytes: 256 << 20,
        discard: DiscardPolicy::Old,
        duplicate_window: INPUT_DUPLICATE_WINDOW,
        num_replicas: replicas,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::failure::Chain;

    #[test]
    fn more_replicas_than_servers_is_a_misconfiguration_that_names_the_setting() {
        let error = classify(
            "creating stream ALARM_DIGESTS",
            3,
            Some(ErrorCode::STREAM_REPLICAS_NOT_SUPPORTED),
            Failure::from("replicas > 1 not supported in non-clustered mode"),
        );
        assert!(matches!(error, TopologyError::Misconfigured { .. }), "{error:?}");
        let text = Chain(&error).to_string();
        assert!(text.contains("STREAM_REPLICAS=3"), "{text}");
        assert!(text.contains("at least 3 servers"), "{text}");
        assert!(
            text.ends_with("replicas > 1 not supported in non-clustered mode"),
            "{text}"
        );
    }

    #[test]
    fn a_server_without_a_leader_is_unavailable_and_retried() {
        for code in [None, Some(ErrorCode::CLUSTER_NOT_AVAILABLE), Some(ErrorCode(10008))] {
            let error = classify("stream ALARM_DIGEST_INPUT", 3, code, Failure::from("timed out"));
            assert!(matches!(error, TopologyError::Unavailable { .. }), "{error:?}");
        }
    }

    #[test]
    fn every_stream_created_carries_the_configured_replicas() {
        assert_eq!(kept_with_duplicate_window("D", vec!["d".into()], 3).num_replicas, 3);
        assert_eq!(dead_letter_config("DL", vec!["dl".into()], 5).num_replicas, 5);
    }
}
