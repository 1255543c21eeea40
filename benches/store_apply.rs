//! Measures the events per second each store adapter applies on its own, without the
//! service, as a fraction of its engine's ceiling measured in the same run.
//!
//! Adapters: SQLite file store with `Durability::Full` and `Durability::Normal`, and the
//! MongoDB adapter against `MONGODB_URI` or a SecantusDB started for this run. Modes:
//! `single` awaits one `apply(&[event])` per event (one commit each), `batched` applies
//! chunks of [`BATCH`] events. `BENCH_QUICK=1` picks small counts. Only the `apply` calls
//! are timed; after each run the stored state is checked against the domain's own rules so
//! a store that loses or mangles events cannot produce a figure. The ceilings
//! (`testkit::engine`): a plain SQLite upsert of the same rows with the same `synchronous`,
//! 1,000 per transaction, and a plain unordered bulk of upserts of the same documents on
//! the same MongoDB-wire server, [`BATCH`] per command.
//!
//! Run with `cargo bench --bench store_apply`; output goes to stdout only.

use alarm_digest::domain::digest::sort_for_digest;
use alarm_digest::domain::ports::AlarmStore;
use alarm_digest::domain::{
    AlarmEvent, AlarmId, AlarmMetadata, AlarmState, ApplyOutcome, DueAlarm, EventTime, Status, UserId, Version,
};
use alarm_digest::store::mongo::MongoStore;
use alarm_digest::store::redact;
use alarm_digest::store::sqlite::{Durability, SqliteOptions, SqliteStore};
use futures::{stream, StreamExt};
use std::time::{Duration, Instant};
use testkit::engine;

/// Events per `apply` call in the batched mode.
const BATCH: usize = 1000;
/// Alarms per user in every workload.
const ALARMS_PER_USER: usize = 10;
/// The workload seed, mixed with the event count; every run of a count sees the same events.
const SEED: u64 = 0x5EED_A1A2_D16E_0001;
/// How many reads the post-run check keeps in flight.
const VERIFY_CONCURRENCY: usize = 16;

