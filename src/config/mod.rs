//! Command-line and environment settings, parsed once with clap; every flag has an env var.

mod alerts;
mod pager;
mod retention;
mod schedules;
mod tools;

pub use alerts::AlertsConfig;
pub use pager::PagerConfig;
pub use retention::RetentionConfig;
pub use schedules::ScheduleConfig;
pub use tools::{LoadArgs, LoadPublish, PubArgs, SubArgs};

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// alarm-digest: de-duplicated digests of active alarms, from NATS to NATS.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Settings of `serve`, also accepted without the subcommand.
    #[command(flatten)]
    pub serve: ServeConfig,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service (the default).
    Serve(Box<ServeConfig>),
    /// Publish one message, like `nats pub SUBJECT PAYLOAD`.
    Pub(PubArgs),
    /// Print messages of a subject, like `nats sub SUBJECT`.
    Sub(SubArgs),
    /// Publish realistic, seeded traffic: flapping alarms, duplicates, late events, digest requests.
    Load(LoadArgs),
}

/// How messages come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum IntakeMode {
    /// A durable JetStream consumer shared by all replicas: nothing is lost while they are down.
    Jetstream,
    /// A core NATS queue group: at-most-once unless the producer uses request/reply.
    Core,
}

/// Output format of the logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// How to reach NATS.
#[derive(Debug, Clone, Args)]
pub struct NatsSettings {
    /// NATS seed server URL(s), comma-separated; the client also follows the servers a
    /// cluster advertises.
    #[arg(
        long,
        env = "NATS_URL",
        default_value = "nats://127.0.0.1:4222",
        value_delimiter = ',',
        value_parser = parse_server,
        num_args = 1..
    )]
    pub nats_url: Vec<async_nats::ServerAddr>,
    /// NATS credentials file (JWT + NKey).
    #[arg(long, env = "NATS_CREDS")]
    pub nats_creds: Option<PathBuf>,
    /// NATS user name.
    #[arg(long, env = "NATS_USER")]
    pub nats_user: Option<String>,
    /// NATS password.
    #[arg(long, env = "NATS_PASSWORD", hide_env_values = true)]
    pub nats_password: Option<String>,
    /// NATS token.
    #[arg(long, env = "NATS_TOKEN", hide_env_values = true)]
    pub nats_token: Option<String>,
    /// CA certificate (PEM) to verify the NATS server; enables TLS.
    #[arg(long, env = "NATS_TLS_CA")]
    pub nats_tls_ca: Option<PathBuf>,
    /// Client certificate (PEM) for mutual TLS; needs `--nats-tls-key`.
    #[arg(long, env = "NATS_TLS_CERT", requires = "nats_tls_key")]
    pub nats_tls_cert: Option<PathBuf>,
    /// Client key (PEM) for mutual TLS.
    #[arg(long, env = "NATS_TLS_KEY", requires = "nats_tls_cert")]
    pub nats_tls_key: Option<PathBuf>,
    /// How often the client pings its NATS server: a server that misses three pings in a
    /// row (frozen or paused, its connection still open) is left for another of the
    /// cluster's within about three times this.
    #[arg(long, env = "NATS_PING_INTERVAL", default_value = "5s", value_parser = parse_duration)]
    pub nats_ping_interval: Duration,
}

impl NatsSettings {
    /// The settings the NATS adapter connects with.
    pub fn connect_settings(&self) -> nats::connect::ConnectSettings {
        nats::connect::ConnectSettings {
            servers: self.nats_url.clone(),
            creds: self.nats_creds.clone(),
            user: self.nats_user.clone(),
            password: self.nats_password.clone(),
            token: self.nats_token.clone(),
            tls_ca: self.nats_tls_ca.clone(),
            tls_cert: self.nats_tls_cert.clone(),
            tls_key: self.nats_tls_key.clone(),
            ping_interval: Some(self.nats_ping_interval),
        }
    }
}

