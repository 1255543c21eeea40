//! How many commands the MongoDB store sends per operation, counted on the wire through
//! the driver's command monitoring: deterministic, and what predicts a real mongod's load.

use super::mongo_durability::{monitored_store, Seen};
use super::{ev, sent, user};
use alarm_digest::app::{Ports, UseCaseSettings, UseCases};
use alarm_digest::bus::outbound::dead_letter_log::NatsDeadLetterLog;
use alarm_digest::digests::ClaimSettings;
use alarm_digest::domain::pager::{Notification, Notifier, NotifyError};
use alarm_digest::domain::ports::{AlarmStore, DigestPublisher, PreparedDigest, PublishError, SystemClock};
use alarm_digest::domain::retention::Sweep;
use alarm_digest::domain::schedule::DigestCause;
use alarm_digest::domain::{AlarmEvent, ApplyOutcome, Digest, DigestId, EventTime, Status};
use alarm_digest::health::Health;
use alarm_digest::metrics::Metrics;
use alarm_digest::pager::PagerSettings;
use alarm_digest::store::mongo::MongoStore;
use alarm_digest::store::Stores;
use std::sync::Arc;
use std::time::Duration;
use testkit::NatsServer;
use tokio_util::sync::CancellationToken;

/// The most commands one `apply` of a full intake batch may take.
const APPLY_COMMANDS: usize = 4;
/// The most commands one digest (claim, due read, prepare, record, release) may take.
const DIGEST_COMMANDS: usize = 8;

/// The commands started while `work` ran, by name.
async fn commands_during<F: std::future::Future>(seen: &Seen, work: F) -> (Vec<String>, F::Output) {
    seen.lock().unwrap().clear();
    let out = work.await;
    let names = seen.lock().unwrap().iter().map(|(name, _)| name.clone()).collect();
    (names, out)
}

fn batch(alarms: usize, offset_ns: i64, status: Status) -> Vec<AlarmEvent> {
    (0..alarms)
        .map(|i| ev("u1", &format!("a{i:04}"), offset_ns, status))
        .collect()
}

