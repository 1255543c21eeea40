//! Publishing and recording: a leftover prepared digest finished first, failed publishes
//! that record nothing, and every request answered once.

use super::*;

#[tokio::test]
async fn a_scheduled_digest_left_by_a_dead_holder_is_finished_as_scheduled_for_its_occurrence() {
    let f = Fixture::new();
    f.change("disk", 1_000, Status::Warning).await;
    let occurrence = EventTime::from_nanos(1_700_000_000_000_000_000);
    let scheduled = DigestCause::Scheduled { occurrence };
    let dead = f.claim_as("dead").await.expect("the claim is free");
    let left = f.prepare_due(&dead, "schedule:1", scheduled).await;
    f.lapse_claims();

    let again = DigestRequest {
        id: Some("schedule:1"),
        cause: scheduled,
        send_empty: false,
    };
    let sent = f.digests.send(&f.user, &again).await.unwrap().expect("answered");
    assert_eq!(sent.id, DigestId::from_stored(left.id), "finished under its own id");
    assert_eq!(
        f.publisher.causes(),
        [scheduled],
        "published as the occurrence's digest, as it was prepared"
    );
}

#[tokio::test]
async fn a_prepared_digest_left_by_a_dead_holder_is_published_under_its_own_id_before_this_requests_digest() {
    let f = Fixture::new();
    f.change("disk", 1_000, Status::Warning).await;
    let dead = f.claim_as("dead").await.expect("the claim is free");
    let left = f.prepare_due(&dead, "r0", DigestCause::Requested).await;
    // Changes after the dead holder prepared: the leftover must go out as prepared, not
    // rebuilt from the state now.
    f.change("disk", 3_000, Status::Critical).await;
    f.change("cpu", 2_000, Status::Critical).await;
    f.lapse_claims();

    let sent = f.send("r1").await.unwrap().expect("answered");
    let left_id = DigestId::from_stored(left.id);
    assert_eq!(
        f.publisher.published(),
        [
            (left_id.clone(), vec![due("disk", 1_000, Status::Warning)]),
            (sent.id.clone(), sent.digest.alarms.clone()),
        ],
        "the leftover first, exactly as prepared and under its id"
    );
    assert_ne!(sent.id, left_id);
    assert_eq!(
        sent.digest.alarms,
        [
            due("cpu", 2_000, Status::Critical),
            due("disk", 3_000, Status::Critical)
        ],
        "this request's digest holds what the leftover did not deliver"
    );
    assert!(f.due().await.is_empty());
    assert!(
        f.send("r0").await.unwrap().is_none(),
        "the dead holder's request was answered"
    );
    assert!(f.send("r1").await.unwrap().is_none());
    assert_eq!(f.publisher.attempted().len(), 2);
}

#[tokio::test]
async fn a_redelivered_request_is_answered_once() {
    let f = Fixture::new();
    f.change("disk", 1_000, Status::Critical).await;

    assert!(f.send("r1").await.unwrap().is_some());
    f.change("cpu", 2_000, Status::Critical).await;
    assert!(
        f.send("r1").await.unwrap().is_none(),
        "a redelivery is not answered again"
    );
    assert_eq!(f.publisher.attempted().len(), 1, "and publishes nothing");
    assert_eq!(
        f.due().await.len(),
        1,
        "what became due since waits for the next request"
    );

    let next = f.send("r2").await.unwrap().expect("another request is answered");
    assert_eq!(next.digest.alarms, [due("cpu", 2_000, Status::Critical)]);
}

#[tokio::test]
async fn a_publish_not_confirmed_records_nothing_and_the_retry_publishes_the_same_digest_id() {
    let f = Fixture::new();
    f.change("disk", 1_000, Status::Critical).await;
    let before = f.due().await;
    f.publisher.fail_next(PublishError::NotConfirmed("no PubAck".into()));

    let failed = f.send("r1").await.unwrap_err();
    assert!(
        matches!(failed, DigestError::Publish(PublishError::NotConfirmed(_))),
        "{failed}"
    );
    assert!(failed.is_transient());
    assert_eq!(f.due().await, before, "the alarms stay due");
    assert!(f.publisher.published().is_empty());
    let first = f.publisher.attempted()[0].clone();

    // A change before the retry: a rebuilt digest would differ, the prepared one does not.
    f.change("cpu", 2_000, Status::Critical).await;
    let sent = f.send("r1").await.unwrap().expect("the retry answers");
    assert_eq!(sent.id, first, "the prepared digest is reused");
    assert_eq!(sent.digest.alarms, before);
    assert_eq!(f.publisher.published(), [(first.clone(), before)]);
    assert_eq!(f.publisher.attempted(), [first.clone(), first]);
    assert_eq!(f.due().await, [due("cpu", 2_000, Status::Critical)]);
    assert!(f.send("r1").await.unwrap().is_none(), "answered once");
}

