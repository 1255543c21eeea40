//! The test's own NATS client: publishing like producers do, watching the consumer drain,
//! and recording every digest a downstream consumer would see.

use crate::eventually;
use crate::model::{DigestEntry, DigestMsg, TestEvent};
use async_nats::jetstream::{self, consumer::pull};
use futures::StreamExt;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// Default stream and consumer names of the service.
pub const INPUT_STREAM: &str = "ALARM_DIGEST_INPUT";
pub const CONSUMER: &str = "alarm-digest";
pub const DIGEST_STREAM: &str = "ALARM_DIGESTS";
pub const DEAD_LETTER_STREAM: &str = "ALARM_DIGEST_DEADLETTERS";

/// A client connected to the scenario's server.
pub struct TestBus {
    pub client: async_nats::Client,
    pub js: jetstream::Context,
}

impl TestBus {
    /// Connects like a careful producer: pinging every second, so a server that stops
    /// answering (a paused node) is left for another within a few seconds.
    pub async fn connect(url: &str) -> Self {
        let options = async_nats::ConnectOptions::new().ping_interval(Duration::from_secs(1));
        Self::connect_with(url, options).await
    }

    /// Connects with credentials, TLS or other options; `url` may list several servers,
    /// comma-separated, as `NATS_URL` does.
    pub async fn connect_with(url: &str, options: async_nats::ConnectOptions) -> Self {
        let servers: Vec<&str> = url.split(',').collect();
        let client = options.connect(servers).await.unwrap();
        let js = jetstream::new(client.clone());
        Self { client, js }
    }

    /// Publishes events through JetStream, waiting for every PubAck (pipelined).
    pub async fn publish_events(&self, events: &[TestEvent]) {
        let mut pending = Vec::with_capacity(256);
        for e in events {
            pending.push(self.js.publish("AlarmStatusChanged", e.to_json().into()).await.unwrap());
            if pending.len() == 256 {
                for ack in pending.drain(..) {
                    ack.await.unwrap();
                }
            }
        }
        for ack in pending {
            ack.await.unwrap();
        }
    }

    /// Publishes events one by one, retrying each until the stream confirms it: for
    /// publishing through a broker restart, like a careful producer would.
    pub async fn publish_events_through_outages(&self, events: &[TestEvent], patience: Duration) {
        for e in events {
            // Nothing to await while the broker is down: retry until the stream confirms.
            eventually(format!("the stream to confirm event {e:?}"), patience, || async {
                let ack = self.js.publish("AlarmStatusChanged", e.to_json().into()).await;
                ack.map_err(|err| err.to_string())?.await.map_err(|err| err.to_string())
            })
            .await;
        }
    }

    /// Publishes one digest request through JetStream.
    pub async fn request_digest(&self, user: &str) {
        let body = serde_json::json!({ "UserID": user }).to_string();
        self.js
            .publish("SendAlarmDigest", body.into())
            .await
            .unwrap()
            .await
            .unwrap();
    }

    /// Publishes a JSON message (a pager input, ...) through JetStream and waits for the
    /// PubAck.
    pub async fn publish_json(&self, subject: &str, body: serde_json::Value) {
        self.js
            .publish(subject.to_string(), body.to_string().into())
            .await
            .unwrap()
            .await
            .unwrap();
    }

    /// Publishes a `PagerAlert` for `service`.
    pub async fn alert(&self, service: &str) {
        let body = serde_json::json!({
            "ServiceID": service,
            "Message": format!("{service} is down"),
            "RaisedAt": "2024-01-01T00:00:00Z",
        });
        self.publish_json("PagerAlert", body).await;
    }

    /// Publishes raw bytes with core NATS, like `nats pub`, and flushes.
    pub async fn publish_raw(&self, subject: &str, payload: Vec<u8>) {
        self.client.publish(subject.to_string(), payload.into()).await.unwrap();
        self.client.flush().await.unwrap();
    }

    /// Messages of the shared consumer not yet acknowledged: pending plus in flight.
    pub async fn backlog(&self) -> u64 {
        let (pending, unacked) = self.consumer_state().await;
        pending + unacked
    }

    /// The shared consumer's messages not yet delivered, and delivered but not yet acked.
    pub async fn consumer_state(&self) -> (u64, u64) {
        self.try_consumer_state().await.unwrap()
    }

