//! The pager's settings: its subjects, the acknowledgement timeout and the timer loop.

use super::parse_duration;
use clap::Args;
use std::time::Duration;

/// Settings of the pager, part of `serve`.
#[derive(Debug, Clone, Args)]
pub struct PagerConfig {
    /// Subject of PagerAlert.
    #[arg(long, env = "PAGER_ALERT_SUBJECT", default_value = "PagerAlert")]
    pub pager_alert_subject: String,
    /// Subject of PagerAcknowledge.
    #[arg(long, env = "PAGER_ACKNOWLEDGE_SUBJECT", default_value = "PagerAcknowledge")]
    pub pager_acknowledge_subject: String,
    /// Subject of ServiceHealthy.
    #[arg(long, env = "SERVICE_HEALTHY_SUBJECT", default_value = "ServiceHealthy")]
    pub service_healthy_subject: String,
    /// Notifications are published to PREFIX.email and PREFIX.sms.
    #[arg(long, env = "NOTIFICATION_SUBJECT_PREFIX", default_value = "Notification")]
    pub notification_subject_prefix: String,
    /// JetStream stream keeping notifications (created if absent, jetstream mode).
    #[arg(long, env = "NOTIFICATION_STREAM", default_value = "PAGER_NOTIFICATIONS")]
    pub notification_stream: String,
    /// Create the notification stream if absent; off when another service owns the subjects.
    #[arg(long, env = "MANAGE_NOTIFICATION_STREAM", default_value_t = true, action = clap::ArgAction::Set)]
    pub manage_notification_stream: bool,
    /// How long a level has to acknowledge before the next is notified (e.g. 15m, 2s, 500ms).
    #[arg(long, env = "ACK_TIMEOUT", default_value = "15m", value_parser = parse_duration)]
    pub ack_timeout: Duration,
    /// How long a replica's claim on a due service lasts if the replica dies.
    #[arg(long, env = "PAGER_CLAIM_TTL", default_value = "30s", value_parser = parse_duration)]
    pub pager_claim_ttl: Duration,
    /// How often each replica looks for due acknowledgement timeouts.
    #[arg(long, env = "PAGER_TICK", default_value = "1s", value_parser = parse_duration)]
    pub pager_tick: Duration,
    /// Raise a PagerAlert for the Service of every alarm that becomes CRITICAL.
    #[arg(long, env = "PAGE_ON_CRITICAL", default_value_t = false, action = clap::ArgAction::Set)]
    pub page_on_critical: bool,
}

impl PagerConfig {
    /// The subjects PREFIX.email and PREFIX.sms.
    pub fn notification_subjects(&self) -> Vec<String> {
        ["email", "sms"]
            .iter()
            .map(|channel| {
                nats::outbound::notifications::NatsNotifier::subject(&self.notification_subject_prefix, channel)
            })
            .collect()
    }
}
