//! The user's claim: waited for while another holder has it, and fencing every write of
//! a holder that outlived it.

use super::*;
use domain::ports::{AlarmActivityStore, SentDigest};
use domain::query::AlarmActivity;
use std::sync::atomic::{AtomicBool, Ordering};

#[tokio::test(start_paused = true)]
async fn a_busy_claim_is_waited_for_and_the_digest_is_sent_once_the_other_holder_releases_it() {
    let f = Fixture::new();
    f.change("disk", 1_000, Status::Critical).await;
    let other = f.claim_as("other").await.expect("the claim is free");

    let (sent, ()) = tokio::join!(f.send("r1"), async {
        // Paused time: the waiter's pauses pass instantly, the other holder stays put.
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(
            f.publisher.attempted().is_empty(),
            "nothing built under another's claim"
        );
        assert!(f.store.release_digest(&other).await.unwrap());
    });

    let sent = sent.unwrap().expect("answered once the claim was free");
    assert_eq!(sent.digest.alarms, [due("disk", 1_000, Status::Critical)]);
    assert_eq!(f.publisher.published(), [(sent.id, sent.digest.alarms)]);
    assert!(f.due().await.is_empty());
}

/// The wait bound is measured on `std::time::Instant`, which tokio's paused time does not
/// move, so this one runs on a short real bound.
#[tokio::test]
async fn a_claim_held_past_the_wait_bound_gives_the_request_back_as_claim_busy() {
    let f = Fixture::build(Duration::from_millis(100), |store, _| store.clone());
    f.change("disk", 1_000, Status::Critical).await;
    let other = f.claim_as("other").await.expect("the claim is free");

    let busy = tokio::time::timeout(Duration::from_secs(10), f.send("r1"))
        .await
        .expect("gives up once the bound passed")
        .unwrap_err();
    assert!(
        matches!(&busy, DigestError::ClaimBusy(user) if *user == f.user),
        "{busy}"
    );
    assert!(busy.is_transient(), "the request is retried later");
    assert!(f.publisher.attempted().is_empty());
    assert_eq!(f.due().await.len(), 1);
    assert!(f.claim_as("third").await.is_none(), "the other holder still has it");
    assert!(f.store.release_digest(&other).await.unwrap());

    let sent = f.send("r1").await.unwrap();
    assert!(sent.is_some(), "the request given back was not answered");
}

/// Stalls the stale holder's publish, lets its claim lapse and has `other` take it over.
async fn publish_outliving_its_claim(f: &Fixture, finish_as_other: bool) -> (DigestError, DigestClaim) {
    let mut stalled = f.publisher.stall_next();
    let (lost, other) = tokio::join!(f.send("r1"), async {
        stalled.reached().await;
        f.lapse_claims();
        let mut other = f.claim_as("other").await.expect("the lapsed claim is taken over");
        let left = other.pending.clone().expect("the digest being published is prepared");
        assert_eq!(left.id, f.publisher.attempted()[0].as_str());
        assert_eq!(left.request.as_deref(), Some("r1"));
        if finish_as_other {
            assert!(f.store.record_delivery(&other, &left).await.unwrap());
            other.epoch += 1;
        }
        stalled.answer(Ok(()));
        other
    });
    (lost.unwrap_err(), other)
}

#[tokio::test]
async fn a_claim_lost_during_publish_refuses_the_record_and_the_retry_finishes_the_same_digest_once() {
    let f = Fixture::new();
    f.change("disk", 1_000, Status::Critical).await;

    let (lost, other) = publish_outliving_its_claim(&f, false).await;
    let first = f.publisher.attempted()[0].clone();
    assert!(
        matches!(&lost, DigestError::ClaimLostAfterPublish { user, digest } if *user == f.user && *digest == first),
        "{lost}"
    );
    assert!(lost.is_transient(), "the request is not acked but retried");
    assert_eq!(f.due().await.len(), 1, "nothing was recorded");
    assert!(
        f.claim_as("third").await.is_none(),
        "the stale holder did not give back the other's claim"
    );
    assert!(f.store.release_digest(&other).await.unwrap());
    let after = f.claim_as("inspector").await.unwrap();
    assert_eq!(
        (after.epoch, &after.pending, &after.answered),
        (other.epoch, &other.pending, &other.answered),
        "the refused record changed nothing the other holder found"
    );
    assert!(f.store.release_digest(&after).await.unwrap());

    let sent = f.send("r1").await.unwrap().expect("the retry answers");
    assert_eq!(sent.id, first, "finished under the id it was published under");
    let alarms = vec![due("disk", 1_000, Status::Critical)];
    assert_eq!(sent.digest.alarms, alarms);
    assert_eq!(
        f.publisher.published(),
        [(first.clone(), alarms.clone()), (first.clone(), alarms)],
        "re-published under the same id only"
    );
    assert!(f.due().await.is_empty());
    assert!(f.send("r1").await.unwrap().is_none(), "answered once");
    assert_eq!(f.publisher.attempted(), [first.clone(), first]);
}