    /// The first `count` dead letters, as (the subject they came on, the reason), each
    /// awaited for up to `patience`.
    pub async fn dead_letters(&self, count: usize, patience: Duration) -> Vec<(String, String)> {
        let stream = self.js.get_stream(DEAD_LETTER_STREAM).await.unwrap();
        let consumer = stream.create_consumer(pull::OrderedConfig::default()).await.unwrap();
        let mut letters = consumer.messages().await.unwrap();
        let mut found = Vec::with_capacity(count);
        while found.len() < count {
            let msg = tokio::time::timeout(patience, letters.next())
                .await
                .expect("a dead letter per reject")
                .unwrap()
                .unwrap();
            let headers = msg.headers.as_ref().expect("dead letters carry headers");
            let header = |name: &str| {
                headers
                    .get(name)
                    .unwrap_or_else(|| panic!("a {name} header"))
                    .to_string()
            };
            found.push((header("Alarm-Digest-Subject"), header("Alarm-Digest-Reason")));
        }
        found
    }

    /// Waits until the shared consumer has nothing pending and nothing unacknowledged:
    /// everything published so far was committed and acked. A JetStream that does not
    /// answer (a leader election in a cluster) is asked again until `timeout`.
    pub async fn wait_drained(&self, timeout: Duration) {
        eventually("the shared consumer to drain", timeout, || async {
            let state = tokio::time::timeout(Duration::from_secs(2), self.try_consumer_state()).await;
            match state {
                Ok(Ok((0, 0))) => Ok(()),
                Ok(Ok((pending, unacked))) => Err(format!("{pending} pending, {unacked} unacked")),
                Ok(Err(e)) => Err(format!("consumer info failed: {e}")),
                Err(_) => Err("consumer info timed out".to_string()),
            }
        })
        .await
    }

    async fn try_consumer_state(&self) -> Result<(u64, u64), async_nats::Error> {
        let stream = self.js.get_stream(INPUT_STREAM).await?;
        let mut consumer: jetstream::consumer::Consumer<pull::Config> = stream.get_consumer(CONSUMER).await?;
        let info = consumer.info().await?;
        Ok((info.num_pending, info.num_ack_pending as u64))
    }
}

/// How many messages stream `name` holds, asked again while JetStream does not answer.
pub async fn stored_messages(bus: &TestBus, name: &str, timeout: Duration) -> u64 {
    // A stream without a leader answers nothing to await; ask again shortly.
    eventually(format!("stream {name} to answer"), timeout, || async {
        let info = async {
            let mut stream = bus.js.get_stream(name).await?;
            Ok::<_, async_nats::Error>(stream.info().await?.state.messages)
        };
        match tokio::time::timeout(Duration::from_secs(2), info).await {
            Ok(result) => result.map_err(|e| e.to_string()),
            Err(_) => Err("stream info timed out".to_string()),
        }
    })
    .await
}

/// Every digest seen by one downstream consumer, in arrival order; a digest split into
/// parts is reassembled, and counts once all its parts arrived.
#[derive(Clone, Default)]
pub struct DigestLog {
    state: Arc<Mutex<LogState>>,
    arrived: Arc<Notify>,
}

#[derive(Default)]
struct LogState {
    digests: Vec<DigestMsg>,
    assembler: Assembler,
    /// Messages read, parts counted one by one.
    messages: usize,
}

/// Puts digests split into parts back together, in the order their last parts arrive.
#[derive(Default)]
pub struct Assembler {
    /// Parts received of digests not yet complete, by digest id, indexed by part - 1.
    partial: HashMap<String, Vec<Option<DigestMsg>>>,
}

/// `(digest id, part, parts)` from a digest message's headers; `None` for a digest
/// published whole by a service that does not number its parts.
fn part_of(headers: Option<&async_nats::HeaderMap>) -> Option<(String, usize, usize)> {
    let h = headers?;
    let id = h.get("Alarm-Digest-Id")?.as_str().to_string();
    let part = h.get("Alarm-Digest-Part")?.as_str().parse().ok()?;
    let parts = h.get("Alarm-Digest-Parts")?.as_str().parse().ok()?;
    Some((id, part, parts))
}

