//! Intake: pulls messages (JetStream consumer or core queue group), routes each user to one
//! lane, applies events in batches and answers digest requests; settles only after commit.
//! Pager inputs ride the same lanes, keyed by service ([`pager`]).

mod acknowledgements;
mod pager;
pub mod pager_wire;
pub mod receipt;
pub mod wire;
#[cfg(test)]
mod wire_properties;

pub use acknowledgements::ACKNOWLEDGEMENT_DELIVERIES;
pub use pager::{PagerIntake, PagerSubjects};

use super::outbound::dead_letters::DeadLetters;
use super::streams::{InputTopology, TopologyError};
use crate::domain::ports::StoreError;
use crate::domain::{AlarmEvent, UserId};
use crate::health::Health;
use crate::metrics::Metrics;
use crate::service::AlarmService;
use async_nats::jetstream;
use async_nats::Client;
use bytes::Bytes;
use futures::StreamExt;
use pager_wire::PagerInput;
use receipt::Receipt;
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use wire::{parse_acknowledgement, parse_digest_request, parse_status_changed, Acknowledgement, WireError};

/// The subjects intake understands.
#[derive(Debug, Clone)]
pub struct Subjects {
    /// AlarmStatusChanged.
    pub alarm_status: String,
    /// SendAlarmDigest.
    pub digest_request: String,
    /// AlarmAcknowledged.
    pub acknowledgement: String,
}

impl Subjects {
    /// Every input subject.
    pub fn all(&self) -> Vec<String> {
        vec![
            self.alarm_status.clone(),
            self.digest_request.clone(),
            self.acknowledgement.clone(),
        ]
    }
}

/// Tuning of the lanes.
#[derive(Debug, Clone, Copy)]
pub struct LaneSettings {
    /// Number of lanes.
    pub lanes: usize,
    /// Queued messages per lane.
    pub capacity: usize,
    /// Events per store call.
    pub max_batch: usize,
    /// Largest payload accepted.
    pub max_payload: usize,
    /// Longest one store-backed step may take before it is abandoned and retried.
    pub store_timeout: Duration,
}

enum Work {
    /// An event, with when it was received (for the receipt-to-commit latency).
    Event(AlarmEvent, Receipt, Instant),
    Digest(UserId, Receipt),
    Pager(PagerInput, Receipt),
    Acknowledgement(Acknowledgement, Receipt),
}

/// Shared by the dispatcher and the lanes.
pub struct Intake {
    service: Arc<AlarmService>,
    dead_letters: DeadLetters,
    health: Arc<Health>,
    metrics: Arc<Metrics>,
    subjects: Subjects,
    settings: LaneSettings,
    hasher: RandomState,
    pager: Option<PagerIntake>,
}

impl Intake {
    /// Builds the intake around the service, and the pager when given.
    pub fn new(
        service: Arc<AlarmService>,
        dead_letters: DeadLetters,
        health: Arc<Health>,
        metrics: Arc<Metrics>,
        subjects: Subjects,
        settings: LaneSettings,
        pager: Option<PagerIntake>,
    ) -> Arc<Self> {
        Arc::new(Self {
            service,
            dead_letters,
            health,
            metrics,
            subjects,
            settings,
            hasher: RandomState::new(),
            pager,
        })
    }

    fn spawn_lanes(self: &Arc<Self>, stop: &CancellationToken) -> (Vec<mpsc::Sender<Work>>, JoinSet<()>) {
        let mut senders = Vec::with_capacity(self.settings.lanes);
        let mut tasks = JoinSet::new();
        for _ in 0..self.settings.lanes.max(1) {
            let (tx, rx) = mpsc::channel(self.settings.capacity.max(1));
            senders.push(tx);
            tasks.spawn(Arc::clone(self).run_lane(rx, stop.clone()));
        }
        (senders, tasks)
    }

    fn lane_of(&self, key: &impl std::hash::Hash, lanes: usize) -> usize {
        (self.hasher.hash_one(key) % lanes as u64) as usize
    }