/// Everything `serve` needs.
#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// Connection to NATS.
    #[command(flatten)]
    pub nats: NatsSettings,
    /// Where alarm state lives: sqlite://PATH or mongodb://HOST/DATABASE.
    #[arg(
        long,
        env = "STORE_URL",
        default_value = "sqlite://./data/alarm-digest.db",
        hide_env_values = true
    )]
    pub store_url: String,
    /// Address of the HTTP server (health, readiness, API).
    #[arg(long, env = "HTTP_ADDR", default_value = "127.0.0.1:8080")]
    pub http_addr: SocketAddr,
    /// How messages come in.
    #[arg(long, env = "INTAKE", value_enum, default_value = "jetstream")]
    pub intake: IntakeMode,
    /// Queue group of the core-mode subscriptions.
    #[arg(long, env = "QUEUE_GROUP", default_value = "alarm-digest")]
    pub queue_group: String,
    /// Subject of AlarmStatusChanged.
    #[arg(long, env = "ALARM_STATUS_SUBJECT", default_value = "AlarmStatusChanged")]
    pub alarm_status_subject: String,
    /// Subject of SendAlarmDigest.
    #[arg(long, env = "DIGEST_REQUEST_SUBJECT", default_value = "SendAlarmDigest")]
    pub digest_request_subject: String,
    /// Subject digests are published to.
    #[arg(long, env = "DIGEST_SUBJECT", default_value = "AlarmDigest")]
    pub digest_subject: String,
    /// Subject rejected messages are published to, with the reason in a header.
    #[arg(long, env = "DEAD_LETTER_SUBJECT", default_value = "AlarmDigest.deadletter")]
    pub dead_letter_subject: String,
    /// JetStream stream capturing the input subjects (created if absent).
    #[arg(long, env = "INPUT_STREAM", default_value = "ALARM_DIGEST_INPUT")]
    pub input_stream: String,
    /// Largest size of the input stream in bytes; publishes beyond it are refused, not dropped.
    #[arg(long, env = "INPUT_STREAM_MAX_BYTES", default_value_t = 1 << 30)]
    pub input_stream_max_bytes: i64,
    /// Durable consumer shared by all replicas.
    #[arg(long, env = "CONSUMER_NAME", default_value = "alarm-digest")]
    pub consumer_name: String,
    /// JetStream stream for digests (jetstream mode).
    #[arg(long, env = "DIGEST_STREAM", default_value = "ALARM_DIGESTS")]
    pub digest_stream: String,
    /// Create the digest stream if absent; off when another service owns that subject.
    #[arg(long, env = "MANAGE_DIGEST_STREAM", default_value_t = true, action = clap::ArgAction::Set)]
    pub manage_digest_stream: bool,
    /// JetStream stream keeping dead letters (created if absent).
    #[arg(long, env = "DEAD_LETTER_STREAM", default_value = "ALARM_DIGEST_DEADLETTERS")]
    pub dead_letter_stream: String,
    /// Parallel lanes of processing; one user always goes to the same lane.
    #[arg(long, env = "INTAKE_LANES", default_value_t = 8)]
    pub lanes: usize,
    /// Messages waiting per lane before intake stops pulling (backpressure).
    #[arg(long, env = "LANE_CAPACITY", default_value_t = 512)]
    pub lane_capacity: usize,
    /// Most events committed in one store call.
    #[arg(long, env = "MAX_BATCH", default_value_t = 512)]
    pub max_batch: usize,
    /// Largest accepted input payload in bytes.
    #[arg(long, env = "MAX_PAYLOAD_BYTES", default_value_t = wire::DEFAULT_MAX_PAYLOAD)]
    pub max_payload: usize,
    /// How long the broker waits for an ack before redelivering to another replica.
    #[arg(long, env = "ACK_WAIT", default_value = "30s", value_parser = parse_duration)]
    pub ack_wait: Duration,
    /// How long a digest claim lives if its holder dies (e.g. 30s).
    #[arg(long, env = "CLAIM_TTL", default_value = "30s", value_parser = parse_duration)]
    pub claim_ttl: Duration,
    /// How long to wait for another replica's digest claim (e.g. 35s).
    #[arg(long, env = "CLAIM_WAIT", default_value = "35s", value_parser = parse_duration)]
    pub claim_wait: Duration,
    /// How far ahead of this service's clock an event may be stamped; a later one is
    /// refused (dead-lettered, or rejected over HTTP) with the reason.
    #[arg(long, env = "MAX_CLOCK_SKEW", default_value = "5m", value_parser = parse_duration)]
    pub max_clock_skew: Duration,
    /// Longest a store call may take before it is abandoned and retried.
    #[arg(long, env = "STORE_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub store_timeout: Duration,
    /// Time allowed for in-flight work at shutdown.
    #[arg(long, env = "SHUTDOWN_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub shutdown_timeout: Duration,
    /// Name of this replica in claims and logs; defaults to host name and PID.
    #[arg(long, env = "REPLICA_ID")]
    pub replica_id: Option<String>,
    /// Newest status changes kept per alarm for `/v1/.../events`.
    #[arg(long, env = "HISTORY_EVENTS_PER_ALARM", default_value_t = 100)]
    pub history_events_per_alarm: usize,
    /// Histories are kept only for this many most recently updated alarms.
    #[arg(long, env = "HISTORY_ALARMS", default_value_t = 1000)]
    pub history_alarms: usize,
    /// How often histories beyond `HISTORY_ALARMS` are dropped.
    #[arg(long, env = "HISTORY_TRIM_INTERVAL", default_value = "30s", value_parser = parse_duration)]
    pub history_trim_interval: Duration,
    /// Bearer token required by every write endpoint of the HTTP API, when set.
    #[arg(long, env = "API_TOKEN", hide_env_values = true)]
    pub api_token: Option<String>,
    /// Bearer token required by every read endpoint of the HTTP API, when set.
    #[arg(long, env = "API_READ_TOKEN", hide_env_values = true)]
    pub api_read_token: Option<String>,
    /// Largest HTTP request body in bytes.
    #[arg(long, env = "HTTP_BODY_LIMIT", default_value_t = 1 << 20)]
    pub http_body_limit: usize,
    /// Time allowed for one HTTP request.
    #[arg(long, env = "HTTP_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub http_timeout: Duration,
    /// How Alertmanager and Grafana alerts map to alarms.
    #[command(flatten)]
    pub alerts: AlertsConfig,
    /// Replicas of every stream the service creates (input, digests, dead letters,
    /// notifications): 3 (or 5) on a JetStream cluster, so a stream survives a node's loss.
    #[arg(long, env = "STREAM_REPLICAS", default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=5))]
    pub stream_replicas: u8,
    /// Subject of AlarmAcknowledged.
    #[arg(long, env = "ALARM_ACK_SUBJECT", default_value = "AlarmAcknowledged")]
    pub alarm_ack_subject: String,
    /// Register with the NATS services framework (`nats micro ls`) and answer its
    /// request/reply endpoints.
    #[arg(long, env = "NATS_SERVICE", default_value_t = true, action = clap::ArgAction::Set)]
    pub nats_service: bool,
    /// Subject prefix of the NATS service endpoints: `<prefix>.preview`, `<prefix>.alarm`,
    /// `<prefix>.send`.
    #[arg(long, env = "NATS_SERVICE_PREFIX", default_value = "alarm-digest")]
    pub nats_service_prefix: String,
    /// Fault tests only: abort the process right after publishing this many digests,
    /// before their delivery is recorded.
    #[arg(long, env = "FAULT_CRASH_AFTER_DIGESTS", hide = true)]
    pub fault_crash_after_digests: Option<u64>,
    /// Log format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// The pager.
    #[command(flatten)]
    pub pager: PagerConfig,
    /// Retention of cleared alarms, notifications and tombstones.
    #[command(flatten)]
    pub retention: RetentionConfig,
    /// Digest schedules' timer.
    #[command(flatten)]
    pub schedules: ScheduleConfig,
}

