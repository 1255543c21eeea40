//! Retention settings: how long cleared alarms, sent notifications and tombstones are kept,
//! and how often and how much the sweep removes.

use super::parse_duration;
use clap::Args;
use domain::retention::Retention;
use std::time::Duration;

/// Settings of retention, part of `serve`.
#[derive(Debug, Clone, Args)]
pub struct RetentionConfig {
    /// An alarm cleared this long ago (by the service's clock when it applied the clear,
    /// not the event's ChangedAt) is removed with its history and acknowledgements.
    #[arg(long, env = "RETAIN_CLEARED", default_value = "30d", value_parser = parse_duration)]
    pub retain_cleared: Duration,
    /// A sent pager notification's record is removed this long after it was sent.
    #[arg(long, env = "RETAIN_NOTIFICATIONS", default_value = "30d", value_parser = parse_duration)]
    pub retain_notifications: Duration,
    /// A removed alarm's tombstone, which keeps a late event older than its clear stale,
    /// is removed this long after the alarm was.
    #[arg(long, env = "RETAIN_TOMBSTONES", default_value = "90d", value_parser = parse_duration)]
    pub retain_tombstones: Duration,
    /// How often each replica sweeps.
    #[arg(long, env = "RETENTION_INTERVAL", default_value = "1m", value_parser = parse_duration)]
    pub retention_interval: Duration,
    /// The most alarms (and tombstones, and notifications) one store call removes.
    #[arg(long, env = "RETENTION_BATCH", default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub retention_batch: u32,
}

impl RetentionConfig {
    /// The retention periods.
    pub fn retention(&self) -> Retention {
        Retention {
            cleared: self.retain_cleared,
            notifications: self.retain_notifications,
            tombstones: self.retain_tombstones,
        }
    }
}
