//! Settings of the tool subcommands: `pub`, `sub` and `load`.

use super::{parse_duration, NatsSettings};
use clap::{Args, ValueEnum};
use std::time::Duration;

/// Arguments of `pub`.
#[derive(Debug, Clone, Args)]
pub struct PubArgs {
    /// Connection to NATS.
    #[command(flatten)]
    pub nats: NatsSettings,
    /// Subject to publish to.
    pub subject: String,
    /// Message body.
    pub payload: String,
}

/// Arguments of `sub`.
#[derive(Debug, Clone, Args)]
pub struct SubArgs {
    /// Connection to NATS.
    #[command(flatten)]
    pub nats: NatsSettings,
    /// Subject to listen to.
    pub subject: String,
    /// Stop after this many messages.
    #[arg(long)]
    pub count: Option<usize>,
}

/// How `load` publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LoadPublish {
    /// JetStream publish, acks awaited in a pipeline: every message counted was stored.
    Jetstream,
    /// Core NATS publish, flushed at the end: fastest, nothing confirmed.
    Core,
}

/// Arguments of `load`.
#[derive(Debug, Clone, Args)]
pub struct LoadArgs {
    /// Connection to NATS.
    #[command(flatten)]
    pub nats: NatsSettings,
    /// Users, named user-000000 upwards.
    #[arg(long, env = "LOAD_USERS", default_value_t = 100)]
    pub users: usize,
    /// Alarms per user, named alarm-0000 upwards.
    #[arg(long, env = "LOAD_ALARMS", default_value_t = 20)]
    pub alarms: usize,
    /// AlarmStatusChanged messages in all, duplicates included.
    #[arg(long, env = "LOAD_EVENTS", default_value_t = 100_000)]
    pub events: u64,
    /// Percent of events repeated byte for byte.
    #[arg(long, env = "LOAD_DUPLICATES", default_value_t = 10, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub duplicates: u8,
    /// Percent of events published late, after newer ones.
    #[arg(long, env = "LOAD_LATE", default_value_t = 10, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub late: u8,
    /// One SendAlarmDigest (for a random user) after every this many events; 0 for none.
    #[arg(long, env = "LOAD_DIGEST_EVERY", default_value_t = 100)]
    pub digest_every: u64,
    /// Seed of every choice: the same seed publishes the same messages.
    #[arg(long, env = "LOAD_SEED", default_value_t = 1)]
    pub seed: u64,
    /// `ChangedAt` of the first event (RFC 3339), or `now`.
    #[arg(long, env = "LOAD_START_AT", default_value = "2024-01-01T00:00:00Z")]
    pub start_at: String,
    /// Messages per second; 0 publishes as fast as the server confirms.
    #[arg(long, env = "LOAD_RATE", default_value_t = 0)]
    pub rate: u64,
    /// JetStream (confirmed) or core NATS publishing.
    #[arg(long, env = "LOAD_PUBLISH", value_enum, default_value = "jetstream")]
    pub publish: LoadPublish,
    /// JetStream acks awaited at once.
    #[arg(long, env = "LOAD_PIPELINE", default_value_t = 2048)]
    pub pipeline: usize,
    /// Subject of AlarmStatusChanged.
    #[arg(long, env = "ALARM_STATUS_SUBJECT", default_value = "AlarmStatusChanged")]
    pub alarm_status_subject: String,
    /// Subject of SendAlarmDigest.
    #[arg(long, env = "DIGEST_REQUEST_SUBJECT", default_value = "SendAlarmDigest")]
    pub digest_request_subject: String,
    /// How often a line of progress is printed when stderr is not a terminal.
    #[arg(long, env = "LOAD_REPORT_EVERY", default_value = "5s", value_parser = parse_duration)]
    pub report_every: Duration,
}
