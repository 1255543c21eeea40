//! The pager store contract: conditional writes, the unique idempotency key, atomic timer
//! claims and policies, the same on every adapter. Each test takes the adapter itself,
//! which implements both of the pager's storage ports.

use alarm_digest::domain::pager::decide::{raise, Alert};
use alarm_digest::domain::pager::{
    EscalationPolicy, LastLevelTimeout, Notification, Notifier, NotifyError, PagerRecord, PagerStore, PolicyRepository,
    ServiceState, Target,
};
use alarm_digest::domain::ports::SystemClock;
use alarm_digest::domain::{EventTime, ServiceId};
use alarm_digest::pager::{PagerService, PagerSettings};
use async_trait::async_trait;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use super::retention::pager_sent_notifications_older_than_the_cut_off_go_and_newer_stay;

pub const T0: EventTime = EventTime::from_nanos(1_700_000_000_000_000_000);
const MINUTE: Duration = Duration::from_secs(60);

pub fn service(id: &str) -> ServiceId {
    ServiceId::parse(id).unwrap()
}

pub fn policy(id: &str) -> EscalationPolicy {
    EscalationPolicy::new(
        service(id),
        vec![
            vec![
                Target::email("a@example.com").unwrap(),
                Target::sms("+33600000000").unwrap(),
            ],
            vec![Target::email("b@example.com").unwrap()],
        ],
        LastLevelTimeout::Stop,
    )
    .unwrap()
}

/// The record an alert at T0 leads to, with its notifications in the outbox.
pub fn opened(id: &str, due_at: Option<EventTime>) -> PagerRecord {
    let alert = Alert {
        service_id: service(id),
        message: "down".into(),
        raised_at: T0,
    };
    let d = raise(
        &ServiceState::default(),
        Some(&policy(id)),
        &alert,
        T0,
        15 * MINUTE,
        None,
    );
    PagerRecord {
        revision: 0,
        outbox: d.notifications().cloned().collect(),
        state: d.state,
        due_at,
    }
}

pub async fn pager_record_is_absent_until_the_first_save_creates_revision_one<S: PagerStore + PolicyRepository>(
    store: Arc<S>,
) {
    let s = service("db");
    assert_eq!(store.pager_record(&s).await.unwrap(), None);
    let record = opened("db", Some(T0));
    assert!(store.save_pager_record(&s, 0, &record).await.unwrap());
    let stored = store.pager_record(&s).await.unwrap().unwrap();
    assert_eq!(stored, PagerRecord { revision: 1, ..record });
}

pub async fn pager_save_lands_only_on_the_revision_it_was_decided_from<S: PagerStore + PolicyRepository>(
    store: Arc<S>,
) {
    let s = service("db");
    let first = opened("db", Some(T0));
    assert!(store.save_pager_record(&s, 0, &first).await.unwrap());
    assert!(
        !store.save_pager_record(&s, 0, &first).await.unwrap(),
        "a second first save"
    );
    let healthy = PagerRecord {
        state: ServiceState::Healthy { incidents: 1 },
        ..Default::default()
    };
    assert!(
        !store.save_pager_record(&s, 7, &healthy).await.unwrap(),
        "a stale revision"
    );
    assert_eq!(store.pager_record(&s).await.unwrap().unwrap().revision, 1);
    assert!(store.save_pager_record(&s, 1, &healthy).await.unwrap());
    let stored = store.pager_record(&s).await.unwrap().unwrap();
    assert_eq!((stored.revision, stored.state, stored.due_at), (2, healthy.state, None));
}

pub async fn pager_racing_saves_from_one_revision_let_exactly_one_win<S: PagerStore + PolicyRepository>(store: Arc<S>) {
    let s = service("db");
    for expected in 0..3u64 {
        let saves = (0..4).map(|_| {
            let (store, s) = (Arc::clone(&store), s.clone());
            tokio::spawn(async move {
                store
                    .save_pager_record(&s, expected, &opened("db", None))
                    .await
                    .unwrap()
            })
        });
        let won = futures::future::join_all(saves)
            .await
            .into_iter()
            .filter(|r| *r.as_ref().unwrap())
            .count();
        assert_eq!(won, 1, "from revision {expected}");
    }
}

pub async fn pager_notification_is_recorded_once_per_idempotency_key<S: PagerStore + PolicyRepository>(store: Arc<S>) {
    let outbox = opened("db", None).outbox;
    let key = outbox[0].key();
    assert!(!store.notification_sent(&key).await.unwrap());
    assert!(store.record_notification(&outbox[0], T0).await.unwrap());
    assert!(store.notification_sent(&key).await.unwrap());
    assert!(!store.record_notification(&outbox[0], T0).await.unwrap());
    assert!(!store.notification_sent(&outbox[1].key()).await.unwrap());
}

