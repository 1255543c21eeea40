//! The service: its adapters built from the configuration around the use cases
//! ([`wiring`]), run until a shutdown signal, then stopped in order.

mod supervisor;
mod wiring;

pub use supervisor::Supervisor;
pub use wiring::{Ports, UseCaseSettings, UseCases};

use crate::config::{IntakeMode, ServeConfig};
use crate::metrics::Metrics;
use anyhow::Context as _;
use domain::ports::{DigestPublisher, SystemClock};
use nats::backlog::BacklogSampling;
use nats::inbound::{self as intake, Intake, IntakeCases, LaneSettings, Subjects};
use nats::outbound::dead_letter_log::NatsDeadLetterLog;
use nats::outbound::dead_letter_publisher::DeadLetterPublisher;
use nats::outbound::digest_publisher::NatsDigestPublisher;
use nats::outbound::notifications::NatsNotifier;
use nats::outbound::publisher::Publisher;
use nats::service::{ServiceCases, ServiceSettings};
use nats::streams::{StreamSettings, Topology};
use std::future::{Future, IntoFuture};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use usecases::digests::ClaimSettings;
use usecases::health::Health;
use usecases::pager::PagerSettings;
use web::observe::observed;
use web::{router, HttpLimits, Tokens};

/// How often the JetStream consumer is asked for its backlog (into the metrics) and, by
/// the same answer, whether JetStream is there (into readiness).
const BACKLOG_SAMPLE_EVERY: Duration = Duration::from_secs(1);
/// How often readiness looks at the store: pinged when no use case reached it since.
const STORE_WATCH_EVERY: Duration = Duration::from_secs(2);
/// The share of `SHUTDOWN_TIMEOUT` intake gives its in-flight messages; the rest is left
/// for the other tasks to stop and for NATS to drain.
const IN_FLIGHT_SHARE_OF_SHUTDOWN: f64 = 0.8;
/// How long NATS gets to flush and close once every task has stopped.
const NATS_DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// A built service, its HTTP port bound, ready to run.
pub struct Application {
    config: ServeConfig,
    listener: TcpListener,
    client: async_nats::Client,
    health: Arc<Health>,
    metrics: Arc<Metrics>,
    use_cases: UseCases,
    publisher: Publisher,
}

impl Application {
    /// Opens the store (a bad `STORE_URL` fails here), connects to NATS (in the background
    /// if it is not up yet) and binds the HTTP port (port 0 picks a free one).
    pub async fn build(config: ServeConfig) -> anyhow::Result<Self> {
        let stores = crate::store::open_stores(&config.store_url, config.history_limits()).await?;
        Self::build_with_stores(config, stores).await
    }

    /// Like [`Application::build`], on stores already opened (the benchmark's MongoDB
    /// store with a command monitor attached, say); `config.store_url` is only logged.
    pub async fn build_with_stores(config: ServeConfig, stores: crate::store::Stores) -> anyhow::Result<Self> {
        let replica = config.replica_name();
        let (client, nats_stats) = nats::connect::connect(&config.nats.connect_settings(), &replica)
            .await
            .context("connecting to NATS")?;
        let mut metrics = Metrics::new();
        metrics.track_nats(nats_stats);
        let metrics = Arc::new(metrics);
        let nats_publisher = match config.intake {
            IntakeMode::Jetstream => Publisher::jetstream(client.clone()),
            IntakeMode::Core => Publisher::core(client.clone()),
        };
        let publisher: Arc<dyn DigestPublisher> = Arc::new(NatsDigestPublisher::new(
            nats_publisher.clone(),
            &config.digest_subject,
            metrics.clone(),
        ));
        let ports = Ports {
            stores,
            publisher: crate::faults::CrashAfterPublish::wrap(publisher, config.fault_crash_after_digests),
            notifier: Arc::new(NatsNotifier::new(
                nats_publisher.clone(),
                &config.pager.notification_subject_prefix,
            )),
            clock: Arc::new(SystemClock),
            dead_letters: Arc::new(NatsDeadLetterLog::new(
                async_nats::jetstream::new(client.clone()),
                &config.dead_letter_stream,
            )),
        };
        let settings = UseCaseSettings {
            replica,
            claims: ClaimSettings {
                ttl: config.claim_ttl,
                wait: config.claim_wait,
            },
            pager: PagerSettings {
                ack_timeout: config.pager.ack_timeout,
                claim_ttl: config.pager.pager_claim_ttl,
                ..Default::default()
            },
            page_on_critical: config.pager.page_on_critical,
            max_clock_skew: config.max_clock_skew,
            retention: config.retention.retention(),
            retention_batch: config.retention.retention_batch as usize,
            schedules: config.schedules.settings(),
        };
        let use_cases = UseCases::build(ports, settings, &metrics);
        let listener = TcpListener::bind(config.http_addr)
            .await
            .with_context(|| format!("binding HTTP on {}", config.http_addr))?;
        let connection = client.clone();
        let connected = move || matches!(connection.connection_state(), async_nats::connection::State::Connected);
        let health = match config.intake {
            IntakeMode::Jetstream => Health::with_jetstream(connected),
            IntakeMode::Core => Health::new(connected),
        };
        Ok(Self {
            config,
            listener,
            client,
            health,
            metrics,
            use_cases,
            publisher: nats_publisher,
        })
    }