/// One digest message as the test reads it; `sequence` is its place in the digest stream
/// (0 when it came through core NATS).
fn digest_message(payload: &[u8], headers: Option<&async_nats::HeaderMap>, sequence: u64) -> DigestMsg {
    let header = |name: &str| headers.and_then(|h| h.get(name)).map(|v| v.as_str().to_string());
    let v: serde_json::Value = serde_json::from_slice(payload).expect("digests are JSON");
    let alarms = v["ActiveAlarms"]
        .as_array()
        .expect("ActiveAlarms is an array")
        .iter()
        .map(|a| DigestEntry {
            alarm: a["AlarmID"].as_str().unwrap().to_string(),
            status: a["Status"].as_str().unwrap().to_string(),
            changed_at: a["LatestChangedAt"].as_str().unwrap().to_string(),
        })
        .collect();
    DigestMsg {
        user: v["UserID"].as_str().unwrap().to_string(),
        alarms,
        parts: 1,
        id: header("Alarm-Digest-Id"),
        sequences: if sequence > 0 { vec![sequence] } else { Vec::new() },
        cause: header("Alarm-Digest-Cause"),
        occurrence: header("Alarm-Digest-Occurrence"),
    }
}

impl Assembler {
    /// Takes one message; the whole digest once its last part is in.
    pub fn add(&mut self, payload: &[u8], headers: Option<&async_nats::HeaderMap>, sequence: u64) -> Option<DigestMsg> {
        let digest = digest_message(payload, headers, sequence);
        let Some((id, part, parts)) = part_of(headers).filter(|(_, _, parts)| *parts > 1) else {
            return Some(digest);
        };
        assert!((1..=parts).contains(&part), "part {part} of {parts} of digest {id}");
        let slots = self.partial.entry(id.clone()).or_insert_with(|| vec![None; parts]);
        assert_eq!(slots.len(), parts, "digest {id} changed its number of parts");
        assert!(slots[part - 1].is_none(), "part {part} of digest {id} seen twice");
        slots[part - 1] = Some(digest);
        if !slots.iter().all(Option::is_some) {
            return None;
        }
        let slots = self.partial.remove(&id).unwrap();
        let first = slots[0].as_ref().unwrap();
        let mut whole = DigestMsg {
            user: first.user.clone(),
            alarms: Vec::new(),
            parts,
            id: Some(id.clone()),
            sequences: Vec::new(),
            cause: first.cause.clone(),
            occurrence: first.occurrence.clone(),
        };
        for p in slots.into_iter().flatten() {
            assert_eq!(p.user, whole.user, "parts of digest {id} name one user");
            whole.alarms.extend(p.alarms);
            whole.sequences.extend(p.sequences);
        }
        Some(whole)
    }
}

/// Every digest the digest stream holds, read message by message by sequence (the
/// stream's own get, not a consumer), so what the checker judges cannot depend on a
/// consumer's delivery. A sequence the stream no longer has (a gap) is reported.
pub async fn digests_by_sequence(bus: &TestBus, timeout: Duration) -> Vec<DigestMsg> {
    let (first, last) = stream_bounds(bus, DIGEST_STREAM, timeout).await;
    let mut assembler = Assembler::default();
    let mut digests = Vec::new();
    for message in stored_range(bus, DIGEST_STREAM, first, last, timeout).await {
        if let Some(d) = assembler.add(&message.payload, Some(&message.headers), message.sequence) {
            digests.push(d);
        }
    }
    digests
}

/// The first and last sequence stream `name` holds.
pub async fn stream_bounds(bus: &TestBus, name: &str, timeout: Duration) -> (u64, u64) {
    // A stream without a leader answers nothing to await; ask again shortly.
    eventually(format!("stream {name} to answer"), timeout, || async {
        let info = async {
            let mut stream = bus.js.get_stream(name).await?;
            let state = stream.info().await?.state.clone();
            Ok::<_, async_nats::Error>((state.first_sequence, state.last_sequence))
        };
        match tokio::time::timeout(Duration::from_secs(2), info).await {
            Ok(result) => result.map_err(|e| e.to_string()),
            Err(_) => Err("stream info timed out".to_string()),
        }
    })
    .await
}

