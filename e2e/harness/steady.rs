//! Traffic that keeps flowing through broker outages, like careful producers, and a watch
//! on the replicas' intake that tells how long it stood still.

use async_nats::jetstream::{self, message::PublishMessage as Publish};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use testkit::bus::INPUT_STREAM;
use testkit::nats_cluster::interest_report;
use testkit::TestEvent;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// What the traffic sent, once it is done.
#[derive(Debug)]
pub struct TrafficReport {
    /// Events confirmed by the input stream.
    pub events: usize,
    /// Digest requests confirmed, each with its own `Nats-Msg-Id`.
    pub requests: usize,
    /// Publishes tried again after a failure (no leader, no quorum, a node down).
    pub retries: usize,
    /// The longest a single publish took to be confirmed, retries included.
    pub longest_publish: Duration,
}

/// Events (and digest requests among them) published one by one at a steady rate, each
/// retried until the stream confirms it.
pub struct SteadyTraffic {
    task: JoinHandle<TrafficReport>,
    published: Arc<AtomicUsize>,
    progressed: Arc<Notify>,
}

impl SteadyTraffic {
    /// Publishes `events` in order at about `rate` per second, and after every
    /// `request_every` of them a `SendAlarmDigest` for the next of `users`; a publish not
    /// confirmed within `patience` fails the scenario. A publish refused for longer than
    /// [`REPORT_AFTER`] prints what the nodes behind `monitors` say of the subject's interest.
    pub fn start(
        js: jetstream::Context,
        events: Vec<TestEvent>,
        users: Vec<String>,
        request_every: usize,
        rate: u32,
        patience: Duration,
        monitors: Vec<String>,
    ) -> Self {
        let published = Arc::new(AtomicUsize::new(0));
        let progressed = Arc::new(Notify::new());
        let (count, notify) = (Arc::clone(&published), Arc::clone(&progressed));
        let task = tokio::spawn(async move {
            let mut report = TrafficReport {
                events: 0,
                requests: 0,
                retries: 0,
                longest_publish: Duration::ZERO,
            };
            let mut pace = tokio::time::interval(Duration::from_secs(1) / rate.max(1));
            pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            for (i, event) in events.iter().enumerate() {
                pace.tick().await;
                let message = Publish::build().payload(event.to_json().into());
                confirm(&js, "AlarmStatusChanged", message, patience, &monitors, &mut report).await;
                report.events += 1;
                if request_every > 0 && (i + 1) % request_every == 0 && !users.is_empty() {
                    let user = &users[report.requests % users.len()];
                    let body = serde_json::json!({ "UserID": user }).to_string();
                    // Its own id: a retry of a request that was in fact stored is dropped
                    // by the input stream's duplicate window, so no request is doubled.
                    let message = Publish::build()
                        .payload(body.into())
                        .message_id(format!("steady-request-{}", report.requests));
                    confirm(&js, "SendAlarmDigest", message, patience, &monitors, &mut report).await;
                    report.requests += 1;
                }
                count.store(i + 1, Ordering::Relaxed);
                notify.notify_waiters();
            }
            report
        });
        Self {
            task,
            published,
            progressed,
        }
    }

    /// Waits until at least `n` events were confirmed.
    pub async fn wait_published(&self, n: usize, timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.progressed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.published.load(Ordering::Relaxed) >= n {
                return;
            }
            assert!(
                tokio::time::timeout_at(deadline, notified).await.is_ok()
                    || self.published.load(Ordering::Relaxed) >= n,
                "fewer than {n} events confirmed within {timeout:?}"
            );
        }
    }

    /// How many events were confirmed so far.
    pub fn published(&self) -> usize {
        self.published.load(Ordering::Relaxed)
    }

    /// Waits for the rest of the traffic to be confirmed; what was sent.
    pub async fn finish(self) -> TrafficReport {
        self.task.await.expect("the traffic task panicked")
    }
}

/// How long a publish is refused before the nodes are asked where the subject's interest is.
const REPORT_AFTER: Duration = Duration::from_secs(10);

