//! `alarm-digest load`: publishes the seeded [`traffic`] to NATS at a target rate or as
//! fast as the server confirms, with live progress and a final summary.
//!
//! JetStream publishing is the default: the service consumes a stream, and a message
//! only counts once the stream has stored it (a core publish to a full stream is dropped
//! without a word). Acks are awaited in a pipeline of `--pipeline` messages, so the
//! round trip is paid once per window, not once per message.

pub mod traffic;

use crate::config::{LoadArgs, LoadPublish};
use anyhow::Context as _;
use async_nats::jetstream::{self, context::PublishAckFuture};
use async_nats::Client;
use domain::EventTime;
use indicatif::{ProgressBar, ProgressStyle};
use nats::connect::connect;
use std::collections::VecDeque;
use std::io::IsTerminal;
use std::time::{Duration, Instant};
use traffic::{Tally, Traffic, TrafficShape};

/// Where and how the messages go.
#[derive(Debug, Clone)]
pub struct Publishing {
    /// Subject of AlarmStatusChanged.
    pub alarm_status_subject: String,
    /// Subject of SendAlarmDigest.
    pub digest_request_subject: String,
    /// JetStream or core.
    pub mode: LoadPublish,
    /// Acks awaited at once (JetStream).
    pub pipeline: usize,
    /// Messages per second; 0 for as fast as possible.
    pub rate: u64,
}

/// What a run published.
#[derive(Debug, Clone, Copy)]
pub struct Outcome {
    /// Messages by kind.
    pub tally: Tally,
    /// Messages the stream confirmed (JetStream), or sent and flushed (core).
    pub confirmed: u64,
    /// Messages the stream refused (full, for instance).
    pub refused: u64,
    /// From the first publish to the last confirmation.
    pub elapsed: Duration,
}

