//! The service: its adapters built from the configuration around the use cases
//! ([`wiring`]), run until a shutdown signal, then stopped in order.

mod wiring;

pub use wiring::{Ports, UseCaseSettings, UseCases};

use crate::bus::backlog::BacklogSampling;
use crate::bus::inbound::{self as intake, Intake, LaneSettings, PagerIntake, PagerSubjects, Subjects};
use crate::bus::outbound::dead_letter_log::NatsDeadLetterLog;
use crate::bus::outbound::dead_letters::DeadLetters;
use crate::bus::outbound::digests::NatsDigests;
use crate::bus::outbound::notifications::NatsNotifier;
use crate::bus::outbound::publisher::Publisher;
use crate::bus::streams::InputTopology;
use crate::config::{IntakeMode, ServeConfig};
use crate::digests::{ClaimSettings, Digests};
use crate::domain::ports::{DigestPublisher, SystemClock};
use crate::health::Health;
use crate::http::auth::Tokens;
use crate::http::observe::observed;
use crate::http::{router, HttpLimits};
use crate::metrics::Metrics;
use crate::pager::PagerSettings;
use anyhow::Context as _;
use std::future::{Future, IntoFuture};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// How often the JetStream consumer is asked for its backlog (into the metrics) and, by
/// the same answer, whether JetStream is there (into readiness).
const BACKLOG_SAMPLE_EVERY: Duration = Duration::from_secs(1);

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
        let (client, nats_stats) = crate::bus::connect::connect(&config.nats, &replica)
            .await
            .context("connecting to NATS")?;
        let mut metrics = Metrics::new();
        metrics.track_nats(nats_stats);
        let metrics = Arc::new(metrics);
        let nats_publisher = match config.intake {
            IntakeMode::Jetstream => Publisher::jetstream(client.clone()),
            IntakeMode::Core => Publisher::core(client.clone()),
        };
        let publisher: Arc<dyn DigestPublisher> = Arc::new(NatsDigests::new(
            nats_publisher.clone(),
            &config.digest_subject,
            Arc::clone(&metrics),
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
        };
        let use_cases = UseCases::build(ports, settings, &metrics);
        let listener = TcpListener::bind(config.http_addr)
            .await
            .with_context(|| format!("binding HTTP on {}", config.http_addr))?;
        let health = match config.intake {
            IntakeMode::Jetstream => Health::with_jetstream(client.clone()),
            IntakeMode::Core => Health::new(client.clone()),
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
    /// work (within `SHUTDOWN_TIMEOUT`), drains NATS and returns.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
        let stop = CancellationToken::new();
        let cfg = &self.config;
        tokio::spawn(Arc::clone(&self.health).watch_store(
            Arc::clone(&self.use_cases.digests),
            Arc::clone(&self.use_cases.heartbeat),
            Duration::from_secs(2),
            stop.clone(),
        ));
        tokio::spawn(trim_history_every(
            Arc::clone(&self.use_cases.digests),
            cfg.history_trim_interval,
            stop.clone(),
        ));

        tokio::spawn(crate::retention::timer::run(
            Arc::clone(&self.use_cases.retention),
            Arc::clone(&self.metrics),
            cfg.retention.retention_interval,
            stop.clone(),
        ));

        let js = async_nats::jetstream::new(self.client.clone());
        let dead_letters = DeadLetters::new(self.publisher.clone(), &cfg.dead_letter_subject);
        let timers = tokio::spawn(crate::pager::timer::run(
            Arc::clone(&self.use_cases.pager),
            Arc::clone(&self.metrics),
            cfg.pager.pager_tick,
            stop.clone(),
        ));
        let subjects = Subjects {
            alarm_status: cfg.alarm_status_subject.clone(),
            digest_request: cfg.digest_request_subject.clone(),
            acknowledgement: cfg.alarm_ack_subject.clone(),
        };
        let pager_subjects = PagerSubjects {
            alert: cfg.pager.pager_alert_subject.clone(),
            acknowledge: cfg.pager.pager_acknowledge_subject.clone(),
            healthy: cfg.pager.service_healthy_subject.clone(),
        };
        let lanes = LaneSettings {
            lanes: cfg.lanes,
            capacity: cfg.lane_capacity,
            max_batch: cfg.max_batch,
            max_payload: cfg.max_payload,
            store_timeout: cfg.store_timeout,
        };
        self.metrics
            .expect_messages(&subjects.alarm_status, &crate::metrics::event_outcomes());
        self.metrics
            .expect_messages(&subjects.digest_request, &crate::metrics::digest_request_outcomes());
        self.metrics
            .expect_messages(&subjects.acknowledgement, &crate::metrics::acknowledgement_outcomes());
        for (subject, outcomes) in [
            (&pager_subjects.alert, crate::metrics::pager_alert_outcomes()),
            (
                &pager_subjects.acknowledge,
                crate::metrics::pager_acknowledge_outcomes(),
            ),
            (&pager_subjects.healthy, crate::metrics::service_healthy_outcomes()),
        ] {
            self.metrics.expect_messages(subject, &outcomes);
        }
        let intake = Intake::new(
            Arc::clone(&self.use_cases.digests),
            dead_letters,
            Arc::clone(&self.health),
            Arc::clone(&self.metrics),
            subjects.clone(),
            lanes,
            PagerIntake {
                service: Arc::clone(&self.use_cases.pager),
                subjects: pager_subjects.clone(),
            },
        );
        let grace = cfg.shutdown_timeout.mul_f32(0.8);
        let intake_task = match cfg.intake {
            IntakeMode::Jetstream => {
                let topology = InputTopology {
                    stream: cfg.input_stream.clone(),
                    subjects: subjects.all().into_iter().chain(pager_subjects.all()).collect(),
                    max_bytes: cfg.input_stream_max_bytes,
                    consumer: cfg.consumer_name.clone(),
                    max_ack_pending: (cfg.lanes * cfg.lane_capacity * 2).max(1000) as i64,
                    ack_wait: cfg.ack_wait,
                    replicas: usize::from(cfg.stream_replicas),
                    digest_stream: Some((
                        cfg.digest_stream.clone(),
                        cfg.digest_subject.clone(),
                        cfg.manage_digest_stream,
                    )),
                    dead_letter_stream: (cfg.dead_letter_stream.clone(), cfg.dead_letter_subject.clone()),
                    notification_stream: Some((
                        cfg.pager.notification_stream.clone(),
                        cfg.pager.notification_subjects(),
                        cfg.pager.manage_notification_stream,
                    )),
                };
                let sampling = BacklogSampling {
                    stream: cfg.input_stream.clone(),
                    consumer: cfg.consumer_name.clone(),
                    every: BACKLOG_SAMPLE_EVERY,
                };
                tokio::spawn(crate::bus::backlog::sample(
                    js.clone(),
                    sampling,
                    Arc::clone(&self.metrics),
                    Some(Arc::clone(&self.health)),
                    stop.clone(),
                ));
                let stop = stop.clone();
                tokio::spawn(async move {
                    intake::run_jetstream(intake, js, topology, stop, grace)
                        .await
                        .context("setting up the JetStream streams")
                })
            }
            IntakeMode::Core => {
                let (client, group, stop) = (self.client.clone(), cfg.queue_group.clone(), stop.clone());
                tokio::spawn(async move {
                    intake::run_core(intake, client, group, stop, grace)
                        .await
                        .context("core intake stopped")
                })
            }
        };
        let mut intake_task = intake_task;

        let port = self.http_port();
        let tokens = Tokens {
            write: cfg.api_token.clone(),
            read: cfg.api_read_token.clone(),
        };
        let limits = HttpLimits {
            body_bytes: cfg.http_body_limit,
            timeout: cfg.http_timeout,
        };
        let state = self
            .use_cases
            .http_state(Arc::clone(&self.health), Arc::clone(&self.metrics), tokens, limits);
        let http_stop = stop.clone();
        let http = tokio::spawn(
            axum::serve(self.listener, observed(router(state), Arc::clone(&self.metrics)))
                .with_graceful_shutdown(async move { http_stop.cancelled().await })
                .into_future(),
        );
        tracing::info!(http_port = port, intake = ?cfg.intake, store = %crate::store::redact(&cfg.store_url), "alarm-digest is running");

        // Intake ends on its own only when it cannot go on (streams refused as configured):
        // then the service stops with that error instead of running without intake.
        let failed = tokio::select! {
            _ = shutdown => None,
            ended = &mut intake_task => Some(ended),
        };
        tracing::info!("shutting down: no new messages, finishing in-flight work");
        stop.cancel();
        let intake_error = match failed {
            Some(Ok(Err(e))) => Some(e),
            Some(Err(panicked)) => Some(anyhow::Error::new(panicked).context("intake panicked")),
            Some(Ok(Ok(()))) => None,
            None => match tokio::time::timeout(cfg.shutdown_timeout, intake_task).await {
                Err(_) => {
                    tracing::warn!("intake did not stop within the shutdown timeout");
                    None
                }
                Ok(Ok(Err(e))) => Some(e),
                Ok(_) => None,
            },
        };
        // A timer pass in flight finishes before NATS drains; what it cannot finish waits
        // in the store for the next claimer.
        if tokio::time::timeout(cfg.shutdown_timeout, timers).await.is_err() {
            tracing::warn!("the pager's timer pass did not finish within the shutdown timeout");
        }
        if tokio::time::timeout(Duration::from_secs(5), self.client.drain())
            .await
            .is_err()
        {
            tracing::warn!("NATS did not drain in time");
        }
        let _ = tokio::time::timeout(Duration::from_secs(2), http).await;
        if let Some(e) = intake_error {
            tracing::error!(error = format!("{e:#}"), "stopped: intake could not run");
            return Err(e);
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// Drops the histories beyond `HISTORY_ALARMS` every `every` until `stop`, so history
/// stays bounded however long the service runs.
async fn trim_history_every(digests: Arc<Digests>, every: Duration, stop: CancellationToken) {
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        match digests.trim_history().await {
            Ok(0) => {}
            Ok(dropped) => tracing::debug!(dropped, "dropped old alarm histories"),
            Err(e) => tracing::warn!(error = %e, "could not trim alarm histories; will try again"),
        }
    }
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
