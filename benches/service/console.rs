//! Console pages at size: 10,000 alarms of 100 users, 500 services with open incidents and
//! 100 dead letters, each page requested one at a time over loopback (the server's time
//! plus a local round trip), beside the engine's own read of the same rows timed in the
//! same run: the plain SQL statement on the same database file, or for dead letters raw
//! JetStream message gets. No page can beat its engine's read.

use rusqlite::{Connection, OpenFlags};
use serde_json::json;
use std::time::{Duration, Instant};
use testkit::NatsServer;
use testkit::{Replica, ServiceEnv, StoreKind, TestBus};

/// One page's figures.
pub struct PageTime {
    /// What the page shows.
    pub label: &'static str,
    /// Its path.
    pub path: String,
    /// Request durations.
    pub samples: Vec<Duration>,
    /// The plain statement reading the same rows, and its durations.
    pub ceiling: (&'static str, Vec<Duration>),
}

impl PageTime {
    /// The `q`-quantile of the page (nearest rank).
    pub fn quantile(&self, q: f64) -> Duration {
        crate::floor::quantile(&self.samples, q)
    }

    /// The `q`-quantile of the plain statement.
    pub fn ceiling_quantile(&self, q: f64) -> Duration {
        crate::floor::quantile(&self.ceiling.1, q)
    }