    /// The bound HTTP port.
    pub fn http_port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// Serves until `shutdown` completes, then stops taking messages, finishes in-flight
    /// work (within `SHUTDOWN_TIMEOUT`), drains NATS and returns. Every background task is
    /// started by one [`Supervisor`] and joined before NATS drains; a task that ends on its
    /// own (intake refused by the servers) stops the service with its error.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
        let mut tasks = Supervisor::new(CancellationToken::new());
        let cfg = &self.config;
        self.start_timers(&mut tasks);
        self.start_intake(&mut tasks);
        if cfg.nats_service {
            let cases = ServiceCases {
                digests: Arc::clone(&self.use_cases.digests),
                queries: Arc::clone(&self.use_cases.queries),
            };
            let settings = ServiceSettings {
                prefix: cfg.nats_service_prefix.clone(),
                version: env!("CARGO_PKG_VERSION").to_string(),
                replica: cfg.replica_name(),
            };
            tasks.spawn(
                "NATS service",
                nats::service::run(self.client.clone(), cases, settings, tasks.stop()),
            );
        }
        let port = self.http_port();
        let state = self.use_cases.http_state(
            Arc::clone(&self.health),
            self.metrics.clone(),
            Tokens {
                write: cfg.api_token.clone(),
                read: cfg.api_read_token.clone(),
            },
            HttpLimits {
                body_bytes: cfg.http_body_limit,
                timeout: cfg.http_timeout,
            },
            cfg.alerts.mapping(),
        );
        let stop = tasks.stop();
        let server = axum::serve(self.listener, observed(router(state), self.metrics.clone()))
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .into_future();
        tasks.spawn("http", async move { server.await.context("the HTTP server stopped") });
        tracing::info!(http_port = port, intake = ?cfg.intake, store = %crate::store::redact(&cfg.store_url), "alarm-digest is running");

