//! Consuming the input: the JetStream durable consumer shared by the replicas, or a core
//! NATS queue group; each message goes to the intake's dispatcher, and at shutdown the
//! lanes finish what they hold.

use super::receipt::Receipt;
use super::{Intake, Work};
use crate::streams::{Topology, TopologyError};
use async_nats::jetstream;
use async_nats::Client;
use domain::failure::Chain;
use futures::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// How long a pull request waits on the server, and the idle heartbeat that proves the
/// consumer's leader is still there: a pull whose leader moved is noticed after two
/// missed heartbeats and re-established.
const PULL_EXPIRES: Duration = Duration::from_secs(10);
const PULL_HEARTBEAT: Duration = Duration::from_secs(2);

/// Makes sure the streams and the shared consumer exist and starts pulling from it.
async fn pull_messages(
    js: &jetstream::Context,
    topology: &Topology,
    lane_capacity: usize,
) -> Result<jetstream::consumer::pull::Stream, TopologyError> {
    let consumer = crate::streams::ensure_input(js, topology).await?;
    // How many messages one pull asks for; independent of the store batch size, so a
    // small MAX_BATCH does not turn into one network round trip per message.
    let batch = lane_capacity.clamp(1, 1000);
    consumer
        .stream()
        .max_messages_per_batch(batch)
        .expires(PULL_EXPIRES)
        .heartbeat(PULL_HEARTBEAT)
        .messages()
        .await
        .map_err(|e| TopologyError::Unavailable {
            what: format!("pulling from consumer {}", topology.consumer),
            source: domain::failure::Failure::caused_by(e),
        })
}

/// Consumes the shared durable consumer until `stop`; re-creates the pull after a server
/// restart or a leader move. Ends with an error when the servers refuse the streams as
/// configured (retrying cannot help).
pub async fn run_jetstream(
    intake: Arc<Intake>,
    js: jetstream::Context,
    topology: Topology,
    stop: CancellationToken,
    grace: Duration,
) -> Result<(), TopologyError> {
    let lane_stop = CancellationToken::new();
    let (lanes, mut tasks) = intake.spawn_lanes(&lane_stop);
    let mut pause = Duration::from_millis(100);
    let mut outcome = Ok(());
    'connect: while !stop.is_cancelled() {
        let mut messages = match pull_messages(&js, &topology, intake.settings.capacity).await {
            Ok(m) => m,
            Err(e @ TopologyError::Misconfigured { .. }) => {
                tracing::error!(error = %Chain(&e), "the JetStream servers refuse the streams as configured; stopping");
                outcome = Err(e);
                break;
            }
            Err(e) => {
                tracing::warn!(error = %Chain(&e), "cannot pull from the input stream yet");
                if super::settle::pause_or_stop(&stop, next_pause(&mut pause)).await {
                    continue;
                } else {
                    break;
                }
            }
        };
        // Setting up the streams and the pull was JetStream answering.
        intake.health.set_jetstream(true);
        intake.health.set_intake(true);
        pause = Duration::from_millis(100);
        loop {
            let next = tokio::select! {
                _ = stop.cancelled() => break 'connect,
                next = messages.next() => next,
            };
            match next {
                Some(Ok(msg)) => {
                    let subject = msg.subject.to_string();
                    let payload = msg.payload.clone();
                    intake
                        .dispatch(&lanes, &subject, payload, Receipt::JetStream(Box::new(msg)))
                        .await;
                }
                Some(Err(e)) => {
                    tracing::warn!(error = %Chain(&e), "pulling from the consumer failed; re-creating it");
                    intake.health.set_intake(false);
                    continue 'connect;
                }
                None => continue 'connect,
            }
        }
    }
    intake.health.set_intake(false);
    finish_lanes(lanes, &mut tasks, lane_stop, grace).await;
    outcome
}

/// Consumes every input subject in a core NATS queue group until `stop`.
pub async fn run_core(
    intake: Arc<Intake>,
    client: Client,
    queue_group: String,
    stop: CancellationToken,
    grace: Duration,
) -> anyhow::Result<()> {
    let lane_stop = CancellationToken::new();
    let (lanes, mut tasks) = intake.spawn_lanes(&lane_stop);
    let subjects = intake.subjects.all();
    let mut subscriptions = Vec::with_capacity(subjects.len());
    for subject in subjects {
        subscriptions.push(client.queue_subscribe(subject, queue_group.clone()).await?);
    }
    client.flush().await?;
    intake.health.set_intake(true);
    let mut inbound = futures::stream::select_all(subscriptions);
    loop {
        let next = tokio::select! {
            _ = stop.cancelled() => break,
            next = inbound.next() => next,
        };
        let Some(msg) = next else { break };
        let receipt = Receipt::Core {
            client: client.clone(),
            reply: msg.reply.clone(),
        };
        intake
            .dispatch(&lanes, msg.subject.as_str(), msg.payload, receipt)
            .await;
    }
    intake.health.set_intake(false);
    finish_lanes(lanes, &mut tasks, lane_stop, grace).await;
    Ok(())
}

/// Lets every lane finish what it holds; after `grace`, a lane still retrying through an
/// outage gives its messages back instead.
async fn finish_lanes(
    lanes: Vec<mpsc::Sender<Work>>,
    tasks: &mut JoinSet<()>,
    lane_stop: CancellationToken,
    grace: Duration,
) {
    drop(lanes);
    let finished = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(grace, finished).await.is_err() {
        tracing::warn!("in-flight work did not finish in time; giving it back to the broker");
        lane_stop.cancel();
        while tasks.join_next().await.is_some() {}
    }
}

/// The pause before the next try to set up the pull: doubling from 100 ms up to 5 s.
fn next_pause(pause: &mut Duration) -> Duration {
    let now = *pause;
    *pause = (*pause * 2).min(Duration::from_secs(5));
    now
}