    /// Parses and routes one message; rejects go to the dead-letter subject.
    async fn dispatch(&self, lanes: &[mpsc::Sender<Work>], subject: &str, payload: Bytes, receipt: Receipt) {
        let received = Instant::now();
        if receipt.deliveries() > 1 {
            self.metrics.count_redelivery();
        }
        if let Some(parsed) = self.parse_pager(subject, &payload) {
            return match parsed {
                Ok(input) => {
                    let lane = &lanes[self.lane_of(input.service_id(), lanes.len())];
                    let _ = lane.send(Work::Pager(input, receipt)).await;
                }
                Err(e) => self.reject(subject, payload, &e.to_string(), receipt).await,
            };
        }
        let max = self.settings.max_payload;
        let parsed = if subject == self.subjects.alarm_status {
            parse_status_changed(&payload, max).map(Parsed::Event)
        } else if subject == self.subjects.digest_request {
            parse_digest_request(&payload, max).map(Parsed::Digest)
        } else if subject == self.subjects.acknowledgement {
            parse_acknowledgement(&payload, max).map(Parsed::Acknowledgement)
        } else {
            Err(WireError::Field {
                field: "subject",
                reason: format!("{subject} is not an input subject"),
            })
        };
        let (user, work) = match parsed {
            Ok(Parsed::Event(ev)) => (ev.user_id.clone(), Work::Event(ev, receipt, received)),
            Ok(Parsed::Digest(user)) => (user.clone(), Work::Digest(user, receipt)),
            Ok(Parsed::Acknowledgement(ack)) => (ack.user_id.clone(), Work::Acknowledgement(ack, receipt)),
            Err(e) => return self.reject(subject, payload, &e.to_string(), receipt).await,
        };
        let lane = &lanes[self.lane_of(&user, lanes.len())];
        // Waiting here when the lane is full is the backpressure: nothing more is pulled.
        let _ = lane.send(work).await;
    }

    /// Dead-letters a message and terminates it; when the dead letter is not confirmed
    /// (no stream leader), hands the message back to be rejected again later instead of
    /// losing it.
    async fn reject(&self, subject: &str, payload: Bytes, reason: &str, receipt: Receipt) {
        let bytes = payload.len();
        let stored = self
            .dead_letters
            .publish(subject, payload, reason, receipt.dedup_id())
            .await;
        if !stored && receipt.retry_later(DEAD_LETTER_RETRY).await {
            tracing::warn!(
                subject,
                reason,
                "an input message is invalid but its dead letter was not confirmed; handed back"
            );
            return;
        }
        tracing::warn!(subject, reason, bytes, "rejected an input message");
        self.metrics.count_message(subject, "invalid");
        self.metrics.count_message(subject, "dead_lettered");
        receipt.reject(reason).await;
    }

    async fn run_lane(self: Arc<Self>, mut rx: mpsc::Receiver<Work>, stop: CancellationToken) {
        let mut batch = Vec::with_capacity(self.settings.max_batch);
        while let Some(first) = rx.recv().await {
            batch.push(first);
            while batch.len() < self.settings.max_batch {
                match rx.try_recv() {
                    Ok(work) => batch.push(work),
                    Err(_) => break,
                }
            }
            let mut events = Vec::new();
            for work in batch.drain(..) {
                match work {
                    Work::Event(ev, receipt, received) => events.push((ev, (receipt, received))),
                    Work::Digest(user, receipt) => {
                        self.apply(std::mem::take(&mut events), &stop).await;
                        self.digest(user, receipt, &stop).await;
                    }
                    Work::Pager(input, receipt) => {
                        self.apply(std::mem::take(&mut events), &stop).await;
                        self.page(input, receipt, &stop).await;
                    }
                    Work::Acknowledgement(ack, receipt) => {
                        self.apply(std::mem::take(&mut events), &stop).await;
                        self.acknowledge(ack, receipt, &stop).await;
                    }
                }
            }
            self.apply(events, &stop).await;
        }
    }

    /// Commits a batch, then acks it; on a store outage holds the batch and retries with
    /// backoff (acking nothing) until the store is back or the service stops.
    async fn apply(&self, batch: Vec<(AlarmEvent, (Receipt, Instant))>, stop: &CancellationToken) {
        if batch.is_empty() {
            return;
        }
        let (events, received): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
        let (receipts, received): (Vec<_>, Vec<_>) = received.into_iter().unzip();
        let mut pause = Duration::from_millis(50);
        loop {
            let started = std::time::Instant::now();
            let applied = tokio::time::timeout(self.settings.store_timeout, self.service.apply(&events)).await;
            let applied = applied.unwrap_or_else(|_| {
                Err(StoreError::Unavailable(format!(
                    "apply of {} events timed out",
                    events.len()
                )))
            });
            match applied {
                Ok(outcomes) => {
                    self.health.store_ok();
                    self.page_on_critical(&events, &outcomes, stop).await;
                    self.metrics.observe_commit(started.elapsed(), events.len());
                    for at in &received {
                        self.metrics.observe_event_commit(at.elapsed());
                    }
                    for (receipt, outcome) in receipts.iter().zip(outcomes) {
                        receipt.ack(outcome.as_str()).await;
                        self.metrics
                            .count_message(&self.subjects.alarm_status, outcome.as_str());
                    }
                    return;
                }
                Err(e) if e.is_transient() => {
                    tracing::warn!(error = %e, events = events.len(), "events not committed yet; retrying");
                    self.health.store_failed(&e);
                    for receipt in &receipts {
                        receipt.in_progress().await;
                    }
                    if !pause_or_stop(stop, &mut pause).await {
                        for receipt in &receipts {
                            receipt.give_back().await;
                        }
                        return;
                    }
                }
                Err(e) => {
                    for (ev, receipt) in events.iter().zip(receipts) {
                        let payload = Bytes::from(format!(
                            "{{\"UserID\":{:?},\"AlarmID\":{:?}}}",
                            ev.user_id.as_str(),
                            ev.alarm_id.as_str()
                        ));
                        self.reject(
                            &self.subjects.alarm_status,
                            payload,
                            &format!("store rejected the event: {e}"),
                            receipt,
                        )
                        .await;
                    }
                    return;
                }
            }
        }
    }