/// One digest of `u1` as the use case makes it, through the store's ports.
async fn digest(store: &MongoStore) -> usize {
    let claim = store
        .claim_digest(
            &user("u1"),
            "replica-a",
            EventTime::from_nanos(1_000_000),
            Duration::from_secs(30),
        )
        .await
        .unwrap()
        .expect("a free claim");
    let due = store.due_alarms(&user("u1")).await.unwrap();
    let prepared = PreparedDigest {
        id: "d1".into(),
        alarms: due.clone(),
        request: Some("req-1".into()),
        cause: DigestCause::Requested,
    };
    assert!(store.prepare_digest(&claim, &prepared).await.unwrap());
    assert!(store.record_delivery(&claim, &sent(&due, Some("req-1"))).await.unwrap());
    assert!(store.release_digest(&claim).await.unwrap());
    due.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applying_512_new_alarms_takes_at_most_4_commands() {
    let (store, seen, _database) = monitored_store("").await;
    let events = batch(512, 0, Status::Warning);
    let (commands, outcomes) = commands_during(&seen, store.apply(&events)).await;
    assert_eq!(outcomes.unwrap().len(), 512);
    eprintln!("apply 512 new: {} commands {commands:?}", commands.len());
    assert!(commands.len() <= APPLY_COMMANDS, "{commands:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applying_512_updates_takes_at_most_4_commands() {
    let (store, seen, _database) = monitored_store("").await;
    store.apply(&batch(512, 0, Status::Warning)).await.unwrap();
    let events = batch(512, 10, Status::Critical);
    let (commands, outcomes) = commands_during(&seen, store.apply(&events)).await;
    let stored = store.due_alarms(&user("u1")).await.unwrap();
    assert!(outcomes
        .unwrap()
        .iter()
        .all(|o| *o == alarm_digest::domain::ApplyOutcome::Applied));
    assert!(stored.iter().all(|d| d.version.status == Status::Critical) && stored.len() == 512);
    eprintln!("apply 512 updates: {} commands {commands:?}", commands.len());
    assert!(commands.len() <= APPLY_COMMANDS, "{commands:?}");
}

async fn digest_of(due: usize) {
    let (store, seen, _database) = monitored_store("").await;
    store.apply(&batch(due, 0, Status::Warning)).await.unwrap();
    // A first digest creates the claim document; the one counted finds it there.
    let first = digest(&store).await;
    store.apply(&batch(due, 10, Status::Critical)).await.unwrap();
    let (commands, sent) = commands_during(&seen, digest(&store)).await;
    let left = store.due_alarms(&user("u1")).await.unwrap();
    assert_eq!((first, sent, left.len()), (due, due, 0));
    eprintln!("digest of {due}: {} commands {commands:?}", commands.len());
    assert!(commands.len() <= DIGEST_COMMANDS, "{commands:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_of_10_due_alarms_takes_at_most_8_commands() {
    digest_of(10).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_of_1000_due_alarms_takes_at_most_8_commands() {
    digest_of(1000).await;
}

/// Neither digests nor notifications are sent by an idle service.
struct NothingSent;

#[async_trait::async_trait]
impl DigestPublisher for NothingSent {
    async fn publish(&self, _: &Digest, _: &DigestId) -> Result<(), PublishError> {
        Err(PublishError::Refused("an idle service publishes nothing".into()))
    }
}

#[async_trait::async_trait]
impl Notifier for NothingSent {
    async fn send(&self, _: &Notification) -> Result<(), NotifyError> {
        Err(NotifyError::Refused("an idle service notifies nobody".into()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_service_sends_the_store_one_command_a_second_for_each_of_its_two_timers() {
    let nats = tokio::task::spawn_blocking(NatsServer::start).await.unwrap();
    let client = async_nats::connect(nats.url()).await.unwrap();
    let (store, seen, _database) = monitored_store("").await;
    let store = Arc::new(store);
    let ports = Ports {
        stores: Stores {
            alarms: store.clone(),
            pager: store.clone(),
            policies: store.clone(),
            schedules: store.clone(),
            maintenance: store.clone(),
        },
        publisher: Arc::new(NothingSent),
        notifier: Arc::new(NothingSent),
        clock: Arc::new(SystemClock),
        dead_letters: Arc::new(NatsDeadLetterLog::new(
            async_nats::jetstream::new(client.clone()),
            "DEAD_LETTERS",
        )),
    };
    let settings = UseCaseSettings {
        replica: "idle".into(),
        claims: ClaimSettings {
            ttl: Duration::from_secs(30),
            wait: Duration::from_secs(1),
        },
        pager: PagerSettings::default(),
        page_on_critical: false,
        max_clock_skew: Duration::from_secs(60),
        retention: alarm_digest::domain::retention::Retention::DEFAULT,
        retention_batch: 500,
        schedules: Default::default(),
    };
    let metrics = Arc::new(Metrics::new());
    let use_cases = UseCases::build(ports, settings, &metrics);
    let health = Health::new(move || matches!(client.connection_state(), async_nats::connection::State::Connected));
    let stop = CancellationToken::new();
    seen.lock().unwrap().clear();
    // The app's periods: readiness every 2 s; the pager's timer and the digest schedules'
    // timer claim every second.
    let watching = tokio::spawn(Arc::clone(&health).watch_store(
        Arc::clone(&use_cases.store),
        Arc::clone(&use_cases.heartbeat),
        Duration::from_secs(2),
        stop.clone(),
    ));
    let timers = tokio::spawn(alarm_digest::pager::timer::run(
        Arc::clone(&use_cases.pager),
        Duration::from_secs(1),
        stop.clone(),
    ));
    let schedules = tokio::spawn(alarm_digest::schedules::timer::run(
        Arc::clone(&use_cases.schedules),
        Duration::from_secs(1),
        stop.clone(),
    ));
    // Not a synchronisation: the span over which the idle commands are counted.
    const WINDOW_SECS: u64 = 6;
    tokio::time::sleep(Duration::from_secs(WINDOW_SECS)).await;
    stop.cancel();
    let _ = tokio::join!(watching, timers, schedules);
    let commands: Vec<String> = seen.lock().unwrap().iter().map(|(name, _)| name.clone()).collect();
    assert_eq!(health.readiness().store, "ok");
    eprintln!("idle for {WINDOW_SECS} s: {} commands {commands:?}", commands.len());
    // One for each second and timer, the first readiness ping before any traffic, and
    // the pager's first count of the maintenance windows.
    assert!(commands.len() as u64 <= 2 * WINDOW_SECS + 2, "{commands:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applying_512_events_that_bring_removed_alarms_back_takes_at_most_4_commands() {
    let (store, seen, _database) = monitored_store("").await;
    store.apply(&batch(512, 0, Status::Cleared)).await.unwrap();
    let everything = Sweep {
        cleared_before_ms: i64::MAX,
        tombstones_before_ms: i64::MIN,
        notifications_before_ms: i64::MIN,
        batch: 1000,
    };
    assert_eq!(store.sweep(&everything).await.unwrap().alarms, 512);
    let events = batch(512, 10, Status::Warning);
    let (commands, outcomes) = commands_during(&seen, store.apply(&events)).await;
    let counts = store.counts().await.unwrap();
    assert!(outcomes.unwrap().iter().all(|o| *o == ApplyOutcome::Applied));
    assert_eq!((counts.alarms, counts.tombstones), (512, 0));
    eprintln!("apply 512 revivals: {} commands {commands:?}", commands.len());
    assert!(commands.len() <= APPLY_COMMANDS, "{commands:?}");
}