pub async fn pager_racing_records_of_one_key_record_it_once<S: PagerStore + PolicyRepository>(store: Arc<S>) {
    let notification = opened("db", None).outbox[1].clone();
    let records = (0..4).map(|_| {
        let (store, n) = (Arc::clone(&store), notification.clone());
        tokio::spawn(async move { store.record_notification(&n, T0).await.unwrap() })
    });
    let recorded = futures::future::join_all(records)
        .await
        .into_iter()
        .filter(|r| *r.as_ref().unwrap())
        .count();
    assert_eq!(recorded, 1);
}

pub async fn pager_due_services_are_claimed_by_exactly_one_of_racing_claimers<S: PagerStore + PolicyRepository>(
    store: Arc<S>,
) {
    for (id, due) in [
        ("due-1", T0),
        ("due-2", T0.after(MINUTE)),
        ("later", T0.after(10 * MINUTE)),
    ] {
        assert!(store
            .save_pager_record(&service(id), 0, &opened(id, Some(due)))
            .await
            .unwrap());
    }
    let healthy = PagerRecord::default();
    assert!(store.save_pager_record(&service("healthy"), 0, &healthy).await.unwrap());
    let now = T0.after(MINUTE);
    let claims = (0..3).map(|_| {
        let store = Arc::clone(&store);
        tokio::spawn(async move { store.claim_due(now, now.after(MINUTE), 10).await.unwrap() })
    });
    let mut claimed: Vec<String> = futures::future::join_all(claims)
        .await
        .into_iter()
        .flat_map(|r| r.unwrap())
        .map(|s| s.as_str().to_string())
        .collect();
    claimed.sort();
    assert_eq!(claimed, ["due-1", "due-2"]);
}

