//! Digest schedule settings: how often each replica looks for due occurrences and how it
//! claims them.

use super::parse_duration;
use clap::Args;
use std::time::Duration;
use usecases::schedules::ScheduleSettings;

/// Settings of the digest schedules' timer, part of `serve`.
#[derive(Debug, Clone, Args)]
pub struct ScheduleConfig {
    /// How often each replica looks for schedules due; an occurrence fires at most this
    /// late while a replica runs.
    #[arg(long, env = "SCHEDULE_TICK", default_value = "1s", value_parser = parse_duration)]
    pub schedule_tick: Duration,
    /// How long a claimed occurrence is one replica's; when the replica dies firing it,
    /// another fires it this long after the claim.
    #[arg(long, env = "SCHEDULE_CLAIM_TTL", default_value = "30s", value_parser = parse_duration)]
    pub schedule_claim_ttl: Duration,
    /// How many due schedules one claim takes, their digests sent at once: replicas share a
    /// burst (100,000 users at "0 9 * * *" in one zone) batch by batch.
    #[arg(long, env = "SCHEDULE_BATCH", default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=1_000))]
    pub schedule_batch: u32,
}

impl ScheduleConfig {
    /// The settings of the schedules use case.
    pub fn settings(&self) -> ScheduleSettings {
        ScheduleSettings {
            claim_ttl: self.schedule_claim_ttl,
            batch: self.schedule_batch as usize,
        }
    }
}