        let failed = tokio::select! {
            _ = shutdown => None,
            (task, error) = tasks.first_ended() => Some(error.context(format!("{task} could not run"))),
        };
        tracing::info!("shutting down: no new messages, finishing in-flight work");
        let task_error = tasks.shut_down(cfg.shutdown_timeout).await;
        if tokio::time::timeout(NATS_DRAIN_TIMEOUT, self.client.drain())
            .await
            .is_err()
        {
            tracing::warn!("NATS did not drain in time");
        }
        if let Some(e) = failed.or(task_error) {
            tracing::error!(error = format!("{e:#}"), "stopped");
            return Err(e);
        }
        tracing::info!("stopped");
        Ok(())
    }

    /// The loops off the intake path: readiness' store watch, history trimming, retention
    /// sweeps, the pager's timers and the digest schedules' timer.
    fn start_timers(&self, tasks: &mut Supervisor) {
        let cfg = &self.config;
        let cases = &self.use_cases;
        tasks.spawn_infallible(
            "store watch",
            Arc::clone(&self.health).watch_store(
                Arc::clone(&cases.store),
                Arc::clone(&cases.heartbeat),
                STORE_WATCH_EVERY,
                tasks.stop(),
            ),
        );
        tasks.spawn_infallible(
            "history trim",
            usecases::retention::timer::trim_history(
                Arc::clone(&cases.retention),
                cfg.history_trim_interval,
                tasks.stop(),
            ),
        );
        tasks.spawn_infallible(
            "retention",
            usecases::retention::timer::run(
                Arc::clone(&cases.retention),
                cfg.retention.retention_interval,
                tasks.stop(),
            ),
        );
        tasks.spawn_infallible(
            "pager timers",
            usecases::pager::timer::run(Arc::clone(&cases.pager), cfg.pager.pager_tick, tasks.stop()),
        );
        tasks.spawn_infallible(
            "digest schedules",
            usecases::schedules::timer::run(Arc::clone(&cases.schedules), cfg.schedules.schedule_tick, tasks.stop()),
        );
    }

    /// Intake (JetStream consumer or core queue group) and, in JetStream mode, the
    /// consumer's backlog sampler.
    fn start_intake(&self, tasks: &mut Supervisor) {
        let cfg = &self.config;
        let subjects = cfg.input_subjects();
        self.expect_outcomes(&subjects);
        let intake = Intake::new(
            IntakeCases {
                updates: Arc::clone(&self.use_cases.updates),
                digests: Arc::clone(&self.use_cases.digests),
                pager: Arc::clone(&self.use_cases.pager),
            },
            subjects.clone(),
            LaneSettings {
                lanes: cfg.lanes,
                capacity: cfg.lane_capacity,
                max_batch: cfg.max_batch,
                max_payload: cfg.max_payload,
                store_timeout: cfg.store_timeout,
            },
            DeadLetterPublisher::new(self.publisher.clone(), &cfg.dead_letter_subject),
            Arc::clone(&self.health),
            self.metrics.clone(),
        );
        let grace = cfg.shutdown_timeout.mul_f64(IN_FLIGHT_SHARE_OF_SHUTDOWN);
        let stop = tasks.stop();
        match cfg.intake {
            IntakeMode::Jetstream => {
                let js = async_nats::jetstream::new(self.client.clone());
                let topology = Topology {
                    stream: cfg.input_stream.clone(),
                    subjects: subjects.all(),
                    max_bytes: cfg.input_stream_max_bytes,
                    consumer: cfg.consumer_name.clone(),
                    max_ack_pending: max_ack_pending(cfg.lanes, cfg.lane_capacity),
                    ack_wait: cfg.ack_wait,
                    replicas: usize::from(cfg.stream_replicas),
                    digest_stream: Some(StreamSettings {
                        name: cfg.digest_stream.clone(),
                        subjects: vec![cfg.digest_subject.clone()],
                        managed: cfg.manage_digest_stream,
                    }),
                    dead_letter_stream: StreamSettings {
                        name: cfg.dead_letter_stream.clone(),
                        subjects: vec![cfg.dead_letter_subject.clone()],
                        managed: true,
                    },
                    notification_stream: Some(StreamSettings {
                        name: cfg.pager.notification_stream.clone(),
                        subjects: cfg.pager.notification_subjects(),
                        managed: cfg.pager.manage_notification_stream,
                    }),
                };
                let sampling = BacklogSampling {
                    stream: cfg.input_stream.clone(),
                    consumer: cfg.consumer_name.clone(),
                    every: BACKLOG_SAMPLE_EVERY,
                };
                tasks.spawn_infallible(
                    "backlog sampler",
                    nats::backlog::sample(
                        js.clone(),
                        sampling,
                        self.metrics.clone(),
                        Some(Arc::clone(&self.health)),
                        stop.clone(),
                    ),
                );
                tasks.spawn("intake", async move {
                    intake::run_jetstream(intake, js, topology, stop, grace)
                        .await
                        .context("setting up the JetStream streams")
                });
            }
            IntakeMode::Core => {
                let (client, group) = (self.client.clone(), cfg.queue_group.clone());
                tasks.spawn("intake", async move {
                    intake::run_core(intake, client, group, stop, grace)
                        .await
                        .context("core intake stopped")
                });
            }
        }
    }

    /// Creates the message counters of every input subject at zero.
    fn expect_outcomes(&self, subjects: &Subjects) {
        for (subject, outcomes) in subjects.with_outcomes() {
            self.metrics.expect_messages(subject, &outcomes);
        }
    }
}

/// The consumer's `max_ack_pending`: twice what the lanes hold, so the next batch is on
/// its way while one is committed, and at least 1,000 so few lanes still keep a pull full.
fn max_ack_pending(lanes: usize, capacity: usize) -> i64 {
    (lanes * capacity * 2).max(1000) as i64
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