    /// The page's median as a multiple of the statement's median.
    pub fn over_ceiling(&self) -> f64 {
        self.quantile(0.50).as_secs_f64() / self.ceiling_quantile(0.50).as_secs_f64().max(1e-9)
    }
}

/// What the console run measured.
pub struct ConsoleRun {
    pub alarms: usize,
    pub services: usize,
    pub pages: Vec<PageTime>,
}

impl ConsoleRun {
    /// The slowest page's p99.
    pub fn slowest_p99(&self) -> Option<(&PageTime, Duration)> {
        self.pages.iter().map(|p| (p, p.quantile(0.99))).max_by_key(|(_, d)| *d)
    }
}

const USERS: usize = 100;

/// Publishes whose acks the seeding awaits together.
const ACKS_IN_FLIGHT: usize = 500;

/// What a page's ceiling reads.
enum Ceiling {
    /// A plain SQL statement on the store's file.
    Sql(&'static str),
    /// The latest `n` messages of the dead-letter stream, one raw get each.
    DeadLetters(u64),
}

/// Dead letters seeded, and how many a page shows.
const DEAD_LETTERS: usize = 100;
const DEAD_LETTERS_PER_PAGE: u64 = 50;

/// The pages measured: (label, path, what the ceiling reads, the ceiling).
fn pages() -> Vec<(&'static str, String, &'static str, Ceiling)> {
    use Ceiling::{DeadLetters, Sql};
    vec![
        (
            "Alarms, first page (100 rows)",
            "/alarms".into(),
            "the first 100 rows in listing order",
            Sql("SELECT * FROM alarms ORDER BY changed_at, alarm_id, user_id LIMIT 100"),
        ),
        (
            "Alarms, filtered by service and status",
            "/alarms?service=svc-7&status=CRITICAL".into(),
            "the same filter's first 100 rows",
            Sql("SELECT * FROM alarms WHERE service = 'svc-7' AND status = 'CRITICAL'
             ORDER BY changed_at, alarm_id, user_id LIMIT 100"),
        ),
        (
            "Alarms, text search",
            "/alarms?q=disk".into(),
            "the same search's first 100 rows",
            Sql("SELECT * FROM alarms WHERE instr(lower(name), 'disk') > 0
             ORDER BY changed_at, alarm_id, user_id LIMIT 100"),
        ),
        (
            "Alarm, with its history",
            "/alarms/user-007/alarm-0003".into(),
            "the alarm's row and history",
            Sql("SELECT * FROM alarms a JOIN alarm_history h USING (user_id, alarm_id)
             WHERE a.user_id = 'user-007' AND a.alarm_id = 'alarm-0003'"),
        ),
        (
            "Digest preview of one user (three in four of their alarms due)",
            "/users/user-007/digest".into(),
            "the user's due rows in digest order",
            Sql("SELECT * FROM alarms WHERE user_id = 'user-007' AND due = 1 ORDER BY changed_at, alarm_id"),
        ),
        (
            "Services, first page (50 of them)",
            "/services".into(),
            "the first 50 service rows by id",
            Sql("SELECT * FROM pager_services ORDER BY service_id LIMIT 50"),
        ),
        (
            "Service, with its incident and notifications",
            "/services/service-042".into(),
            "the service's row",
            Sql("SELECT * FROM pager_services WHERE service_id = 'service-042'"),
        ),
        (
            "Statistics over every alarm, with charts",
            "/stats".into(),
            "every alarm with its history",
            Sql("SELECT * FROM alarms a LEFT JOIN alarm_history h USING (user_id, alarm_id)"),
        ),
        (
            "Statistics of one service",
            "/stats?service=svc-7".into(),
            "the service's alarms with their history",
            Sql("SELECT * FROM alarms a LEFT JOIN alarm_history h USING (user_id, alarm_id) WHERE a.service = 'svc-7'"),
        ),
        (
            "Dead letters, latest page",
            "/dead-letters".into(),
            "the latest 50 dead letters, one raw JetStream get each",
            DeadLetters(DEAD_LETTERS_PER_PAGE),
        ),
    ]
}

/// Times `samples` reads of what `ceiling` reads (after three unmeasured ones).
async fn time_ceiling(
    ceiling: &Ceiling,
    plain: &Connection,
    js: &async_nats::jetstream::Context,
    samples: usize,
) -> Vec<Duration> {
    let mut times = Vec::with_capacity(samples);
    match ceiling {
        Ceiling::Sql(sql) => {
            let mut statement = plain.prepare(sql).unwrap();
            let columns = statement.column_count();
            for round in 0..samples + 3 {
                let started = Instant::now();
                let mut rows = statement.query([]).unwrap();
                let mut read = 0usize;
                while let Some(row) = rows.next().unwrap() {
                    for c in 0..columns {
                        let _ = row.get_ref(c).unwrap();
                    }
                    read += 1;
                }
                let took = started.elapsed();
                assert!(read > 0, "{sql} read nothing");
                if round >= 3 {
                    times.push(took);
                }
            }
        }
        Ceiling::DeadLetters(n) => {
            let mut stream = js.get_stream("ALARM_DIGEST_DEADLETTERS").await.unwrap();
            for round in 0..samples + 3 {
                let started = Instant::now();
                let last = stream.info().await.unwrap().state.last_sequence;
                for sequence in (last.saturating_sub(n - 1).max(1)..=last).rev() {
                    stream.get_raw_message(sequence).await.unwrap();
                }
                let took = started.elapsed();
                if round >= 3 {
                    times.push(took);
                }
            }
        }
    }
    times
}

/// Seeds `alarms` alarms, `services` open incidents and some dead letters on a fresh
/// replica over SQLite, then times every page `samples` times.
pub async fn run(alarms: usize, services: usize, samples: usize) -> ConsoleRun {
    let nats = NatsServer::start();
    let env = ServiceEnv::new(nats.url(), StoreKind::Sqlite);
    let replica = Replica::start(&env).await;
    let bus = TestBus::connect(&nats.url()).await;
    let js = async_nats::jetstream::new(bus.client.clone());
    let mut acks = Vec::with_capacity(ACKS_IN_FLIGHT);
    for i in 0..alarms {
        // Each user's alarms mix statuses and names; services cut across users.
        let a = i / USERS;
        let status = ["CRITICAL", "WARNING", "WARNING", "CLEARED"][a % 4];
        let name = if a.is_multiple_of(5) { "Disk full" } else { "CPU hot" };
        let event = json!({
            "UserID": format!("user-{:03}", i % USERS), "AlarmID": format!("alarm-{a:04}"),
            "Status": status, "ChangedAt": format!("2026-01-01T{:02}:{:02}:{:02}Z", i / 3600 % 24, i / 60 % 60, i % 60),
            "Name": name, "Service": format!("svc-{}", i % 50), "UserName": "Ann",
        });
        acks.push(
            js.publish("AlarmStatusChanged", event.to_string().into())
                .await
                .unwrap(),
        );
        // The client allows a bounded number of acks in flight: await them in rounds.
        if acks.len() == ACKS_IN_FLIGHT {
            for ack in acks.drain(..) {
                ack.await.unwrap();
            }
        }
    }
    for ack in acks {
        ack.await.unwrap();
    }
    for s in 0..services {
        bus.alert(&format!("service-{s:03}")).await;
    }
    for d in 0..DEAD_LETTERS {
        let refused = json!({ "UserID": format!("user-{d}"), "Status": "BROKEN" });
        js.publish("AlarmStatusChanged", refused.to_string().into())
            .await
            .unwrap()
            .await
            .unwrap();
    }
    bus.wait_drained(Duration::from_secs(600)).await;

    let db = env
        .store_url
        .strip_prefix("sqlite://")
        .expect("an SQLite store")
        .to_string();
    let plain = Connection::open_with_flags(&db, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{}", replica.http_port);
    let mut measured = Vec::new();
    for (label, path, what, ceiling) in pages() {
        let url = format!("{base}{path}");
        let mut times = Vec::with_capacity(samples);
        for round in 0..samples + 3 {
            let started = Instant::now();
            let response = http.get(&url).send().await.unwrap();
            assert_eq!(response.status(), 200, "GET {path}");
            let body = response.bytes().await.unwrap();
            let took = started.elapsed();
            assert!(body.len() > 500, "GET {path}: {} bytes", body.len());
            if round >= 3 {
                times.push(took);
            }
        }
        let ceiling = time_ceiling(&ceiling, &plain, &js, samples).await;
        measured.push(PageTime {
            label,
            path,
            samples: times,
            ceiling: (what, ceiling),
        });
    }
    drop(replica);
    ConsoleRun {
        alarms,
        services,
        pages: measured,
    }
}