#[tokio::test]
async fn a_claim_lost_during_publish_is_answered_by_the_next_holder_and_the_retry_publishes_nothing() {
    let f = Fixture::new();
    f.change("disk", 1_000, Status::Critical).await;

    let (lost, other) = publish_outliving_its_claim(&f, true).await;
    assert!(matches!(lost, DigestError::ClaimLostAfterPublish { .. }), "{lost}");
    assert!(f.due().await.is_empty(), "the next holder recorded it");
    assert!(
        f.claim_as("third").await.is_none(),
        "the stale holder did not give back the other's claim"
    );
    assert!(f.store.release_digest(&other).await.unwrap());
    let after = f.claim_as("inspector").await.unwrap();
    assert_eq!(after.epoch, other.epoch, "counted once, by the next holder");
    assert_eq!(after.answered, ["r1"]);
    assert!(f.store.release_digest(&after).await.unwrap());

    assert!(f.send("r1").await.unwrap().is_none(), "answered once");
    assert_eq!(f.publisher.attempted().len(), 1, "the retry published nothing");
}

#[tokio::test]
async fn a_claim_that_lapsed_during_publish_but_was_not_taken_over_still_records_its_digest() {
    let f = Fixture::new();
    f.change("disk", 1_000, Status::Critical).await;
    let mut stalled = f.publisher.stall_next();

    let (sent, ()) = tokio::join!(f.send("r1"), async {
        stalled.reached().await;
        f.lapse_claims();
        stalled.answer(Ok(()));
    });

    let sent = sent
        .unwrap()
        .expect("nobody built on a newer claim, so the record lands");
    assert_eq!(f.publisher.published(), [(sent.id, sent.digest.alarms)]);
    assert!(f.due().await.is_empty());
}

/// The embedded store, except that the first digest prepared through it finds its claim
/// lapsed and taken over by `other`: what a holder stalled between claiming and preparing
/// (a pause, a slow read of the due alarms) meets.
struct TakenOverBeforePrepare {
    store: Arc<SqliteStore>,
    clock: Arc<ManualClock>,
    armed: AtomicBool,
    other: Mutex<Option<DigestClaim>>,
}

#[async_trait]
impl AlarmActivityStore for TakenOverBeforePrepare {
    async fn activity(&self, filter: &AlarmFilter) -> Result<Vec<AlarmActivity>, StoreError> {
        self.store.activity(filter).await
    }
}

#[async_trait]
impl AlarmStore for TakenOverBeforePrepare {
    async fn apply(&self, events: &[AlarmEvent]) -> Result<Vec<ApplyOutcome>, StoreError> {
        self.store.apply(events).await
    }
    async fn due_alarms(&self, user: &UserId) -> Result<Vec<DueAlarm>, StoreError> {
        self.store.due_alarms(user).await
    }
    async fn prepare_digest(&self, claim: &DigestClaim, digest: &PreparedDigest) -> Result<bool, StoreError> {
        if self.armed.swap(false, Ordering::SeqCst) {
            self.clock.advance(TTL + Duration::from_secs(1));
            let other = self
                .store
                .claim_digest(&claim.user_id, "other", self.clock.now(), TTL)
                .await?;
            *self.other.lock().unwrap() = Some(other.expect("the lapsed claim is taken over"));
        }
        self.store.prepare_digest(claim, digest).await
    }
    async fn abandon_digest(&self, claim: &DigestClaim) -> Result<bool, StoreError> {
        self.store.abandon_digest(claim).await
    }
    async fn record_delivery(&self, claim: &DigestClaim, digest: &PreparedDigest) -> Result<bool, StoreError> {
        self.store.record_delivery(claim, digest).await
    }
    async fn sent_digests(&self, user: &UserId) -> Result<Vec<SentDigest>, StoreError> {
        self.store.sent_digests(user).await
    }
    async fn claim_digest(
        &self,
        user: &UserId,
        holder: &str,
        now: EventTime,
        ttl: Duration,
    ) -> Result<Option<DigestClaim>, StoreError> {
        self.store.claim_digest(user, holder, now, ttl).await
    }
    async fn release_digest(&self, claim: &DigestClaim) -> Result<bool, StoreError> {
        self.store.release_digest(claim).await
    }
    async fn alarm(&self, user: &UserId, alarm: &AlarmId) -> Result<Option<AlarmRecord>, StoreError> {
        self.store.alarm(user, alarm).await
    }
    async fn list_alarms(&self, filter: &AlarmFilter, page: &PageRequest) -> Result<Page<AlarmRecord>, StoreError> {
        self.store.list_alarms(filter, page).await
    }
    async fn history(&self, user: &UserId, alarm: &AlarmId) -> Result<Vec<HistoryEntry>, StoreError> {
        self.store.history(user, alarm).await
    }
    async fn acknowledge(&self, user: &UserId, alarm: &AlarmId, at: EventTime) -> Result<AckOutcome, StoreError> {
        self.store.acknowledge(user, alarm, at).await
    }
    async fn counts(&self) -> Result<Counts, StoreError> {
        self.store.counts().await
    }
    async fn trim_history(&self) -> Result<u64, StoreError> {
        self.store.trim_history().await
    }
    async fn sweep(&self, sweep: &domain::retention::Sweep) -> Result<domain::retention::Swept, StoreError> {
        self.store.sweep(sweep).await
    }
    async fn ping(&self) -> Result<(), StoreError> {
        self.store.ping().await
    }
}

