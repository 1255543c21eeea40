//! The digest use case on an in-memory SQLite store, a publisher that can fail or stall
//! on demand, and a controlled clock.

use super::*;
use crate::domain::ports::SystemClock;
use crate::domain::ports::{AlarmStore, DigestPublisher, PublishError};
use crate::domain::{AlarmEvent, AlarmId, Digest, DigestId, EventTime, UserId};
use crate::domain::{AlarmMetadata, Status, Version};
use crate::store::sqlite::SqliteStore;
use async_trait::async_trait;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;

/// Publishes into a list. During its first publish, the publishing holder's claim
/// lapses and another holder takes it over, then gives it back (having finished the
/// digest left prepared, or not).
struct OutlivedClaim {
    store: Arc<dyn AlarmStore>,
    next_holder_finishes: bool,
    published: Mutex<Vec<DigestId>>,
}

#[async_trait]
impl DigestPublisher for OutlivedClaim {
    async fn publish(&self, digest: &Digest, id: &DigestId) -> Result<(), PublishError> {
        let first = {
            let mut published = self.published.lock().unwrap();
            published.push(id.clone());
            published.len() == 1
        };
        if first {
            let later = EventTime::from_nanos(SystemClock.now().as_nanos() + 3_600_000_000_000);
            let ttl = Duration::from_secs(30);
            let next = self
                .store
                .claim_digest(&digest.user_id, "next", later, ttl)
                .await
                .unwrap();
            let mut next = next.expect("the lapsed claim is taken over");
            if self.next_holder_finishes {
                let left = next.pending.take().expect("the published digest is prepared");
                self.published
                    .lock()
                    .unwrap()
                    .push(DigestId::from_stored(left.id.clone()));
                assert!(self
                    .store
                    .record_delivery(&next, &left.alarms, left.request.as_deref())
                    .await
                    .unwrap());
            }
            assert!(self.store.release_digest(&next).await.unwrap());
        }
        Ok(())
    }
}

async fn outlived_claim(next_holder_finishes: bool) -> (Digests, Arc<OutlivedClaim>, UserId) {
    let store: Arc<dyn AlarmStore> = Arc::new(SqliteStore::open_in_memory(Default::default()).unwrap());
    let user = UserId::parse("u1").unwrap();
    let event = AlarmEvent {
        user_id: user.clone(),
        alarm_id: AlarmId::parse("disk").unwrap(),
        version: Version {
            changed_at: EventTime::from_nanos(1_000),
            status: Status::Critical,
        },
        metadata: AlarmMetadata::default(),
    };
    store.apply(&[event]).await.unwrap();
    let publisher = Arc::new(OutlivedClaim {
        store: Arc::clone(&store),
        next_holder_finishes,
        published: Mutex::default(),
    });
    let service = Digests::new(
        store,
        Arc::clone(&publisher) as Arc<dyn DigestPublisher>,
        Arc::new(SystemClock),
        "test",
        ClaimSettings::default(),
    );
    (service, publisher, user)
}

#[tokio::test]
async fn a_record_refused_for_a_lost_claim_is_retried_and_the_retry_finishes_the_same_digest() {
    let (service, publisher, user) = outlived_claim(false).await;
    let lost = service.send_digest(&user, Some("req-1")).await.unwrap_err();
    assert!(matches!(lost, DigestError::ClaimLostAfterPublish { .. }), "{lost}");
    assert!(lost.is_transient(), "the request is not acked but retried");
    assert_eq!(
        service.store.due_alarms(&user).await.unwrap().len(),
        1,
        "nothing was recorded"
    );

    let sent = service
        .send_digest(&user, Some("req-1"))
        .await
        .unwrap()
        .expect("the retry answers");
    assert_eq!(sent.digest.alarms.len(), 1);
    let published = publisher.published.lock().unwrap().clone();
    assert_eq!(
        published,
        [sent.id.clone(), sent.id],
        "re-published under the same id only"
    );
    assert!(service.store.due_alarms(&user).await.unwrap().is_empty());
    assert!(
        service.send_digest(&user, Some("req-1")).await.unwrap().is_none(),
        "answered once"
    );
}

#[tokio::test]
async fn a_record_refused_for_a_lost_claim_is_retried_and_finds_the_next_holder_answered_it() {
    let (service, publisher, user) = outlived_claim(true).await;
    let lost = service.send_digest(&user, Some("req-1")).await.unwrap_err();
    assert!(matches!(lost, DigestError::ClaimLostAfterPublish { .. }), "{lost}");
    assert!(
        service.send_digest(&user, Some("req-1")).await.unwrap().is_none(),
        "answered once"
    );
    let published = publisher.published.lock().unwrap().clone();
    assert_eq!(published.len(), 2);
    assert_eq!(
        published[0], published[1],
        "the next holder re-published under the same id"
    );
    assert!(service.store.due_alarms(&user).await.unwrap().is_empty());
}