/// Messages `first..=last` of stream `name`, each asked of the stream by sequence (again
/// while it has no leader); a sequence the stream does not hold is skipped and printed.
pub async fn stored_range(
    bus: &TestBus,
    name: &str,
    first: u64,
    last: u64,
    timeout: Duration,
) -> Vec<jetstream::message::StreamMessage> {
    let stream = bus.js.get_stream(name).await.expect("the stream exists");
    let mut out = Vec::with_capacity((last + 1).saturating_sub(first) as usize);
    for sequence in first.max(1)..=last {
        // A stream without a leader answers nothing to await; ask again shortly. A
        // sequence the stream does not hold is an answer too: `None`, printed.
        let what = format!("stream {name} to give message {sequence}");
        let message = eventually(what, timeout, || async {
            match stream.get_raw_message(sequence).await {
                Ok(message) => Ok(Some(message)),
                Err(e) if matches!(e.kind(), jetstream::stream::RawMessageErrorKind::NoMessageFound) => Ok(None),
                Err(e) => Err(e.to_string()),
            }
        })
        .await;
        match message {
            Some(message) => out.push(message),
            None => println!("stream {name} has no message {sequence} (of {first}..={last})"),
        }
    }
    out
}

impl DigestLog {
    /// Reads the digest stream from its start with an ordered consumer, like a downstream
    /// JetStream consumer: copies the broker deduplicated are not seen.
    pub async fn from_stream(bus: &TestBus) -> Self {
        let log = DigestLog::default();
        let stream = bus
            .js
            .get_stream(DIGEST_STREAM)
            .await
            .expect("the service creates the digest stream before consuming");
        let consumer = stream.create_consumer(pull::OrderedConfig::default()).await.unwrap();
        let mut messages = consumer.messages().await.unwrap();
        let sink = log.clone();
        tokio::spawn(async move {
            // The ordered consumer re-creates itself after a leader move; the errors it
            // reports on the way are not the end of the stream.
            while let Some(next) = messages.next().await {
                match next {
                    Ok(msg) => {
                        let sequence = msg.info().map(|i| i.stream_sequence).unwrap_or(0);
                        sink.push(&msg.payload, msg.headers.as_ref(), sequence)
                    }
                    Err(e) => eprintln!("digest log: {e}; reading on"),
                }
            }
        });
        log
    }

    /// Listens to the digest subject with core NATS.
    pub async fn from_core(bus: &TestBus) -> Self {
        let log = DigestLog::default();
        let mut sub = bus.client.subscribe("AlarmDigest").await.unwrap();
        bus.client.flush().await.unwrap();
        let sink = log.clone();
        tokio::spawn(async move {
            while let Some(msg) = sub.next().await {
                sink.push(&msg.payload, msg.headers.as_ref(), 0);
            }
        });
        log
    }

    fn push(&self, payload: &[u8], headers: Option<&async_nats::HeaderMap>, sequence: u64) {
        let mut state = self.state.lock().unwrap();
        state.messages += 1;
        if let Some(digest) = state.assembler.add(payload, headers, sequence) {
            state.digests.push(digest);
        }
        drop(state);
        self.arrived.notify_waiters();
    }

    /// All complete digests so far.
    pub fn all(&self) -> Vec<DigestMsg> {
        self.state.lock().unwrap().digests.clone()
    }

    /// Digests received for `user` so far.
    pub fn of(&self, user: &str) -> Vec<DigestMsg> {
        self.all().into_iter().filter(|d| d.user == user).collect()
    }

    /// Waits until `pred` holds over the digests received, or panics after `timeout`.
    pub async fn wait_until(
        &self,
        timeout: Duration,
        what: &str,
        pred: impl Fn(&[DigestMsg]) -> bool,
    ) -> Vec<DigestMsg> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.arrived.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let all = self.all();
            if pred(&all) {
                return all;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!(
                    "timed out after {timeout:?} waiting for {what}; got {} digests",
                    self.all().len()
                );
            }
        }
    }

    /// Waits until every message stored in the digest stream (a part counts as one) has
    /// been read here.
    pub async fn wait_caught_up(&self, bus: &TestBus, timeout: Duration) -> Vec<DigestMsg> {
        let stored = stored_messages(bus, DIGEST_STREAM, timeout).await as usize;
        let state = Arc::clone(&self.state);
        self.wait_until(timeout, &format!("all {stored} stored digest messages"), move |_| {
            state.lock().unwrap().messages >= stored
        })
        .await
    }

    /// Waits for at least `n` digests of `user`.
    pub async fn wait_for_user(&self, user: &str, n: usize, timeout: Duration) -> Vec<DigestMsg> {
        self.wait_until(timeout, &format!("{n} digests of {user}"), |all| {
            all.iter().filter(|d| d.user == user).count() >= n
        })
        .await;
        self.of(user)
    }
}
