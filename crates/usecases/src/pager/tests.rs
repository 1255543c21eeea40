//! Behaviours 1 to 7 through the pager's ports: a controlled clock, a recording notifier,
//! and the embedded store in memory.

use super::*;
use async_trait::async_trait;
use domain::pager::{LastLevelTimeout, Target};
use domain::ports::ManualClock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use store_sqlite::SqliteStore;

const MINUTE: Duration = Duration::from_secs(60);

/// Records every notification handed to it; refuses them while `down`.
#[derive(Default)]
struct RecordingNotifier {
    sent: Mutex<Vec<Notification>>,
    down: AtomicBool,
}

#[async_trait]
impl Notifier for RecordingNotifier {
    async fn send(&self, notification: &Notification) -> Result<(), NotifyError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(NotifyError::NotConfirmed("broker down".into()));
        }
        self.sent.lock().unwrap().push(notification.clone());
        Ok(())
    }
}

impl RecordingNotifier {
    /// `(level, target)` of everything sent so far, in order.
    fn sent(&self) -> Vec<(u32, String)> {
        let sent = self.sent.lock().unwrap();
        sent.iter().map(|n| (n.level, n.target.to_string())).collect()
    }
}

struct Fixture {
    store: Arc<SqliteStore>,
    clock: Arc<ManualClock>,
    notifier: Arc<RecordingNotifier>,
    pager: PagerService,
}

fn service() -> ServiceId {
    ServiceId::parse("payments").unwrap()
}

impl Fixture {
    async fn new(last: LastLevelTimeout) -> Self {
        let store = Arc::new(SqliteStore::open_in_memory(Default::default()).unwrap());
        let policy = EscalationPolicy::new(
            service(),
            vec![
                vec![
                    Target::email("a@example.com").unwrap(),
                    Target::sms("+33600000000").unwrap(),
                ],
                vec![Target::email("b@example.com").unwrap()],
            ],
            last,
        )
        .unwrap();
        store.put_policy(&policy).await.unwrap();
        let clock = Arc::new(ManualClock::at(EventTime::from_nanos(1_700_000_000_000_000_000)));
        let notifier = Arc::new(RecordingNotifier::default());
        let pager = Self::replica(&store, &clock, &notifier);
        Self {
            store,
            clock,
            notifier,
            pager,
        }
    }

    /// Another pager on the same store, clock and notifier: a second replica.
    fn replica(store: &Arc<SqliteStore>, clock: &Arc<ManualClock>, notifier: &Arc<RecordingNotifier>) -> PagerService {
        let settings = PagerSettings {
            ack_timeout: 15 * MINUTE,
            claim_ttl: MINUTE,
            claim_batch: 10,
        };
        PagerService::new(store.clone(), store.clone(), notifier.clone(), clock.clone(), settings)
    }

    async fn alert(&self) -> PagerReport {
        let alert = Alert {
            service_id: service(),
            message: "checkout is failing".into(),
            raised_at: self.clock.now(),
        };
        self.pager.alert(&alert).await.unwrap()
    }

    /// Moves the clock and runs one timer pass.
    async fn after(&self, by: Duration) -> Vec<PagerReport> {
        self.clock.advance(by);
        self.pager.fire_due().await.unwrap()
    }
}

fn level_one() -> Vec<(u32, String)> {
    vec![(1, "email:a@example.com".into()), (1, "sms:+33600000000".into())]
}

#[tokio::test]
async fn alert_notifies_level_one_and_fifteen_minutes_unacknowledged_notify_level_two() {
    let f = Fixture::new(LastLevelTimeout::Stop).await;
    let report = f.alert().await;
    assert_eq!((report.outcome, report.sent.len()), (Outcome::Opened, 2));
    assert_eq!(f.notifier.sent(), level_one());
    let record = f.pager.record(&service()).await.unwrap();
    assert!(record.outbox.is_empty());
    assert_eq!(record.due_at, Some(f.clock.now().after(15 * MINUTE)));

    assert!(f.after(14 * MINUTE).await.is_empty(), "not due yet");
    let fired = f.after(MINUTE).await;
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].outcome, Outcome::Escalated);
    let mut expected = level_one();
    expected.push((2, "email:b@example.com".into()));
    assert_eq!(f.notifier.sent(), expected);
}

#[tokio::test]
async fn acknowledged_incident_is_not_escalated_when_the_timeout_comes() {
    let f = Fixture::new(LastLevelTimeout::Stop).await;
    f.alert().await;
    f.clock.advance(4 * MINUTE);
    let ack = f.pager.acknowledge(&service(), Some("ann")).await.unwrap();
    assert_eq!(ack.outcome, Outcome::Acknowledged);
    assert_eq!(ack.time_to_acknowledge, Some(4 * MINUTE));
    assert!(f.after(20 * MINUTE).await.is_empty());
    assert_eq!(f.notifier.sent(), level_one());
    assert_eq!(f.pager.record(&service()).await.unwrap().due_at, None);
}