/// Publishes `message` until the stream confirms it.
async fn confirm(
    js: &jetstream::Context,
    subject: &str,
    message: Publish,
    patience: Duration,
    monitors: &[String],
    report: &mut TrafficReport,
) {
    let started = Instant::now();
    let mut reported = false;
    loop {
        let attempt = async {
            js.send_publish(subject.to_string(), message.clone())
                .await?
                .await
                .map_err(async_nats::Error::from)
        };
        match attempt.await {
            Ok(_) => break,
            Err(e) => {
                // Which node the client is on, and what each node matches to the subject,
                // say where the stream's interest went missing.
                let server = js.client().server_info();
                let client_on = format!(
                    "client on {} {}:{}, {:?}",
                    server.server_name,
                    server.host,
                    server.port,
                    js.client().connection_state()
                );
                if started.elapsed() >= patience {
                    let nodes = interest_report(monitors, subject, INPUT_STREAM).await;
                    panic!("{subject} never confirmed within {patience:?}: {e} ({client_on})\n{nodes}");
                }
                if !reported && started.elapsed() >= REPORT_AFTER && !monitors.is_empty() {
                    reported = true;
                    let nodes = interest_report(monitors, subject, INPUT_STREAM).await;
                    println!(
                        "{subject} refused for {:?}: {e} ({client_on})\n{nodes}",
                        started.elapsed()
                    );
                }
                report.retries += 1;
                // Nothing to await while the stream has no leader: try again shortly.
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    report.longest_publish = report.longest_publish.max(started.elapsed());
}

/// Samples the replicas' count of applied `AlarmStatusChanged` messages ten times a second:
/// new events moving the state, not redeliveries found to be duplicates.
pub struct IntakeWatch {
    samples: Arc<Mutex<Vec<(Instant, f64)>>>,
    task: JoinHandle<()>,
}

impl IntakeWatch {
    /// Watches the replicas serving HTTP on `ports`.
    pub fn start(ports: Vec<u16>) -> Self {
        let samples = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&samples);
        let task = tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_millis(500))
                .build()
                .unwrap();
            let mut last = vec![0.0; ports.len()];
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            loop {
                tick.tick().await;
                for (i, port) in ports.iter().enumerate() {
                    if let Some(applied) = applied_events(&client, *port).await {
                        last[i] = applied;
                    }
                }
                sink.lock().unwrap().push((Instant::now(), last.iter().sum()));
            }
        });
        Self { samples, task }
    }

    /// For each of `marks` (kills, restarts, in order), the longest stall from it until the
    /// next mark, the last until `ended`.
    pub fn stalls_after(&self, marks: &[Instant], ended: Instant) -> Vec<Duration> {
        marks
            .iter()
            .enumerate()
            .map(|(i, at)| self.longest_stall(*at, marks.get(i + 1).copied().unwrap_or(ended)))
            .collect()
    }

    /// The longest time within `[from, to]` during which no replica applied an event.
    pub fn longest_stall(&self, from: Instant, to: Instant) -> Duration {
        let samples = self.samples.lock().unwrap();
        let mut longest = Duration::ZERO;
        let mut since = from;
        let mut previous = samples
            .iter()
            .take_while(|(at, _)| *at <= from)
            .last()
            .map_or(0.0, |(_, n)| *n);
        for (at, handled) in samples.iter().filter(|(at, _)| *at > from && *at <= to) {
            if *handled > previous {
                longest = longest.max(at.duration_since(since));
                since = *at;
                previous = *handled;
            }
        }
        longest
    }
}

impl Drop for IntakeWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A replica's count of applied `AlarmStatusChanged` messages.
async fn applied_events(client: &reqwest::Client, port: u16) -> Option<f64> {
    let page = client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    let applied = page
        .lines()
        .filter(|l| l.starts_with("alarm_digest_messages_total{"))
        .filter(|l| l.contains("subject=\"AlarmStatusChanged\"") && l.contains("outcome=\"applied\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    Some(applied)
}
