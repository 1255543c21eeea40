//! The digest use case on an in-memory SQLite store, a publisher that can fail or stall
//! on demand, and a controlled clock: the claim, prepare, publish, record sequence that
//! otherwise only the end-to-end suite reaches.

mod claims;
mod publishing;

use super::*;
use async_trait::async_trait;
use domain::ports::ManualClock;
use domain::ports::{AlarmRecord, Clock, StoreError};
use domain::ports::{DigestClaim, PreparedDigest, PublishError};
use domain::query::HistoryLimits;
use domain::query::{AckOutcome, AlarmFilter, Counts, HistoryEntry, Page, PageRequest};
use domain::schedule::DigestCause;
use domain::{AlarmEvent, AlarmId, ApplyOutcome, EventTime, UserId};
use domain::{AlarmMetadata, Digest, DigestId, DueAlarm, Status, Version};
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;
use store_sqlite::SqliteStore;
use tokio::sync::oneshot;

/// How long a claim lasts in these tests.
const TTL: Duration = Duration::from_secs(30);
/// How long a request waits for another holder's claim (on tokio's clock); short, so a
/// claim never given back fails a test fast.
const WAIT: Duration = Duration::from_secs(5);

/// What the publisher does with its next digest.
enum Step {
    /// Fails without publishing.
    Fail(PublishError),
    /// Tells the test the publish started, then answers what the test sends back.
    Stall {
        reached: oneshot::Sender<()>,
        answer: oneshot::Receiver<Result<(), PublishError>>,
    },
}

/// The test's end of a stalled publish.
struct Stalled {
    reached: oneshot::Receiver<()>,
    answer: oneshot::Sender<Result<(), PublishError>>,
}

impl Stalled {
    /// Waits until the publish is under way.
    async fn reached(&mut self) {
        (&mut self.reached).await.expect("the stalled publish was started");
    }

    /// Lets the publish answer: `Ok` means the broker has the digest.
    fn answer(self, answer: Result<(), PublishError>) {
        self.answer.send(answer).expect("the stalled publish is still waiting");
    }
}

/// Publishes into a list, following a script of steps; once the script is used up every
/// publish succeeds.
#[derive(Default)]
struct ScriptedPublisher {
    script: Mutex<VecDeque<Step>>,
    /// The id of every publish attempted, failed ones included.
    attempted: Mutex<Vec<DigestId>>,
    /// What the broker has: the id and alarms of every publish that succeeded.
    published: Mutex<Vec<(DigestId, Vec<DueAlarm>)>>,
    /// The cause each successful publish said, in the same order.
    causes: Mutex<Vec<DigestCause>>,
}

impl ScriptedPublisher {
    fn fail_next(&self, error: PublishError) {
        self.script.lock().unwrap().push_back(Step::Fail(error));
    }

    fn stall_next(&self) -> Stalled {
        let (reached_tx, reached) = oneshot::channel();
        let (answer, answer_rx) = oneshot::channel();
        self.script.lock().unwrap().push_back(Step::Stall {
            reached: reached_tx,
            answer: answer_rx,
        });
        Stalled { reached, answer }
    }

    fn attempted(&self) -> Vec<DigestId> {
        self.attempted.lock().unwrap().clone()
    }

    fn published(&self) -> Vec<(DigestId, Vec<DueAlarm>)> {
        self.published.lock().unwrap().clone()
    }

    fn causes(&self) -> Vec<DigestCause> {
        self.causes.lock().unwrap().clone()
    }
}

#[async_trait]
impl DigestPublisher for ScriptedPublisher {
    async fn publish(&self, digest: &Digest, id: &DigestId) -> Result<(), PublishError> {
        self.attempted.lock().unwrap().push(id.clone());
        let step = self.script.lock().unwrap().pop_front();
        let answer = match step {
            None => Ok(()),
            Some(Step::Fail(error)) => Err(error),
            Some(Step::Stall { reached, answer }) => {
                let _ = reached.send(());
                answer
                    .await
                    .unwrap_or_else(|_| Err(PublishError::NotConfirmed("the test went away".into())))
            }
        };
        if answer.is_ok() {
            self.published.lock().unwrap().push((id.clone(), digest.alarms.clone()));
            self.causes.lock().unwrap().push(digest.cause);
        }
        answer
    }
}

