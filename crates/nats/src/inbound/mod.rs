//! Intake: pulls messages (JetStream consumer or core queue group, [`consume`]), parses
//! each, routes each user to one lane, calls the use case in batches and settles only
//! after commit ([`settle`]). Pager inputs ride the same lanes, keyed by service ([`pager`]).

mod acknowledgements;
mod consume;
mod inputs;
mod pager;
pub mod pager_wire;
pub mod receipt;
mod settle;

pub use acknowledgements::ACKNOWLEDGEMENT_DELIVERIES;
pub use consume::{run_core, run_jetstream};
pub use inputs::{InputKind, Subjects};

use super::outbound::dead_letter_publisher::DeadLetterPublisher;
use crate::observer::BusObserver;
use bytes::Bytes;
use domain::failure::Chain;
use domain::{AlarmEvent, UserId};
use pager_wire::PagerInput;
use receipt::Receipt;
use settle::Settlement;
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use usecases::alarms::{AlarmUpdates, EventOutcome};
use usecases::digests::Digests;
use usecases::health::Health;
use usecases::pager::PagerService;
use wire::{Acknowledgement, WireError};

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

/// What a message said, parsed.
#[derive(Debug)]
enum Input {
    Event(AlarmEvent),
    Digest(UserId),
    Pager(PagerInput),
    Acknowledgement(Acknowledgement),
}

/// A parsed message on its lane, with what settling it needs: its receipt and its
/// original payload (a dead letter carries it unchanged).
struct Work {
    input: Input,
    receipt: Receipt,
    payload: Bytes,
    /// When it was received, for the receipt-to-commit latency.
    received: Instant,
}

/// The use cases intake calls, one per kind of input.
#[derive(Clone)]
pub struct IntakeCases {
    /// Status changes and acknowledgements.
    pub updates: Arc<AlarmUpdates>,
    /// Digest requests.
    pub digests: Arc<Digests>,
    /// Pager alerts, acknowledgements and recoveries.
    pub pager: Arc<PagerService>,
}

/// Shared by the dispatcher and the lanes.
pub struct Intake {
    updates: Arc<AlarmUpdates>,
    digests: Arc<Digests>,
    pager: Arc<PagerService>,
    dead_letters: DeadLetterPublisher,
    health: Arc<Health>,
    observer: Arc<dyn BusObserver>,
    subjects: Subjects,
    settings: LaneSettings,
    hasher: RandomState,
}

impl Intake {
    /// Builds the intake around the use cases, reading `subjects`; what it settles is
    /// told to `observer`, refused input goes to `dead_letters`.
    pub fn new(
        cases: IntakeCases,
        subjects: Subjects,
        settings: LaneSettings,
        dead_letters: DeadLetterPublisher,
        health: Arc<Health>,
        observer: Arc<dyn BusObserver>,
    ) -> Arc<Self> {
        Arc::new(Self {
            updates: cases.updates,
            digests: cases.digests,
            pager: cases.pager,
            dead_letters,
            health,
            observer,
            subjects,
            settings,
            hasher: RandomState::new(),
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

    /// What `payload` on `subject` says, or why it is rejected.
    fn parse(&self, subject: &str, payload: &[u8]) -> Result<Input, WireError> {
        match self.subjects.kind_of(subject) {
            Some(kind) => kind.parse(payload, self.settings.max_payload),
            None => Err(WireError::Field {
                field: "subject",
                reason: format!("{subject} is not an input subject"),
            }),
        }
    }

    /// Parses and routes one message to the lane of its user (or service); rejects go
    /// to the dead-letter subject.
    async fn dispatch(&self, lanes: &[mpsc::Sender<Work>], subject: &str, payload: Bytes, receipt: Receipt) {
        let received = Instant::now();
        if receipt.deliveries() > 1 {
            self.observer.redelivered();
        }
        let input = match self.parse(subject, &payload) {
            Ok(input) => input,
            Err(e) => return self.reject(subject, payload, &e.to_string(), receipt).await,
        };
        let lane = match &input {
            Input::Event(ev) => self.lane_of(&ev.user_id, lanes.len()),
            Input::Digest(user) => self.lane_of(user, lanes.len()),
            Input::Acknowledgement(ack) => self.lane_of(&ack.user_id, lanes.len()),
            Input::Pager(input) => self.lane_of(input.service_id(), lanes.len()),
        };
        let work = Work {
            input,
            receipt,
            payload,
            received,
        };
        // Waiting here when the lane is full is the backpressure: nothing more is pulled.
        let _ = lanes[lane].send(work).await;
    }

    /// Takes what is queued (up to `MAX_BATCH`), applies runs of events in one call each,
    /// and handles the other inputs between them, in arrival order.
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
                if matches!(work.input, Input::Event(_)) {
                    events.push(work);
                    continue;
                }
                self.apply(std::mem::take(&mut events), &stop).await;
                let Work {
                    input,
                    receipt,
                    payload,
                    ..
                } = work;
                match input {
                    Input::Digest(user) => self.digest(user, receipt, payload, &stop).await,
                    Input::Pager(input) => self.page(input, receipt, payload, &stop).await,
                    Input::Acknowledgement(ack) => self.acknowledge(ack, receipt, payload, &stop).await,
                    Input::Event(_) => unreachable!("events are batched above"),
                }
            }
            self.apply(events, &stop).await;
        }
    }

