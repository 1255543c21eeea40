//! The transport floor of a digest, measured with raw async-nats on the latency run's
//! server: a request published to JetStream with its ack awaited, then a core message of
//! the digest's size (split at the server's max payload, as the service splits a digest)
//! from a second client to a subscriber. No store and no service: what no digest can beat.

use async_nats::jetstream::{self, stream};
use bytes::Bytes;
use futures::StreamExt;
use std::time::{Duration, Instant};

/// Room left in each message for headers, as the service leaves it.
const HEADER_ROOM: usize = 1024;

/// `samples` round trips of the floor for a digest of `bytes` bytes; their durations.
pub async fn measure(url: &str, bytes: usize, samples: usize) -> Vec<Duration> {
    let requester = async_nats::connect(url).await.unwrap();
    let js = jetstream::new(requester.clone());
    let name = format!("BENCH_FLOOR_{bytes}");
    let subject = format!("bench.floor.request.{bytes}");
    js.create_stream(stream::Config {
        name: name.clone(),
        subjects: vec![subject.clone()],
        retention: stream::RetentionPolicy::WorkQueue,
        storage: stream::StorageType::File,
        ..Default::default()
    })
    .await
    .unwrap();
    let sender = async_nats::connect(url).await.unwrap();
    let digest_subject = format!("bench.floor.digest.{bytes}");
    let mut digests = requester.subscribe(digest_subject.clone()).await.unwrap();
    requester.flush().await.unwrap();
    let part = sender.server_info().max_payload.saturating_sub(HEADER_ROOM).max(1024);
    let sizes: Vec<usize> = (0..bytes.div_ceil(part).max(1))
        .map(|i| (bytes - i * part).min(part))
        .collect();
    let payloads: Vec<Bytes> = sizes.iter().map(|&n| Bytes::from(vec![b'x'; n])).collect();
    let request = Bytes::from_static(br#"{"UserID":"floor"}"#);
    let mut out = Vec::with_capacity(samples);
    for _ in 0..samples {
        let started = Instant::now();
        js.publish(subject.clone(), request.clone())
            .await
            .unwrap()
            .await
            .unwrap();
        for p in &payloads {
            sender.publish(digest_subject.clone(), p.clone()).await.unwrap();
        }
        sender.flush().await.unwrap();
        for _ in &payloads {
            tokio::time::timeout(Duration::from_secs(10), digests.next())
                .await
                .expect("the floor's message arrives")
                .unwrap();
        }
        out.push(started.elapsed());
    }
    let _ = js.delete_stream(&name).await;
    out
}

/// The `q`-quantile (nearest rank) of `samples`.
pub fn quantile(samples: &[Duration], q: f64) -> Duration {
    let mut s = samples.to_vec();
    s.sort();
    let rank = ((q * s.len() as f64).ceil() as usize).clamp(1, s.len());
    s[rank - 1]
}