#[tokio::test]
async fn another_alert_while_unhealthy_notifies_nobody_and_keeps_the_timeout() {
    let f = Fixture::new(LastLevelTimeout::Stop).await;
    f.alert().await;
    let before = f.pager.record(&service()).await.unwrap();
    f.clock.advance(5 * MINUTE);
    let again = f.alert().await;
    assert_eq!((again.outcome, again.sent.len()), (Outcome::AlreadyOpen, 0));
    assert_eq!(f.pager.record(&service()).await.unwrap(), before);
    assert_eq!(f.notifier.sent(), level_one());
}

#[tokio::test]
async fn healthy_service_is_not_escalated_when_the_timeout_comes() {
    let f = Fixture::new(LastLevelTimeout::Stop).await;
    f.alert().await;
    let healthy = f.pager.healthy(&service()).await.unwrap();
    assert_eq!(healthy.outcome, Outcome::Recovered);
    assert!(f.after(20 * MINUTE).await.is_empty());
    assert!(f.pager.record(&service()).await.unwrap().state.is_healthy());
    assert_eq!(f.notifier.sent(), level_one());
}

#[tokio::test]
async fn last_level_timeout_stops_by_default_and_repeats_when_the_policy_says_so() {
    let stop = Fixture::new(LastLevelTimeout::Stop).await;
    stop.alert().await;
    stop.after(15 * MINUTE).await;
    let last = stop.after(15 * MINUTE).await;
    assert_eq!(last[0].outcome, Outcome::Exhausted);
    assert!(stop.after(60 * MINUTE).await.is_empty());
    assert_eq!(stop.notifier.sent().len(), 3);

    let repeat = Fixture::new(LastLevelTimeout::Repeat).await;
    repeat.alert().await;
    repeat.after(15 * MINUTE).await;
    let again = repeat.after(15 * MINUTE).await;
    assert_eq!(again[0].outcome, Outcome::Repeated);
    assert_eq!(
        repeat.notifier.sent().last().unwrap(),
        &(2, "email:b@example.com".into())
    );
    assert_eq!(repeat.notifier.sent().len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_racing_alerts_notify_each_level_one_target_once() {
    for _ in 0..20 {
        let f = Fixture::new(LastLevelTimeout::Stop).await;
        let other = Fixture::replica(&f.store, &f.clock, &f.notifier);
        let alert = Alert {
            service_id: service(),
            message: "down".into(),
            raised_at: f.clock.now(),
        };
        let (a, b) = tokio::join!(f.pager.alert(&alert), other.alert(&alert));
        let outcomes = [a.unwrap().outcome, b.unwrap().outcome];
        assert!(outcomes.contains(&Outcome::Opened) && outcomes.contains(&Outcome::AlreadyOpen));
        assert_eq!(f.notifier.sent(), level_one());
    }
}

#[tokio::test]
async fn notifications_left_by_a_writer_that_failed_are_sent_once_its_claim_lapses() {
    let f = Fixture::new(LastLevelTimeout::Stop).await;
    f.notifier.down.store(true, Ordering::SeqCst);
    let report = f.alert().await;
    assert_eq!((report.outcome, report.undelivered), (Outcome::Opened, 2));
    f.notifier.down.store(false, Ordering::SeqCst);
    let other = Fixture::replica(&f.store, &f.clock, &f.notifier);
    f.clock.advance(MINUTE / 2);
    assert!(
        other.fire_due().await.unwrap().is_empty(),
        "the writer's claim still holds"
    );
    f.clock.advance(MINUTE / 2);
    let finished = other.fire_due().await.unwrap();
    assert_eq!(finished[0].sent.len(), 2);
    assert_eq!(f.notifier.sent(), level_one());
    assert!(f.pager.record(&service()).await.unwrap().outbox.is_empty());
}

#[tokio::test]
async fn a_due_timeout_is_fired_by_one_replica_only() {
    let f = Fixture::new(LastLevelTimeout::Stop).await;
    f.alert().await;
    let other = Fixture::replica(&f.store, &f.clock, &f.notifier);
    f.clock.advance(15 * MINUTE);
    let (a, b) = tokio::join!(f.pager.fire_due(), other.fire_due());
    assert_eq!(a.unwrap().len() + b.unwrap().len(), 1);
    assert_eq!(f.notifier.sent().len(), 3);
}

#[test]
fn a_page_of_services_merges_recorded_ones_and_policy_only_ones_by_id_each_once() {
    let id = |s: &str| ServiceId::parse(s).unwrap();
    let record = |revision| PagerRecord {
        revision,
        ..PagerRecord::default()
    };
    let recorded = vec![(id("b"), record(2)), (id("d"), record(4)), (id("e"), record(5))];
    let with_policy = vec![id("a"), id("b"), id("c")];
    let merged = merge_by_id(recorded.clone(), with_policy.clone(), 4);
    let shown: Vec<(&str, u64)> = merged.iter().map(|(s, r)| (s.as_str(), r.revision)).collect();
    assert_eq!(
        shown,
        [("a", 0), ("b", 2), ("c", 0), ("d", 4)],
        "b once, with its record"
    );
    assert_eq!(merge_by_id(recorded.clone(), with_policy.clone(), 10).len(), 5);
    assert_eq!(merge_by_id(recorded, Vec::new(), 2).len(), 2);
    assert!(merge_by_id(Vec::new(), Vec::new(), 3).is_empty());
    assert_eq!(merge_by_id(Vec::new(), with_policy, 0).len(), 0);
}