#[tokio::test]
async fn a_holder_whose_claim_lapsed_before_prepare_gets_claim_lost_and_publishes_nothing() {
    let mut takeover = None;
    let f = Fixture::build(WAIT, |store, clock| {
        let store = Arc::new(TakenOverBeforePrepare {
            store: store.clone(),
            clock: clock.clone(),
            armed: AtomicBool::new(true),
            other: Mutex::default(),
        });
        takeover = Some(store.clone());
        store
    });
    let takeover = takeover.unwrap();
    f.change("disk", 1_000, Status::Critical).await;

    let lost = f.send("r1").await.unwrap_err();
    assert!(
        matches!(&lost, DigestError::ClaimLost(user) if *user == f.user),
        "{lost}"
    );
    assert!(lost.is_transient(), "the request is retried");
    assert!(f.publisher.attempted().is_empty(), "nothing published");
    assert_eq!(f.due().await.len(), 1);
    let other = takeover.other.lock().unwrap().take().unwrap();
    assert!(
        f.claim_as("third").await.is_none(),
        "the stale holder did not give back the other's claim"
    );
    assert!(f.store.release_digest(&other).await.unwrap());
    let after = f.claim_as("inspector").await.unwrap();
    assert_eq!(
        (after.epoch, &after.pending),
        (other.epoch, &None),
        "the refused prepare wrote nothing"
    );
    assert!(f.store.release_digest(&after).await.unwrap());

    let sent = f.send("r1").await.unwrap().expect("the retry answers");
    assert_eq!(f.publisher.published(), [(sent.id, sent.digest.alarms)]);
}

#[tokio::test]
async fn an_empty_digest_whose_record_is_refused_answers_its_request_once() {
    let f = Fixture::new();
    // Nothing is due: r1's digest is empty. Its holder outlives its claim while publishing.
    let mut stalled = f.publisher.stall_next();
    let (lost, sent) = tokio::join!(f.send("r1"), async {
        stalled.reached().await;
        f.lapse_claims();
        // Meanwhile an alarm turns due and another replica answers r2 under the claim.
        f.change("disk", 1_000, Status::Critical).await;
        let sent = f.send("r2").await;
        stalled.answer(Ok(()));
        sent
    });
    assert!(lost.unwrap_err().is_transient(), "the record was refused");
    let r2 = sent.unwrap().expect("r2 is answered");
    assert_eq!(r2.digest.alarms, [due("disk", 1_000, Status::Critical)]);

    assert!(
        f.send("r1").await.unwrap().is_none(),
        "r1's empty digest is in the broker: its retry is answered by it, not by a second one"
    );
    let ids: Vec<DigestId> = f.publisher.published().into_iter().map(|(id, _)| id).collect();
    let r1 = f.publisher.attempted()[0].clone();
    assert_eq!(
        ids,
        [r1.clone(), r2.id, r1],
        "r2's holder finished r1's empty digest under its id, then sent r2's; the stalled copy came last"
    );
}