/// Parses one NATS server URL of a comma-separated list (`nats://host:port`, `tls://…`,
/// or `host:port`), ignoring spaces around it.
pub fn parse_server(s: &str) -> Result<async_nats::ServerAddr, String> {
    let s = s.trim();
    s.parse()
        .map_err(|e| format!("{s:?} is not a NATS server URL like nats://127.0.0.1:4222: {e}"))
}

/// Parses a duration in humantime's notation (`500ms`, `2s`, `15m`, `1h30m`, `5d`), or a
/// bare number of seconds (`3`, `0.5`), which the flags have always accepted.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit() || c == '.') {
        let seconds: f64 = s.parse().map_err(|_| not_a_duration(s, "not a number"))?;
        return Duration::try_from_secs_f64(seconds).map_err(|e| not_a_duration(s, &e.to_string()));
    }
    humantime::parse_duration(s).map_err(|e| not_a_duration(s, &e.to_string()))
}

fn not_a_duration(s: &str, why: &str) -> String {
    format!("{s:?} is not a duration like 500ms, 2s, 15m, 1h30m or 5d (or a number of seconds): {why}")
}

impl ServeConfig {
    /// The subject each kind of input arrives on, from the `*_SUBJECT` settings.
    pub fn input_subjects(&self) -> nats::inbound::Subjects {
        use nats::inbound::InputKind;
        nats::inbound::Subjects::new(|kind| {
            match kind {
                InputKind::AlarmStatusChanged => &self.alarm_status_subject,
                InputKind::SendAlarmDigest => &self.digest_request_subject,
                InputKind::AlarmAcknowledged => &self.alarm_ack_subject,
                InputKind::PagerAlert => &self.pager.pager_alert_subject,
                InputKind::PagerAcknowledge => &self.pager.pager_acknowledge_subject,
                InputKind::ServiceHealthy => &self.pager.service_healthy_subject,
            }
            .clone()
        })
    }

