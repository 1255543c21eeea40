//! MongoDB commands per operation, counted with the driver's command monitoring
//! (`CommandStartedEvent`s through `ClientOptions::command_event_handler`): an apply of
//! 512 new alarms and of 512 updates, digests of 10 and 1,000 alarms by phase, a pager
//! decision, and a replica at rest. Round trips, not the test server's speed, are what
//! predict the cost on a real cluster.

mod phased;

use alarm_digest::alarms::AlarmUpdates;
use alarm_digest::app::Application;
use alarm_digest::config::Cli;
use alarm_digest::digests::{ClaimSettings, Digests};
use alarm_digest::domain::pager::{
    Alert, EscalationPolicy, LastLevelTimeout, Notification, Notifier, NotifyError, PolicyRepository, Target,
};
use alarm_digest::domain::ports::{AlarmStore, DigestPublisher, PublishError, SystemClock};
use alarm_digest::domain::{
    AlarmEvent, AlarmId, AlarmMetadata, Digest, DigestId, EventTime, ServiceId, Status, UserId, Version,
};
use alarm_digest::pager::{PagerService, PagerSettings};
use alarm_digest::store::mongo::{client_options, MongoStore};
use alarm_digest::store::Stores;
use async_trait::async_trait;
use clap::Parser;
use mongodb::event::command::CommandEvent;
use mongodb::event::EventHandler;
use phased::Phased;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Commands by (phase, command name), as the driver started them.
#[derive(Clone, Default)]
pub struct Tally(Arc<Mutex<Counts>>);

#[derive(Default)]
struct Counts {
    phase: &'static str,
    by: BTreeMap<(&'static str, String), u64>,
}

impl Tally {
    fn set_phase(&self, phase: &'static str) {
        self.0.lock().unwrap().phase = phase;
    }

    fn handler(&self) -> EventHandler<CommandEvent> {
        let tally = self.clone();
        EventHandler::callback(move |event| {
            if let CommandEvent::Started(started) = event {
                let mut counts = tally.0.lock().unwrap();
                let phase = counts.phase;
                *counts.by.entry((phase, started.command_name)).or_default() += 1;
            }
        })
    }