/// xorshift64: tiny, deterministic, good enough to shape a workload.
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform-ish in `0..n` (`n > 0`).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// True with probability `percent`/100.
    fn percent(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// The events of one run and what the domain rules say they must produce.
struct Workload {
    seed: u64,
    users: Vec<UserId>,
    alarms: Vec<AlarmId>,
    events: Vec<AlarmEvent>,
    /// The outcome of each event when applied in order, by [`AlarmState::apply`].
    expected: Vec<ApplyOutcome>,
    /// The final state of alarm `user * ALARMS_PER_USER + alarm`.
    states: Vec<AlarmState>,
}

impl Workload {
    /// `n` events over `user_count` users with [`ALARMS_PER_USER`] alarms each, every alarm
    /// seen at least once: statuses cycle WARNING → CRITICAL → CLEARED per alarm, event
    /// times increase by up to 2 ms, ~10% of events are redeliveries of a recent event and
    /// ~10% arrive after the next event of the same alarm.
    fn generate(n: usize, user_count: usize) -> Self {
        const CYCLE: [Status; 3] = [Status::Warning, Status::Critical, Status::Cleared];
        let seed = SEED ^ n as u64;
        let mut rng = XorShift::new(seed);
        let users: Vec<UserId> = (0..user_count)
            .map(|u| UserId::parse(format!("bench-user-{u:06}")).unwrap())
            .collect();
        let alarms: Vec<AlarmId> = (0..ALARMS_PER_USER)
            .map(|a| AlarmId::parse(format!("disk-usage-{a:02}")).unwrap())
            .collect();
        let keys = user_count * ALARMS_PER_USER;
        let duplicates = n / 10;
        let fresh = n - duplicates;
        assert!(fresh >= keys, "{n} events cannot cover {keys} alarms");

        // Which alarm each fresh event is about: every alarm at least once, then at random,
        // shuffled so alarms interleave.
        let mut slots: Vec<usize> = (0..keys)
            .chain((keys..fresh).map(|_| rng.below(keys as u64) as usize))
            .collect();
        for i in (1..slots.len()).rev() {
            slots.swap(i, rng.below(i as u64 + 1) as usize);
        }

        // Fresh events in time order, each alarm cycling through its statuses.
        let mut clock: i64 = 1_700_000_000_000_000_000;
        let mut cycle_at: Vec<usize> = (0..keys).map(|_| rng.below(3) as usize).collect();
        let mut stream: Vec<AlarmEvent> = slots
            .iter()
            .map(|&key| {
                clock += 1 + rng.below(2_000_000) as i64;
                let (u, a) = (key / ALARMS_PER_USER, key % ALARMS_PER_USER);
                let status = CYCLE[cycle_at[key] % 3];
                cycle_at[key] += 1;
                AlarmEvent {
                    user_id: users[u].clone(),
                    alarm_id: alarms[a].clone(),
                    version: Version {
                        changed_at: EventTime::from_nanos(clock),
                        status,
                    },
                    metadata: AlarmMetadata {
                        name: Some(format!("Disk usage above threshold #{a}")),
                        service: Some(format!("storage-{}", a % 3)),
                        user_name: Some(format!("Bench User {u}")),
                        ..Default::default()
                    },
                }
            })
            .collect();

        // Out of order: some events swap places with the next event of the same alarm.
        let mut positions: Vec<Vec<usize>> = vec![Vec::new(); keys];
        for (i, &key) in slots.iter().enumerate() {
            positions[key].push(i);
        }
        for chain in &positions {
            let mut k = 0;
            while k + 1 < chain.len() {
                if rng.percent(12) {
                    stream.swap(chain[k], chain[k + 1]);
                    k += 2;
                } else {
                    k += 1;
                }
            }
        }

        // Redeliveries: exact copies of one of the last 32 events delivered.
        let mut events: Vec<AlarmEvent> = Vec::with_capacity(n);
        let mut fresh_events = stream.into_iter();
        let mut duplicates_left = duplicates;
        while events.len() < n {
            let redeliver = duplicates_left > 0 && !events.is_empty() && (rng.percent(10) || fresh_events.len() == 0);
            if redeliver {
                let back = 1 + rng.below(events.len().min(32) as u64) as usize;
                events.push(events[events.len() - back].clone());
                duplicates_left -= 1;
            } else {
                events.push(fresh_events.next().expect("fresh events left"));
            }
        }

        let mut states = vec![AlarmState::default(); keys];
        let key_of = |ev: &AlarmEvent| -> usize {
            let u = users.binary_search(&ev.user_id).unwrap();
            let a = alarms.binary_search(&ev.alarm_id).unwrap();
            u * ALARMS_PER_USER + a
        };
        let expected = events.iter().map(|ev| states[key_of(ev)].apply(ev.version)).collect();
        Self {
            seed,
            users,
            alarms,
            events,
            expected,
            states,
        }
    }

    fn count(&self, outcome: ApplyOutcome) -> usize {
        self.expected.iter().filter(|o| **o == outcome).count()
    }

    fn describe(&self) -> String {
        format!(
            "{} events over {} users x {} alarms (seed {:#x}); expected outcomes: {} applied, {} stale, {} duplicate",
            thousands(self.events.len() as u64),
            thousands(self.users.len() as u64),
            self.alarms.len(),
            self.seed,
            thousands(self.count(ApplyOutcome::Applied) as u64),
            thousands(self.count(ApplyOutcome::Stale) as u64),
            thousands(self.count(ApplyOutcome::Duplicate) as u64),
        )
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Single,
    Batched,
}

impl Mode {
    fn as_str(self) -> &'static str {
        match self {
            Mode::Single => "single",
            Mode::Batched => "batched",
        }
    }
}

/// One measured figure.
struct Figure {
    adapter: &'static str,
    mode: Mode,
    events: usize,
    elapsed: Duration,
}

impl Figure {
    fn rate(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64()
    }
}

/// How much one adapter is given. Both modes run over the same users, so the alarm
/// population (what the store searches) is the same and only the mode differs.
#[derive(Clone, Copy)]
struct Size {
    users: usize,
    single: usize,
    batched: usize,
}

/// Event counts per adapter.
struct Sizes {
    sqlite: Size,
    mongo: Size,
}

impl Sizes {
    /// Small counts under `BENCH_QUICK`, larger otherwise. The MongoDB-wire counts are
    /// smaller because SecantusDB (a Python test server) costs milliseconds per operation,
    /// more as its collection grows.
    fn from_env() -> (Self, bool) {
        let quick = std::env::var("BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
        let sizes = if quick {
            Sizes {
                sqlite: Size {
                    users: 20,
                    single: 2_000,
                    batched: 20_000,
                },
                mongo: Size {
                    users: 3,
                    single: 300,
                    batched: 1_500,
                },
            }
        } else {
            Sizes {
                sqlite: Size {
                    users: 200,
                    single: 20_000,
                    batched: 200_000,
                },
                mongo: Size {
                    users: 10,
                    single: 1_000,
                    batched: 5_000,
                },
            }
        };
        (sizes, quick)
    }
}

/// Applies the whole workload and returns the time spent inside `apply` calls; panics when
/// any outcome differs from the domain rules.
async fn run(store: &dyn AlarmStore, workload: &Workload, mode: Mode, label: &str) -> Duration {
    let chunk = match mode {
        Mode::Single => 1,
        Mode::Batched => BATCH,
    };
    let mut outcomes = Vec::with_capacity(workload.events.len());
    let started = Instant::now();
    for events in workload.events.chunks(chunk) {
        let got = store
            .apply(events)
            .await
            .unwrap_or_else(|e| panic!("{label}: apply failed: {e}"));
        outcomes.extend(got);
    }
    let elapsed = started.elapsed();
    assert_eq!(
        outcomes.len(),
        workload.expected.len(),
        "{label}: one outcome per event"
    );
    if let Some(i) = (0..outcomes.len()).find(|&i| outcomes[i] != workload.expected[i]) {
        panic!(
            "{label}: event #{i} {:?} gave {:?}, the domain rules say {:?}",
            workload.events[i], outcomes[i], workload.expected[i]
        );
    }
    elapsed
}

/// Checks that the store holds exactly the U×A alarms of the workload with the states the
/// domain rules give, and that each user's due list matches; panics otherwise.
async fn verify(store: &dyn AlarmStore, workload: &Workload, label: &str) {
    let started = Instant::now();
    let keys: Vec<(usize, usize)> = (0..workload.users.len())
        .flat_map(|u| (0..ALARMS_PER_USER).map(move |a| (u, a)))
        .collect();
    let found: usize = stream::iter(keys)
        .map(|(u, a)| async move {
            let (user, alarm) = (&workload.users[u], &workload.alarms[a]);
            let record = store
                .alarm(user, alarm)
                .await
                .unwrap_or_else(|e| panic!("{label}: reading {user}/{alarm} failed: {e}"))
                .unwrap_or_else(|| panic!("{label}: alarm {user}/{alarm} was lost"));
            let want = &workload.states[u * ALARMS_PER_USER + a];
            assert_eq!(&record.state, want, "{label}: wrong state stored for {user}/{alarm}");
            1
        })
        .buffer_unordered(VERIFY_CONCURRENCY)
        .fold(0, |n, one| async move { n + one })
        .await;
    let distinct = workload.users.len() * ALARMS_PER_USER;
    assert_eq!(found, distinct, "{label}: distinct alarms stored");

    let due: usize = stream::iter(0..workload.users.len())
        .map(|u| async move {
            let user = &workload.users[u];
            let mut got = store
                .due_alarms(user)
                .await
                .unwrap_or_else(|e| panic!("{label}: due alarms of {user} failed: {e}"));
            let mut want: Vec<DueAlarm> = (0..ALARMS_PER_USER)
                .filter_map(|a| {
                    let state = &workload.states[u * ALARMS_PER_USER + a];
                    state.is_due().then(|| DueAlarm {
                        alarm_id: workload.alarms[a].clone(),
                        version: state.latest().unwrap(),
                    })
                })
                .collect();
            sort_for_digest(&mut got);
            sort_for_digest(&mut want);
            assert_eq!(got, want, "{label}: due alarms of {user}");
            got.len()
        })
        .buffer_unordered(VERIFY_CONCURRENCY)
        .fold(0, |n, count| async move { n + count })
        .await;
    println!(
        "  check {label}: {} distinct alarms stored as expected, {} due; checked in {:.2} s",
        thousands(found as u64),
        thousands(due as u64),
        started.elapsed().as_secs_f64()
    );
}

fn report(figure: &Figure) {
    println!(
        "store_apply {} {}: {} events/s ({} events in {:.2} s)",
        figure.adapter,
        figure.mode.as_str(),
        thousands(figure.rate().round() as u64),
        thousands(figure.events as u64),
        figure.elapsed.as_secs_f64()
    );
}

/// Applies the workload to `store`, reports the figure, then checks nothing was lost.
async fn measure(store: &dyn AlarmStore, adapter: &'static str, mode: Mode, workload: &Workload) -> Figure {
    let label = format!("{adapter} {}", mode.as_str());
    let elapsed = run(store, workload, mode, &label).await;
    let figure = Figure {
        adapter,
        mode,
        events: workload.events.len(),
        elapsed,
    };
    report(&figure);
    verify(store, workload, &label).await;
    figure
}

async fn bench_sqlite(adapter: &'static str, durability: Durability, mode: Mode, workload: &Workload) -> Figure {
    let dir = tempfile::tempdir().expect("temp dir for SQLite");
    let store = SqliteStore::open(
        dir.path().join("alarms.db"),
        SqliteOptions {
            durability,
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("{adapter}: cannot open SQLite: {e}"));
    let figure = measure(&store, adapter, mode, workload).await;
    figure
}

async fn bench_mongo(uri: &str, mode: Mode, workload: &Workload) -> Figure {
    let adapter = "mongo";
    let database = testkit::unique_database("bench_store_apply");
    let store = MongoStore::connect(uri, Some(&database), Default::default())
        .await
        .unwrap_or_else(|e| panic!("{adapter}: cannot connect to {}: {e}", redact(uri)));
    let figure = measure(&store, adapter, mode, workload).await;
    if let Err(e) = store.drop_database().await {
        println!("  note: could not drop database {database}: {e}");
    }
    figure
}

/// `1234567` as `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The ceiling an adapter is reported against.
fn ceiling_of(adapter: &str) -> Option<&'static str> {
    match adapter {
        "sqlite-full" => Some("sqlite-plain-full"),
        "sqlite-normal" => Some("sqlite-plain-normal"),
        "mongo" => Some("mongo-plain-bulk"),
        _ => None,
    }
}

fn table(figures: &[Figure]) {
    println!();
    println!("| adapter or ceiling | mode | events | seconds | events/s | of its ceiling (batched) |");
    println!("| --- | --- | ---: | ---: | ---: | ---: |");
    for f in figures {
        let ceiling = ceiling_of(f.adapter).and_then(|c| {
            figures
                .iter()
                .find(|g| g.adapter == c && g.mode == Mode::Batched)
                .map(Figure::rate)
        });
        let ratio = ceiling.map_or_else(String::new, |c| format!("{:.1}%", 100.0 * f.rate() / c));
        println!(
            "| {} | {} | {} | {:.2} | {} | {} |",
            f.adapter,
            f.mode.as_str(),
            thousands(f.events as u64),
            f.elapsed.as_secs_f64(),
            thousands(f.rate().round() as u64),
            ratio
        );
    }
}

/// A ceiling's figure, reported like an adapter's.
fn ceiling(adapter: &'static str, events: usize, elapsed: Duration) -> Figure {
    let figure = Figure {
        adapter,
        mode: Mode::Batched,
        events,
        elapsed,
    };
    report(&figure);
    figure
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(bench());
}

async fn bench() {
    let (sizes, quick) = Sizes::from_env();
    println!(
        "store_apply: events/s of AlarmStore::apply per adapter, without the service ({} sizes; single = one apply per \
         event, one commit each; batched = apply of {BATCH} events)",
        if quick { "BENCH_QUICK" } else { "full" }
    );
    println!("  sqlite-full:   WAL, synchronous=FULL: a committed event survives a power loss");
    println!(
        "  sqlite-normal: WAL, synchronous=NORMAL: a committed event survives a crash of the process, the last \
         commits may be lost on power loss"
    );

    let mut figures = Vec::new();
    let size = sizes.sqlite;
    for (mode, n) in [(Mode::Single, size.single), (Mode::Batched, size.batched)] {
        let workload = Workload::generate(n, size.users);
        println!("workload sqlite {}: {}", mode.as_str(), workload.describe());
        for (adapter, durability) in [("sqlite-full", Durability::Full), ("sqlite-normal", Durability::Normal)] {
            figures.push(bench_sqlite(adapter, durability, mode, &workload).await);
        }
        if mode == Mode::Batched {
            for (adapter, synchronous) in [("sqlite-plain-full", "FULL"), ("sqlite-plain-normal", "NORMAL")] {
                let elapsed =
                    tokio::task::block_in_place(|| engine::sqlite::upsert(&workload.events, synchronous, false));
                figures.push(ceiling(adapter, workload.events.len(), elapsed));
            }
        }
    }

    let from_env = std::env::var("MONGODB_URI").is_ok_and(|v| !v.is_empty());
    let uri = tokio::task::spawn_blocking(testkit::mongo_uri)
        .await
        .expect("starting the MongoDB-wire server");
    if from_env {
        println!(
            "  mongo: MONGODB_URI {}: durability as the server's default write concern promises",
            redact(&uri)
        );
    } else {
        println!(
            "  mongo: SecantusDB started for this run with --storage-path :memory: ({}): nothing survives a restart \
             of the server; SecantusDB is a Python test server whose cost per operation grows with the collection, \
             so this is a floor for the adapter, not a MongoDB figure (set MONGODB_URI for a real server)",
            redact(&uri)
        );
    }
    let size = sizes.mongo;
    for (mode, n) in [(Mode::Single, size.single), (Mode::Batched, size.batched)] {
        let workload = Workload::generate(n, size.users);
        println!("workload mongo {}: {}", mode.as_str(), workload.describe());
        figures.push(bench_mongo(&uri, mode, &workload).await);
        if mode == Mode::Batched {
            let database = testkit::unique_database("bench_store_ceiling");
            let elapsed = engine::mongo::bulk_upsert(&uri, &database, &workload.events, BATCH).await;
            figures.push(ceiling("mongo-plain-bulk", workload.events.len(), elapsed));
        }
    }

    table(&figures);
}