    /// The history bounds.
    pub fn history_limits(&self) -> domain::query::HistoryLimits {
        domain::query::HistoryLimits {
            events_per_alarm: self.history_events_per_alarm.max(1),
            alarms: self.history_alarms.max(1),
        }
    }

    /// This replica's name.
    pub fn replica_name(&self) -> String {
        self.replica_id.clone().unwrap_or_else(|| {
            let host = std::fs::read_to_string("/etc/hostname")
                .map(|h| h.trim().to_string())
                .unwrap_or_default();
            format!(
                "{}-{}",
                if host.is_empty() { "alarm-digest" } else { &host },
                std::process::id()
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_accept_the_documented_units() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("5d"), Ok(Duration::from_secs(5 * 86_400)));
        assert_eq!(parse_duration("30d"), Ok(Duration::from_secs(30 * 86_400)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration(" 2s "), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration("0.5"), Ok(Duration::from_millis(500)));
        for bad in ["soon", "", "5 parsecs", "1..2", "-3s"] {
            let error = parse_duration(bad).unwrap_err();
            assert!(error.contains("500ms, 2s, 15m, 1h30m or 5d"), "{bad:?}: {error}");
        }
    }

    #[test]
    fn a_duration_flag_reads_days_and_compound_durations() {
        let cli = Cli::parse_from(["alarm-digest", "--claim-ttl", "1h30m", "--ack-timeout", "5d"]);
        assert_eq!(cli.serve.claim_ttl, Duration::from_secs(5400));
        assert_eq!(cli.serve.pager.ack_timeout, Duration::from_secs(5 * 86_400));
        let bad = Cli::try_parse_from(["alarm-digest", "--claim-ttl", "soon"]).unwrap_err();
        assert!(bad.to_string().contains("is not a duration like 500ms"), "{bad}");
    }

    #[test]
    fn serve_is_the_default_with_documented_defaults() {
        let cli = Cli::parse_from(["alarm-digest"]);
        assert!(cli.command.is_none());
        assert_eq!(
            cli.serve.nats.nats_url,
            ["nats://127.0.0.1:4222".parse::<async_nats::ServerAddr>().unwrap()]
        );
        assert_eq!(cli.serve.stream_replicas, 1);
        assert_eq!(cli.serve.store_url, "sqlite://./data/alarm-digest.db");
        assert_eq!(cli.serve.intake, IntakeMode::Jetstream);
        assert_eq!(cli.serve.digest_subject, "AlarmDigest");
        assert_eq!(cli.serve.dead_letter_subject, "AlarmDigest.deadletter");
        assert_eq!(cli.serve.pager.ack_timeout, Duration::from_secs(15 * 60));
        assert_eq!(
            cli.serve.pager.notification_subjects(),
            ["Notification.email", "Notification.sms"]
        );
        assert!(!cli.serve.pager.page_on_critical);
    }

    #[test]
    fn load_defaults_are_a_small_confirmed_demo() {
        let cli = Cli::parse_from(["alarm-digest", "load", "--users", "3", "--rate", "500"]);
        let Some(Command::Load(args)) = cli.command else {
            panic!("load is a subcommand")
        };
        assert_eq!((args.users, args.alarms, args.rate), (3, 20, 500));
        assert_eq!(args.publish, LoadPublish::Jetstream);
        assert_eq!((args.duplicates, args.late, args.digest_every), (10, 10, 100));
        assert!(Cli::try_parse_from(["alarm-digest", "load", "--late", "101"]).is_err());
    }

    #[test]
    fn nats_url_takes_a_comma_separated_list_of_seed_servers() {
        let cli = Cli::parse_from([
            "alarm-digest",
            "--nats-url",
            "nats://127.0.0.1:4231, nats://127.0.0.1:4232,tls://nats.example:4443",
        ]);
        let ports: Vec<u16> = cli.serve.nats.nats_url.iter().map(|s| s.port()).collect();
        assert_eq!(ports, [4231, 4232, 4443]);
        let bad = Cli::try_parse_from(["alarm-digest", "--nats-url", "nats://127.0.0.1:42x1"]).unwrap_err();
        assert!(bad.to_string().contains("is not a NATS server URL"), "{bad}");
    }

    #[test]
    fn stream_replicas_beyond_five_are_refused() {
        assert_eq!(
            Cli::parse_from(["alarm-digest", "--stream-replicas", "3"])
                .serve
                .stream_replicas,
            3
        );
        assert!(Cli::try_parse_from(["alarm-digest", "--stream-replicas", "0"]).is_err());
        assert!(Cli::try_parse_from(["alarm-digest", "--stream-replicas", "7"]).is_err());
    }

    #[test]
    fn clap_configuration_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