    /// Commits a batch of events in one call, then acks each with its outcome; through a
    /// store outage it holds the batch and acks nothing.
    async fn apply(&self, batch: Vec<Work>, stop: &CancellationToken) {
        if batch.is_empty() {
            return;
        }
        // The events move out of their work items; what settles each stays behind.
        let (events, held): (Vec<AlarmEvent>, Vec<(Receipt, Bytes, Instant)>) = batch
            .into_iter()
            .map(|w| match w.input {
                Input::Event(ev) => (ev, (w.receipt, w.payload, w.received)),
                _ => unreachable!("only events are batched"),
            })
            .unzip();
        let receipts: Vec<&Receipt> = held.iter().map(|(receipt, _, _)| receipt).collect();
        let answer = self
            .until_answered("applying events", &receipts, stop, || self.updates.apply(&events))
            .await;
        let Some(answer) = answer else { return };
        let subject = self.subjects.of(InputKind::AlarmStatusChanged);
        match answer {
            Ok(applied) => {
                for ((receipt, payload, received), outcome) in held.into_iter().zip(applied.outcomes) {
                    let settlement = match outcome {
                        EventOutcome::Stored(outcome) => {
                            self.observer.event_committed(received.elapsed());
                            Settlement::Ack(outcome.as_str())
                        }
                        EventOutcome::Refused(reason) => Settlement::Reject(reason),
                    };
                    self.settle(subject, receipt, payload, settlement).await;
                }
            }
            Err(e) => {
                let reason = format!("store rejected the event: {}", Chain(&e));
                for (receipt, payload, _) in held {
                    self.settle(subject, receipt, payload, Settlement::Reject(reason.clone()))
                        .await;
                }
            }
        }
    }

    /// Answers one digest request (once, even when it is redelivered).
    async fn digest(&self, user: UserId, receipt: Receipt, payload: Bytes, stop: &CancellationToken) {
        let request = receipt.request_id();
        let answer = self
            .until_answered("the digest", &[&receipt], stop, || {
                self.digests.send_digest(&user, request.as_deref())
            })
            .await;
        let Some(answer) = answer else { return };
        let settlement = match answer {
            Ok(None) => {
                tracing::info!(user = %user, "digest request was already answered; acknowledging the redelivery");
                Settlement::Ack("already_answered")
            }
            Ok(Some(sent)) => {
                tracing::debug!(user = %user, digest = %sent.id, alarms = sent.digest.alarms.len(), "digest sent");
                Settlement::Ack("digest_sent")
            }
            Err(e) => Settlement::Reject(Chain(&e).to_string()),
        };
        self.settle(
            self.subjects.of(InputKind::SendAlarmDigest),
            receipt,
            payload,
            settlement,
        )
        .await;
    }
}