pub async fn pager_claimed_service_is_due_again_only_when_the_claim_lapses<S: PagerStore + PolicyRepository>(
    store: Arc<S>,
) {
    let s = service("db");
    assert!(store.save_pager_record(&s, 0, &opened("db", Some(T0))).await.unwrap());
    assert_eq!(
        store.claim_due(T0, T0.after(MINUTE), 10).await.unwrap(),
        vec![s.clone()]
    );
    assert_eq!(
        store.pager_record(&s).await.unwrap().unwrap().due_at,
        Some(T0.after(MINUTE))
    );
    assert!(store
        .claim_due(T0.after(MINUTE / 2), T0.after(2 * MINUTE), 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .claim_due(T0.after(MINUTE), T0.after(2 * MINUTE), 10)
            .await
            .unwrap(),
        [s]
    );
    assert_eq!(
        store
            .claim_due(T0.after(MINUTE), T0.after(3 * MINUTE), 1)
            .await
            .unwrap(),
        []
    );
}

pub async fn pager_policies_are_created_replaced_and_deleted<S: PagerStore + PolicyRepository>(store: Arc<S>) {
    let s = service("db");
    assert_eq!(store.policy(&s).await.unwrap(), None);
    assert!(store.put_policy(&policy("db")).await.unwrap(), "created");
    assert_eq!(store.policy(&s).await.unwrap(), Some(policy("db")));
    let replacement = EscalationPolicy::new(
        s.clone(),
        vec![vec![Target::sms("+15550000000").unwrap()]],
        LastLevelTimeout::Repeat,
    )
    .unwrap();
    assert!(!store.put_policy(&replacement).await.unwrap(), "replaced");
    assert_eq!(store.policy(&s).await.unwrap(), Some(replacement));
    assert_eq!(store.policy(&service("other")).await.unwrap(), None);
    assert!(store.delete_policy(&s).await.unwrap());
    assert!(!store.delete_policy(&s).await.unwrap());
    assert_eq!(store.policy(&s).await.unwrap(), None);
}

/// Records what it is asked to send.
#[derive(Default)]
struct Recorder(Mutex<Vec<Notification>>);

#[async_trait]
impl Notifier for Recorder {
    async fn send(&self, notification: &Notification) -> Result<(), NotifyError> {
        self.0.lock().unwrap().push(notification.clone());
        Ok(())
    }
}

pub async fn pager_racing_alerts_of_two_replicas_notify_each_level_one_target_once<S: PagerStore + PolicyRepository>(
    store: Arc<S>,
) {
    store.put_policy(&policy("db")).await.unwrap();
    let notifier = Arc::new(Recorder::default());
    let replica = || {
        Arc::new(PagerService::new(
            store.clone(),
            store.clone(),
            notifier.clone(),
            Arc::new(SystemClock),
            PagerSettings::default(),
        ))
    };
    let replicas = [replica(), replica()];
    let alerts = replicas.iter().cycle().take(4).map(|pager| {
        let pager = Arc::clone(pager);
        tokio::spawn(async move {
            let alert = Alert {
                service_id: service("db"),
                message: "down".into(),
                raised_at: T0,
            };
            pager.alert(&alert).await.unwrap()
        })
    });
    let reports: Vec<_> = futures::future::join_all(alerts)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let sent: usize = reports.iter().map(|r| r.sent.len()).sum();
    assert_eq!(sent, 2, "one record per level-1 target");
    let mut keys: Vec<String> = notifier.0.lock().unwrap().iter().map(Notification::key).collect();
    keys.sort();
    assert_eq!(
        keys,
        ["db/1/1/email:a@example.com", "db/1/1/sms:+33600000000"],
        "one notification per level-1 target"
    );
}

pub async fn pager_services_are_listed_by_id_across_pages_each_once<S: PagerStore + PolicyRepository>(store: Arc<S>) {
    // Saved out of order, with ids whose byte order differs from insertion order.
    let ids: Vec<String> = (0..23).map(|i| format!("svc-{:02}", (i * 7) % 23)).collect();
    for id in &ids {
        assert!(store
            .save_pager_record(&service(id), 0, &opened(id, None))
            .await
            .unwrap());
    }
    let mut listed = Vec::new();
    let mut after: Option<ServiceId> = None;
    loop {
        let page = store.services(after.as_ref(), 5).await.unwrap();
        assert!(page.len() <= 5);
        for (id, record) in &page {
            assert_eq!(
                record,
                &PagerRecord {
                    revision: 1,
                    ..opened(id.as_str(), None)
                }
            );
        }
        let Some((last, _)) = page.last() else { break };
        after = Some(last.clone());
        listed.extend(page.into_iter().map(|(id, _)| id.as_str().to_string()));
    }
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(listed, expected, "every service once, in id order");
    assert!(store.services(None, 0).await.unwrap().is_empty());
}

pub async fn services_with_a_policy_are_listed_by_id_across_pages_each_once<S: PagerStore + PolicyRepository>(
    store: Arc<S>,
) {
    let ids: Vec<String> = (0..17).map(|i| format!("pol-{:02}", (i * 5) % 17)).collect();
    for id in &ids {
        assert!(store.put_policy(&policy(id)).await.unwrap());
    }
    // A replaced policy is listed once; a deleted one not at all.
    assert!(!store.put_policy(&policy("pol-03")).await.unwrap());
    assert!(store.delete_policy(&service("pol-16")).await.unwrap());
    let mut listed = Vec::new();
    let mut after: Option<ServiceId> = None;
    loop {
        let page = store.services_with_policy(after.as_ref(), 4).await.unwrap();
        assert!(page.len() <= 4);
        let Some(last) = page.last() else { break };
        after = Some(last.clone());
        listed.extend(page.iter().map(|id| id.as_str().to_string()));
    }
    let expected: Vec<String> = (0..16).map(|i| format!("pol-{i:02}")).collect();
    assert_eq!(listed, expected, "every service with a policy once, in id order");
    assert!(store.services_with_policy(None, 0).await.unwrap().is_empty());
}

pub async fn pager_sent_notifications_are_the_services_own_newest_first<S: PagerStore + PolicyRepository>(
    store: Arc<S>,
) {
    let db = opened("db", None).outbox;
    let web = opened("web", None).outbox;
    assert_eq!(db.len(), 2, "level 1 of the policy has two targets");
    for (i, n) in db.iter().enumerate() {
        assert!(store.record_notification(n, T0.after(MINUTE * i as u32)).await.unwrap());
    }
    assert!(store.record_notification(&web[0], T0.after(MINUTE * 5)).await.unwrap());
    let sent = store.sent_notifications(&service("db"), 10).await.unwrap();
    let got: Vec<_> = sent.iter().map(|s| (s.notification.clone(), s.sent_at)).collect();
    assert_eq!(got, vec![(db[1].clone(), T0.after(MINUTE)), (db[0].clone(), T0)]);
    let newest = store.sent_notifications(&service("db"), 1).await.unwrap();
    assert_eq!(newest.len(), 1);
    assert_eq!(newest[0].notification, db[1]);
    assert!(store
        .sent_notifications(&service("other"), 10)
        .await
        .unwrap()
        .is_empty());
}