/// One user's digests on a fresh store, with its clock and publisher at hand.
struct Fixture {
    store: Arc<SqliteStore>,
    clock: Arc<ManualClock>,
    publisher: Arc<ScriptedPublisher>,
    digests: Digests,
    user: UserId,
}

impl Fixture {
    fn new() -> Self {
        Self::build(WAIT, |store, _| store.clone())
    }

    /// A fixture whose claim wait is `wait` and whose use cases see the store through
    /// `wrap` (the store itself, or a decorator of it).
    fn build(wait: Duration, wrap: impl FnOnce(&Arc<SqliteStore>, &Arc<ManualClock>) -> Arc<dyn AlarmStore>) -> Self {
        let store = Arc::new(SqliteStore::open_in_memory(HistoryLimits::default()).unwrap());
        let clock = Arc::new(ManualClock::at(EventTime::from_nanos(1_700_000_000_000_000_000)));
        let publisher = Arc::new(ScriptedPublisher::default());
        let digests = Digests::new(
            wrap(&store, &clock),
            publisher.clone(),
            clock.clone(),
            "test",
            ClaimSettings { ttl: TTL, wait },
        );
        Self {
            store,
            clock,
            publisher,
            digests,
            user: UserId::parse("u1").unwrap(),
        }
    }

    /// Stores a status change of one of the user's alarms, straight into the store.
    async fn change(&self, alarm: &str, changed_at_nanos: i64, status: Status) {
        let event = AlarmEvent {
            user_id: self.user.clone(),
            alarm_id: AlarmId::parse(alarm).unwrap(),
            version: Version {
                changed_at: EventTime::from_nanos(changed_at_nanos),
                status,
            },
            metadata: AlarmMetadata::default(),
        };
        let outcomes = self.store.apply(&[event]).await.unwrap();
        assert_eq!(outcomes, [ApplyOutcome::Applied]);
    }

    async fn due(&self) -> Vec<DueAlarm> {
        self.store.due_alarms(&self.user).await.unwrap()
    }

    /// Takes the user's claim directly on the store, as another replica would.
    async fn claim_as(&self, holder: &str) -> Option<DigestClaim> {
        self.store
            .claim_digest(&self.user, holder, self.clock.now(), TTL)
            .await
            .unwrap()
    }

    /// Moves the clock past the lifetime of every claim taken so far.
    fn lapse_claims(&self) {
        self.clock.advance(TTL + Duration::from_secs(1));
    }

    async fn send(&self, request: &str) -> Result<Option<DigestSent>, DigestError> {
        self.digests.send_digest(&self.user, Some(request)).await
    }

    /// Prepares the user's due alarms under `claim` for `request`, caused by `cause`, as a
    /// holder does before publishing.
    async fn prepare_due(&self, claim: &DigestClaim, request: &str, cause: DigestCause) -> PreparedDigest {
        let digest = Digest::new(self.user.clone(), self.due().await);
        let prepared = PreparedDigest {
            id: digest.id(claim.epoch).as_str().to_string(),
            alarms: digest.alarms,
            request: Some(request.to_string()),
            cause,
        };
        assert!(self.store.prepare_digest(claim, &prepared).await.unwrap());
        prepared
    }
}

fn due(alarm: &str, changed_at_nanos: i64, status: Status) -> DueAlarm {
    DueAlarm {
        alarm_id: AlarmId::parse(alarm).unwrap(),
        version: Version {
            changed_at: EventTime::from_nanos(changed_at_nanos),
            status,
        },
    }
}