#[tokio::test]
async fn a_refused_publish_is_not_transient_and_records_nothing() {
    let f = Fixture::new();
    f.change("disk", 1_000, Status::Critical).await;
    let before = f.due().await;
    f.publisher.fail_next(PublishError::Refused("over max_payload".into()));

    let refused = f.send("r1").await.unwrap_err();
    assert!(
        matches!(refused, DigestError::Publish(PublishError::Refused(_))),
        "{refused}"
    );
    assert!(!refused.is_transient(), "retrying the same digest fails again");
    assert_eq!(f.due().await, before, "the alarms stay due");
    assert!(f.publisher.published().is_empty());
    let after = f.claim_as("inspector").await.expect("the claim was given back");
    assert_eq!(after.epoch, 0, "no digest counted");
    assert!(after.answered.is_empty(), "the request is not answered");
}

#[tokio::test]
async fn with_nothing_due_an_empty_digest_is_published_and_answers_the_request() {
    let f = Fixture::new();

    let sent = f.send("r1").await.unwrap().expect("answered");
    assert!(sent.digest.alarms.is_empty());
    assert_eq!(f.publisher.published(), [(sent.id.clone(), vec![])]);
    assert!(f.send("r1").await.unwrap().is_none(), "answered once");

    let next = f.send("r2").await.unwrap().expect("answered");
    assert!(next.digest.alarms.is_empty());
    assert_ne!(next.id, sent.id, "two empty digests in a row are two messages");
    assert_eq!(f.publisher.attempted().len(), 2);
}

#[tokio::test]
async fn a_refused_digest_is_not_finished_by_the_next_request_which_builds_its_own() {
    let f = Fixture::new();
    f.change("disk", 1_000, Status::Critical).await;
    f.publisher.fail_next(PublishError::Refused("over max_payload".into()));
    let refused = f.send("r1").await.unwrap_err();
    assert!(!refused.is_transient(), "{refused}");
    let first = f.publisher.attempted()[0].clone();

    // The broker never stored the refused digest: nothing of it is owed. The next request
    // is answered with what is due now, the clear included.
    f.change("disk", 2_000, Status::Cleared).await;
    f.change("cpu", 3_000, Status::Warning).await;
    let sent = f.send("r2").await.unwrap().expect("the next request is answered");
    assert_ne!(sent.id, first, "the refused digest is not published again");
    assert_eq!(sent.digest.alarms, [due("cpu", 3_000, Status::Warning)]);
    assert_eq!(f.publisher.published(), [(sent.id.clone(), sent.digest.alarms.clone())]);
    assert_eq!(f.publisher.attempted(), [first, sent.id]);
    let after = f.claim_as("inspector").await.expect("the claim was given back");
    assert!(after.pending.is_none(), "nothing is left prepared");
    assert_eq!(after.answered, ["r2"]);
}

#[tokio::test]
async fn a_digest_refused_again_on_retry_does_not_block_the_users_later_digests() {
    let f = Fixture::new();
    f.change("disk", 1_000, Status::Critical).await;
    // The first holder's publish is not confirmed (it may be stored), so its digest stays
    // prepared; the broker then refuses it for good when the next holder finishes it.
    f.publisher.fail_next(PublishError::NotConfirmed("no leader".into()));
    assert!(f.send("r1").await.unwrap_err().is_transient());
    let left = f.publisher.attempted()[0].clone();
    f.publisher.fail_next(PublishError::Refused("over max_payload".into()));

    f.change("cpu", 2_000, Status::Warning).await;
    let sent = f
        .send("r2")
        .await
        .unwrap()
        .expect("r2 is answered, not blocked by the refused digest");
    assert_eq!(
        sent.digest.alarms,
        [due("disk", 1_000, Status::Critical), due("cpu", 2_000, Status::Warning)],
        "what the refused digest held is still due and goes out with r2"
    );
    assert_eq!(f.publisher.attempted(), [left.clone(), left, sent.id.clone()]);
    assert!(f.due().await.is_empty());
}
