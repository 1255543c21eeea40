//! The transport ceilings the service is measured against: NATS core, and JetStream
//! publish with consume-with-ack, each without the service around it (the store
//! ceilings are in `stores`).

use alarm_digest::domain::AlarmEvent;
use alarm_digest::wire::{parse_status_changed, DEFAULT_MAX_PAYLOAD};
use async_nats::jetstream::{self, consumer::pull, stream};
use bytes::Bytes;
use futures::StreamExt;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Messages per second over a count.
#[derive(Debug, Clone, Copy)]
pub struct Rate {
    pub count: u64,
    pub elapsed: Duration,
}

impl Rate {
    pub fn per_second(&self) -> f64 {
        self.count as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// The first `n` AlarmStatusChanged payloads of the ingest traffic (~170 bytes each), so
/// the ceilings see the same messages and the same alarms as the service.
pub fn payloads(n: usize) -> Vec<Bytes> {
    crate::ingest::traffic(n as u64)
        .map(|m| Bytes::from(m.payload))
        .collect()
}

/// Core NATS: one client publishes `n` messages, another receives them; until the last arrives.
pub async fn core(url: &str, n: u64, sample: &[Bytes]) -> Rate {
    let receiver = async_nats::ConnectOptions::new()
        .subscription_capacity(1 << 20)
        .connect(url)
        .await
        .unwrap();
    let mut sub = receiver.subscribe("bench.core").await.unwrap();
    receiver.flush().await.unwrap();
    let publisher = async_nats::connect(url).await.unwrap();
    let started = Instant::now();
    let received = tokio::spawn(async move {
        let mut count = 0u64;
        let mut last = Instant::now();
        // A slow consumer loses messages in core NATS: stop when none came for a second.
        while count < n {
            match tokio::time::timeout(Duration::from_secs(1), sub.next()).await {
                Ok(Some(_)) => {
                    count += 1;
                    last = Instant::now();
                }
                _ => break,
            }
        }
        (count, last)
    });
    for i in 0..n as usize {
        publisher
            .publish("bench.core", sample[i % sample.len()].clone())
            .await
            .unwrap();
    }
    publisher.flush().await.unwrap();
    let (count, last) = received.await.unwrap();
    if count < n {
        println!(
            "  note: core NATS dropped {} of {n} messages (slow consumer)",
            n - count
        );
    }
    Rate {
        count,
        elapsed: last - started,
    }
}

/// The stream the JetStream ceiling publishes to and consumes from.
pub const JETSTREAM_CEILING_STREAM: &str = "BENCH_CEILING";

/// JetStream: a work-queue stream on file like the service's input; one client publishes
/// with acks awaited 2,048 at a time while a durable pull consumer (512 per pull, like
/// the service) acks each message; until the last ack is flushed.
pub async fn jetstream(url: &str, n: u64, sample: &[Bytes]) -> Rate {
    jetstream_replicated(url, 1, n, sample).await
}

/// [`jetstream`] with a stream of `replicas` replicas (and so a consumer of as many), the
/// client connected to the servers of `urls` (comma-separated, as `NATS_URL` lists them).
pub async fn jetstream_replicated(urls: &str, replicas: usize, n: u64, sample: &[Bytes]) -> Rate {
    let servers: Vec<&str> = urls.split(',').collect();
    let publisher = async_nats::connect(servers).await.unwrap();
    let js = jetstream::new(publisher.clone());
    let stream = js
        .create_stream(stream::Config {
            name: JETSTREAM_CEILING_STREAM.into(),
            subjects: vec!["bench.js".into()],
            retention: stream::RetentionPolicy::WorkQueue,
            storage: stream::StorageType::File,
            num_replicas: replicas,
            ..Default::default()
        })
        .await
        .unwrap();
    let consumer = stream
        .create_consumer(pull::Config {
            durable_name: Some("bench".into()),
            ack_policy: jetstream::consumer::AckPolicy::Explicit,
            max_ack_pending: 8192,
            ..Default::default()
        })
        .await
        .unwrap();
    let started = Instant::now();
    let consumed = tokio::spawn(async move {
        let mut messages = consumer.stream().max_messages_per_batch(512).messages().await.unwrap();
        let mut count = 0;
        while count < n {
            let msg = messages.next().await.unwrap().unwrap();
            msg.ack().await.unwrap();
            count += 1;
        }
        Instant::now()
    });
    let mut acks = VecDeque::with_capacity(2048);
    for i in 0..n as usize {
        if acks.len() == 2048 {
            let ack: jetstream::context::PublishAckFuture = acks.pop_front().unwrap();
            ack.await.unwrap();
        }
        acks.push_back(js.publish("bench.js", sample[i % sample.len()].clone()).await.unwrap());
    }
    for ack in acks {
        ack.await.unwrap();
    }
    let last = consumed.await.unwrap();
    Rate {
        count: n,
        elapsed: last - started,
    }
}

/// The events of `n` payloads, parsed as the service parses them.
pub fn events(sample: &[Bytes]) -> Vec<AlarmEvent> {
    sample
        .iter()
        .map(|p| parse_status_changed(p, DEFAULT_MAX_PAYLOAD).unwrap())
        .collect()
}