impl Outcome {
    /// Confirmed messages per second.
    pub fn rate(&self) -> f64 {
        self.confirmed as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Runs `load`.
pub async fn run(args: LoadArgs) -> anyhow::Result<()> {
    let start_nanos = if args.start_at == "now" {
        EventTime::from_datetime(chrono::Utc::now())?.as_nanos()
    } else {
        EventTime::parse_rfc3339(&args.start_at)
            .map_err(|e| anyhow::anyhow!("--start-at {}", e))?
            .as_nanos()
    };
    let traffic = Traffic::new(TrafficShape {
        users: args.users.max(1),
        alarms_per_user: args.alarms.max(1),
        events: args.events,
        duplicate_percent: args.duplicates,
        late_percent: args.late,
        digest_every: args.digest_every,
        seed: args.seed,
        start_nanos,
    });
    let how = Publishing {
        alarm_status_subject: args.alarm_status_subject.clone(),
        digest_request_subject: args.digest_request_subject.clone(),
        mode: args.publish,
        pipeline: args.pipeline.max(1),
        rate: args.rate,
    };
    let (client, _) = connect(&args.nats.connect_settings(), "alarm-digest-load").await?;
    let progress = Progress::new(traffic.total_messages(), args.report_every);
    eprintln!(
        "load: {} users x {} alarms, {} events ({}% duplicates, {}% late), a digest request every {} events, seed {}, {}, {} publishing",
        args.users,
        args.alarms,
        args.events,
        args.duplicates,
        args.late,
        args.digest_every,
        args.seed,
        if args.rate == 0 {
            "as fast as possible".to_string()
        } else {
            format!("{} msg/s", args.rate)
        },
        match args.publish {
            LoadPublish::Jetstream => "JetStream",
            LoadPublish::Core => "core NATS",
        },
    );
    let outcome = publish(&client, traffic, &how, &progress).await?;
    progress.finish();
    let t = outcome.tally;
    println!(
        "load: published {} events ({} fresh in order, {} duplicates, {} late) and {} digest requests in {:.2} s: \
         {:.0} msg/s; {} confirmed, {} refused",
        t.all_events(),
        t.events,
        t.duplicates,
        t.late,
        t.digest_requests,
        outcome.elapsed.as_secs_f64(),
        outcome.rate(),
        outcome.confirmed,
        outcome.refused,
    );
    anyhow::ensure!(
        outcome.refused == 0,
        "{} messages were refused by the stream",
        outcome.refused
    );
    Ok(())
}

/// Publishes every message of `traffic`; returns once each is confirmed (JetStream) or
/// flushed (core).
pub async fn publish(
    client: &Client,
    traffic: Traffic,
    how: &Publishing,
    progress: &Progress,
) -> anyhow::Result<Outcome> {
    let js = jetstream::new(client.clone());
    if how.mode == LoadPublish::Jetstream {
        js.stream_by_subject(how.alarm_status_subject.clone())
            .await
            .with_context(|| {
                format!(
                    "no JetStream stream captures {}: start the service first (it creates its input stream)",
                    how.alarm_status_subject
                )
            })?;
    }
    let mut acks: VecDeque<PublishAckFuture> = VecDeque::with_capacity(how.pipeline);
    let (mut sent, mut confirmed, mut refused) = (0u64, 0u64, 0u64);
    let mut traffic = traffic;
    let started = Instant::now();
    for message in traffic.by_ref() {
        if how.rate > 0 {
            let due = started + Duration::from_secs_f64(sent as f64 / how.rate as f64);
            // Pacing to the asked rate, not synchronisation.
            if due > Instant::now() + Duration::from_millis(1) {
                tokio::time::sleep_until(due.into()).await;
            }
        }
        let subject = if message.kind.is_event() {
            &how.alarm_status_subject
        } else {
            &how.digest_request_subject
        };
        match how.mode {
            LoadPublish::Jetstream => {
                if acks.len() >= how.pipeline {
                    let ack = acks.pop_front().expect("the pipeline is full");
                    settle(ack, &mut confirmed, &mut refused).await;
                }
                acks.push_back(js.publish(subject.clone(), message.payload.into()).await?);
            }
            LoadPublish::Core => {
                client.publish(subject.clone(), message.payload.into()).await?;
                confirmed += 1;
            }
        }
        sent += 1;
        if sent.is_multiple_of(256) {
            progress.update(sent, confirmed, started.elapsed());
        }
    }
    for ack in acks {
        settle(ack, &mut confirmed, &mut refused).await;
    }
    client.flush().await?;
    let elapsed = started.elapsed();
    progress.update(sent, confirmed, elapsed);
    Ok(Outcome {
        tally: traffic.tally(),
        confirmed,
        refused,
        elapsed,
    })
}

async fn settle(ack: PublishAckFuture, confirmed: &mut u64, refused: &mut u64) {
    match ack.await {
        Ok(_) => *confirmed += 1,
        Err(e) => {
            if *refused == 0 {
                tracing::warn!(error = %e, "the stream refused a message");
                eprintln!("load: the stream refused a message: {e}");
            }
            *refused += 1;
        }
    }
}

/// Live progress: a bar with rates on a terminal, a plain line every so often otherwise.
pub enum Progress {
    /// On a terminal.
    Bar(ProgressBar),
    /// Not a terminal: a line per period.
    Lines {
        /// Messages in all.
        total: u64,
        /// Period between lines.
        every: Duration,
        /// When the last line was printed, in time since the start.
        last: std::sync::Mutex<Duration>,
    },
    /// Nothing (benchmarks).
    Silent,
}

impl Progress {
    /// A bar when stderr is a terminal, lines every `every` otherwise.
    pub fn new(total: u64, every: Duration) -> Self {
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template(
                    "{elapsed_precise} [{wide_bar}] {human_pos}/{human_len} sent ({eta} left), {msg}",
                )
                .expect("a valid template")
                .progress_chars("=> "),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            Progress::Bar(bar)
        } else {
            Progress::Lines {
                total,
                every,
                last: std::sync::Mutex::new(Duration::ZERO),
            }
        }
    }

    fn update(&self, sent: u64, confirmed: u64, elapsed: Duration) {
        let rate = confirmed as f64 / elapsed.as_secs_f64().max(1e-9);
        match self {
            Progress::Bar(bar) => {
                bar.set_position(sent);
                let sent_rate = sent as f64 / elapsed.as_secs_f64().max(1e-9);
                bar.set_message(format!(
                    "{sent_rate:.0} sent/s, {confirmed} confirmed, {rate:.0} confirmed/s"
                ));
            }
            Progress::Lines { total, every, last } => {
                let mut last = last.lock().expect("only the publisher updates");
                if elapsed >= *last + *every {
                    *last = elapsed;
                    eprintln!(
                        "load: {:.1} s: {sent}/{total} sent, {confirmed} confirmed, {rate:.0} confirmed/s",
                        elapsed.as_secs_f64()
                    );
                }
            }
            Progress::Silent => {}
        }
    }

    fn finish(&self) {
        if let Progress::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}