    /// What was counted since the last take, and a fresh start.
    fn take(&self) -> Ops {
        Ops(std::mem::take(&mut self.0.lock().unwrap().by))
    }
}

/// Counted commands of one operation.
#[derive(Debug, Clone, Default)]
pub struct Ops(BTreeMap<(&'static str, String), u64>);

impl Ops {
    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    /// Commands in one phase.
    pub fn phase(&self, phase: &str) -> u64 {
        self.0.iter().filter(|((p, _), _)| *p == phase).map(|(_, n)| n).sum()
    }

    /// `3 find + 1 update`, over every phase.
    pub fn by_name(&self) -> String {
        let mut names: BTreeMap<&str, u64> = BTreeMap::new();
        for ((_, name), n) in &self.0 {
            *names.entry(name.as_str()).or_default() += n;
        }
        if names.is_empty() {
            return "none".into();
        }
        names
            .iter()
            .map(|(name, n)| format!("{n} {name}"))
            .collect::<Vec<_>>()
            .join(" + ")
    }
}

/// The commands counted for each operation.
pub struct CommandCounts {
    pub apply_new: Ops,
    pub apply_updates: Ops,
    /// (due alarms, the digest's commands by phase).
    pub digests: Vec<(usize, Ops)>,
    pub pager_decision: Ops,
    /// The commands of a replica at rest, and over how long.
    pub idle: Ops,
    pub idle_for: Duration,
}

/// The phases of a digest, in order, as `Phased` names them.
pub const DIGEST_PHASES: [&str; 5] = ["claim", "read", "prepare", "record", "release"];

struct Discard;

#[async_trait]
impl DigestPublisher for Discard {
    async fn publish(&self, _: &Digest, _: &DigestId) -> Result<(), PublishError> {
        Ok(())
    }
}

#[async_trait]
impl Notifier for Discard {
    async fn send(&self, _: &Notification) -> Result<(), NotifyError> {
        Ok(())
    }
}

fn event(user: &UserId, alarm: usize, status: Status, nanos: i64) -> AlarmEvent {
    AlarmEvent {
        user_id: user.clone(),
        alarm_id: AlarmId::parse(format!("alarm-{alarm:05}")).unwrap(),
        version: Version {
            changed_at: EventTime::from_nanos(nanos),
            status,
        },
        metadata: AlarmMetadata {
            name: Some(format!("Disk usage above threshold #{alarm}")),
            service: Some(format!("storage-{}", alarm % 3)),
            user_name: Some("Bench User".into()),
            ..Default::default()
        },
    }
}

/// A monitored store on a fresh database of the server at `uri`.
async fn monitored(uri: &str, tally: &Tally) -> MongoStore {
    let mut options = client_options(uri).await.expect("MongoDB options");
    options.command_event_handler = Some(tally.handler());
    let database = testkit::unique_database("bench_commands");
    MongoStore::connect_with(options, Some(&database), Default::default())
        .await
        .expect("the monitored MongoDB store")
}

/// Counts the commands of each operation on the MongoDB-wire server at `uri`; the replica
/// at rest runs on the NATS server at `nats_url` for `idle_for`.
pub async fn run(uri: &str, nats_url: &str, idle_for: Duration) -> CommandCounts {
    let tally = Tally::default();
    let store = Arc::new(monitored(uri, &tally).await);
    let phased: Arc<dyn AlarmStore> = Arc::new(Phased {
        inner: store.clone(),
        tally: tally.clone(),
    });
    let alarm_updates = AlarmUpdates::new(Arc::clone(&phased), Arc::new(SystemClock));
    let digests = Digests::new(
        phased,
        Arc::new(Discard),
        Arc::new(SystemClock),
        "bench-commands",
        ClaimSettings::default(),
    );
    let base = 1_704_067_200_000_000_000i64;
    let user = UserId::parse("cmd-apply").unwrap();
    let new: Vec<AlarmEvent> = (0..512)
        .map(|a| event(&user, a, Status::Warning, base + a as i64))
        .collect();
    let updates: Vec<AlarmEvent> = (0..512)
        .map(|a| event(&user, a, Status::Critical, base + 1_000_000 + a as i64))
        .collect();
    let _ = tally.take();
    alarm_updates.apply(&new).await.expect("apply new alarms");
    let apply_new = tally.take();
    alarm_updates.apply(&updates).await.expect("apply updates");
    let apply_updates = tally.take();

    let mut sizes = Vec::new();
    for alarms in [10usize, 1_000] {
        let user = UserId::parse(format!("cmd-digest-{alarms}")).unwrap();
        let events: Vec<AlarmEvent> = (0..alarms)
            .map(|a| event(&user, a, Status::Warning, base + a as i64))
            .collect();
        for chunk in events.chunks(512) {
            alarm_updates.apply(chunk).await.expect("apply the digest's alarms");
        }
        let _ = tally.take();
        let sent = digests
            .send_digest(&user, Some("bench-request"))
            .await
            .expect("send the digest")
            .expect("a digest was sent");
        assert_eq!(sent.digest.alarms.len(), alarms, "the digest lists every due alarm");
        sizes.push((alarms, tally.take()));
    }

    let pager = PagerService::new(
        store.clone(),
        store.clone(),
        Arc::new(Discard),
        Arc::new(SystemClock),
        PagerSettings::default(),
    );
    let service = ServiceId::parse("checkout").unwrap();
    let policy = EscalationPolicy::new(
        service.clone(),
        vec![vec![Target::email("oncall@example.com").unwrap()]],
        LastLevelTimeout::Stop,
    )
    .unwrap();
    store.put_policy(&policy).await.expect("put a policy");
    tally.set_phase("pager");
    let _ = tally.take();
    let alert = Alert {
        service_id: service,
        message: "checkout is failing".into(),
        raised_at: EventTime::from_nanos(base),
    };
    pager.alert(&alert).await.expect("a pager decision");
    let pager_decision = tally.take();
    if let Err(e) = store.drop_database().await {
        println!("  note: could not drop the commands database: {e}");
    }

    let (idle, idle_for) = at_rest(uri, nats_url, idle_for).await;
    CommandCounts {
        apply_new,
        apply_updates,
        digests: sizes,
        pager_decision,
        idle,
        idle_for,
    }
}

/// A whole replica (the service's own wiring, in this process) on a monitored store, with
/// no traffic: the commands it sends over `idle_for`, after a second to settle.
async fn at_rest(uri: &str, nats_url: &str, idle_for: Duration) -> (Ops, Duration) {
    let tally = Tally::default();
    let store = Arc::new(monitored(uri, &tally).await);
    let stores = Stores {
        alarms: store.clone(),
        pager: store.clone(),
        policies: store.clone(),
        schedules: store.clone(),
        maintenance: store.clone(),
    };
    let cli = Cli::try_parse_from([
        "alarm-digest",
        "--nats-url",
        nats_url,
        "--store-url",
        "mongodb://bench-monitored",
        "--http-addr",
        "127.0.0.1:0",
        "--replica-id",
        "bench-idle",
    ])
    .expect("the idle replica's settings");
    let app = Application::build_with_stores(cli.serve, stores)
        .await
        .expect("the idle replica");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    tokio::time::sleep(Duration::from_secs(1)).await;
    tally.set_phase("idle");
    let _ = tally.take();
    let started = Instant::now();
    tokio::time::sleep(idle_for).await;
    let idle = tally.take();
    let elapsed = started.elapsed();
    let _ = stop.send(());
    let _ = running.await;
    if let Err(e) = store.drop_database().await {
        println!("  note: could not drop the idle replica's database: {e}");
    }
    (idle, elapsed)
}