    async fn digest(&self, user: UserId, receipt: Receipt, stop: &CancellationToken) {
        let mut pause = Duration::from_millis(50);
        loop {
            let started = std::time::Instant::now();
            let request = receipt.request_id();
            let sent = tokio::time::timeout(
                self.settings.store_timeout,
                self.service.send_digest(&user, request.as_deref()),
            )
            .await;
            let sent = sent.unwrap_or_else(|_| Err(StoreError::Unavailable("digest timed out".into()).into()));
            match sent {
                Ok(None) => {
                    tracing::info!(user = %user, "digest request was already answered; acknowledging the redelivery");
                    receipt.ack("already_answered").await;
                    self.metrics
                        .count_message(&self.subjects.digest_request, "already_answered");
                    return;
                }
                Ok(Some(sent)) => {
                    self.health.store_ok();
                    self.metrics
                        .observe_digest(started.elapsed(), sent.digest.alarms.len(), sent.claim_wait);
                    tracing::debug!(user = %user, digest = %sent.id, alarms = sent.digest.alarms.len(), "digest sent");
                    receipt.ack("digest_sent").await;
                    self.metrics.count_message(&self.subjects.digest_request, "digest_sent");
                    return;
                }
                Err(e) if e.is_transient() => {
                    tracing::warn!(user = %user, error = %e, "digest not sent yet; retrying");
                    receipt.in_progress().await;
                    if !pause_or_stop(stop, &mut pause).await {
                        receipt.give_back().await;
                        return;
                    }
                }
                Err(e) => {
                    let payload = Bytes::from(format!("{{\"UserID\":{:?}}}", user.as_str()));
                    self.reject(&self.subjects.digest_request, payload, &e.to_string(), receipt)
                        .await;
                    return;
                }
            }
        }
    }
}

/// How long a rejected message whose dead letter could not be stored waits before it is
/// redelivered and rejected again.
const DEAD_LETTER_RETRY: Duration = Duration::from_secs(5);

/// The parsed content of an input message.
enum Parsed {
    Event(AlarmEvent),
    Digest(UserId),
    Acknowledgement(Acknowledgement),
}

/// Waits `pause` (doubling it up to 5 s) unless asked to stop; false when stopping.
async fn pause_or_stop(stop: &CancellationToken, pause: &mut Duration) -> bool {
    let wait = *pause;
    *pause = (*pause * 2).min(Duration::from_secs(5));
    tokio::select! {
        _ = stop.cancelled() => false,
        _ = tokio::time::sleep(wait) => true,
    }
}

/// How long a pull request waits on the server, and the idle heartbeat that proves the
/// consumer's leader is still there: a pull whose leader moved is noticed after two
/// missed heartbeats and re-established.
const PULL_EXPIRES: Duration = Duration::from_secs(10);
const PULL_HEARTBEAT: Duration = Duration::from_secs(2);

/// Makes sure the streams and the shared consumer exist and starts pulling from it.
async fn pull_messages(
    js: &jetstream::Context,
    topology: &InputTopology,
    lane_capacity: usize,
) -> Result<jetstream::consumer::pull::Stream, TopologyError> {
    let consumer = super::streams::ensure_input(js, topology).await?;
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
        .map_err(|e| TopologyError::Unavailable(format!("pulling from consumer {}: {e}", topology.consumer)))
}

/// Consumes the shared durable consumer until `stop`; re-creates the pull after a server
/// restart or a leader move. Ends with an error when the servers refuse the streams as
/// configured (retrying cannot help).
pub async fn run_jetstream(
    intake: Arc<Intake>,
    js: jetstream::Context,
    topology: InputTopology,
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
            Err(e @ TopologyError::Misconfigured(_)) => {
                tracing::error!(error = %e, "the JetStream servers refuse the streams as configured; stopping");
                outcome = Err(e);
                break;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot pull from the input stream yet");
                if pause_or_stop(&stop, &mut pause).await {
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
                    tracing::warn!(error = %e, "pulling from the consumer failed; re-creating it");
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
    let mut subjects = intake.subjects.all();
    if let Some(pager) = &intake.pager {
        subjects.extend(pager.subjects.all());
    }
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
