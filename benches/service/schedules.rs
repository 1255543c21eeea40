//! A burst of scheduled digests: users whose schedules share one instant (a cron at one
//! second, in UTC), each with one due alarm, and the time from that instant to the last
//! digest received, with one replica and with two sharing the store. The ceiling is the
//! engine on the same server: as many JetStream publishes of a digest's size, each ack
//! awaited, one at a time as a replica sends a digest, then with 64 in flight.

use crate::ceilings::Rate;
use crate::ingest::peak_rss;
use async_nats::jetstream::{self, stream};
use bytes::Bytes;
use chrono::{DateTime, Duration as Span, Timelike, Utc};
use futures::{StreamExt, TryStreamExt};
use std::collections::HashSet;
use std::time::{Duration, Instant};
use testkit::{NatsServer, Replica, ServiceEnv, StoreKind, TestBus, TestEvent};

/// Schedules written at once while the burst is set up.
const PUTS_IN_FLIGHT: usize = 32;

/// One burst: `digests` due at one instant on `replicas` replicas.
pub struct Burst {
    pub replicas: usize,
    pub digests: usize,
    /// From the instant to the first and the last digest received.
    pub first: Duration,
    pub last: Duration,
    /// Digests each replica sent.
    pub shares: Vec<u64>,
    /// Largest VmHWM of the replicas, bytes.
    pub peak_rss: u64,
    /// The engine: as many JetStream publishes of a digest's size, acks awaited one by one.
    pub serial: Rate,
    /// The engine with 64 publishes in flight.
    pub pipelined: Rate,
}

impl Burst {
    /// Digests per second, instant to last digest.
    pub fn per_second(&self) -> f64 {
        self.digests as f64 / self.last.as_secs_f64().max(1e-9)
    }

    /// The burst's rate as a share of the engine's, one publish at a time.
    pub fn of_serial(&self) -> f64 {
        self.per_second() / self.serial.per_second().max(1e-9)
    }
}

fn user(i: usize) -> String {
    format!("burst-{i:05}")
}

/// The first whole second at least `lead` from now.
fn instant_after(lead: Duration) -> DateTime<Utc> {
    let t = Utc::now() + Span::from_std(lead).unwrap();
    t.with_nanosecond(0).unwrap() + Span::seconds(1)
}

/// `users` schedules due at one instant, on `replicas` replicas of one SQLite store.
pub async fn run(users: usize, replicas: usize) -> Burst {
    let nats = NatsServer::start();
    let env = ServiceEnv::new(nats.url(), StoreKind::Sqlite);
    let mut started = Vec::with_capacity(replicas);
    for _ in 0..replicas {
        started.push(Replica::start(&env).await);
    }
    let bus = TestBus::connect(&nats.url()).await;
    let events: Vec<TestEvent> = (0..users)
        .map(|i| TestEvent::new(&user(i), "disk", "CRITICAL", 1_704_067_200_000_000_000))
        .collect();
    bus.publish_events(&events).await;
    bus.wait_drained(Duration::from_secs(300)).await;

    // Writing a schedule takes well under a millisecond here; give each three.
    let lead = Duration::from_secs(5).max(Duration::from_millis(3 * users as u64));
    let at = instant_after(lead);
    let cron = format!("{} {} {} * * *", at.second(), at.minute(), at.hour());
    let http = reqwest::Client::new();
    let ports: Vec<u16> = started.iter().map(|r| r.http_port).collect();
    futures::stream::iter(0..users)
        .map(|i| {
            let url = format!(
                "http://127.0.0.1:{}/v1/users/{}/digest-schedule",
                ports[i % ports.len()],
                user(i)
            );
            let body = serde_json::json!({"time_zone": "UTC", "cron": cron});
            let http = http.clone();
            async move {
                let answer = http.put(url).json(&body).send().await.map_err(|e| e.to_string())?;
                match answer.status().as_u16() {
                    201 => Ok(()),
                    status => Err(format!("{status} {}", answer.text().await.unwrap_or_default())),
                }
            }
        })
        .buffer_unordered(PUTS_IN_FLIGHT)
        .try_collect::<Vec<()>>()
        .await
        .unwrap_or_else(|e| panic!("a schedule was refused: {e}"));
    assert!(
        Utc::now() < at,
        "writing {users} schedules outlasted the {lead:?} lead: the burst would not be due at once"
    );

    let mut digests = bus.client.subscribe("AlarmDigest").await.unwrap();
    bus.client.flush().await.unwrap();
    let mut seen = HashSet::with_capacity(users);
    let (mut first, mut last, mut size) = (None, Duration::ZERO, 0);
    while seen.len() < users {
        let msg = tokio::time::timeout(Duration::from_secs(300), digests.next())
            .await
            .unwrap_or_else(|_| panic!("{} of {users} scheduled digests within 300 s", seen.len()))
            .expect("the subscription stays open");
        let scheduled = msg
            .headers
            .as_ref()
            .and_then(|h| h.get("Alarm-Digest-Cause"))
            .is_some_and(|c| c.as_str() == "scheduled");
        let body: serde_json::Value = serde_json::from_slice(&msg.payload).expect("digests are JSON");
        let who = body["UserID"].as_str().unwrap_or_default().to_string();
        assert!(scheduled, "{who}'s digest says it was scheduled");
        assert_eq!(body["ActiveAlarms"].as_array().map(Vec::len), Some(1), "{body}");
        let after = (Utc::now() - at).to_std().unwrap_or_default();
        first.get_or_insert(after);
        last = after;
        size = msg.payload.len();
        assert!(seen.insert(who.clone()), "{who} got two digests for one occurrence");
    }
    // A digest is counted once its publish is confirmed: the counters may trail the last one.
    let shares = testkit::eventually(
        "every replica's count of the digests it sent",
        Duration::from_secs(30),
        || async {
            let mut shares = Vec::with_capacity(replicas);
            for replica in &started {
                shares.push(replica.metric("alarm_digest_digests_published_total").await as u64);
            }
            match shares.iter().sum::<u64>() as usize {
                sent if sent == users => Ok(shares),
                sent => Err(format!("{sent} counted: {shares:?}")),
            }
        },
    )
    .await;
    let peak = started.iter().map(|r| peak_rss(r.pid())).max().unwrap_or(0);
    drop(started);
    let (serial, pipelined) = engine(&nats.url(), users, size).await;
    Burst {
        replicas,
        digests: users,
        first: first.unwrap_or_default(),
        last,
        shares,
        peak_rss: peak,
        serial,
        pipelined,
    }
}

/// `n` JetStream publishes of `size` bytes to a stream of their own, each ack awaited
/// before the next; then `n` more with 64 in flight.
async fn engine(url: &str, n: usize, size: usize) -> (Rate, Rate) {
    let js = jetstream::new(async_nats::connect(url).await.unwrap());
    js.create_stream(stream::Config {
        name: "BENCH_BURST".into(),
        subjects: vec!["bench.burst".into()],
        ..Default::default()
    })
    .await
    .unwrap();
    let payload = Bytes::from(vec![b'x'; size.max(1)]);
    let started = Instant::now();
    for _ in 0..n {
        js.publish("bench.burst", payload.clone()).await.unwrap().await.unwrap();
    }
    let serial = Rate {
        count: n as u64,
        elapsed: started.elapsed(),
    };
    let started = Instant::now();
    futures::stream::iter(0..n)
        .map(|_| {
            let (js, payload) = (js.clone(), payload.clone());
            async move { js.publish("bench.burst", payload).await.unwrap().await.unwrap() }
        })
        .buffer_unordered(64)
        .collect::<Vec<_>>()
        .await;
    let pipelined = Rate {
        count: n as u64,
        elapsed: started.elapsed(),
    };
    (serial, pipelined)
}
