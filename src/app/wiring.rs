//! The composition root: the use cases built on their ports, and the HTTP state over them.
//! `Application::build` and the API tests call the same functions, so the tests run the
//! real wiring.

use crate::metrics::Metrics;
use crate::store::instrumented::Instrumented;
use crate::store::Stores;
use domain::dead_letter::DeadLetterLog;
use domain::pager::Notifier;
use domain::ports::{AlarmStore, Clock, DigestPublisher};
use domain::retention::Retention;
use std::sync::Arc;
use std::time::Duration;
use usecases::alarms::AlarmUpdates;
use usecases::dead_letters::DeadLetterQueries;
use usecases::digests::{ClaimSettings, Digests};
use usecases::health::Health;
use usecases::heartbeat::StoreHeartbeat;
use usecases::pager::{PagerService, PagerSettings};
use usecases::queries::AlarmQueries;
use usecases::retention::RetentionService;
use usecases::schedules::{DigestSchedules, ScheduleSettings};
use web::observer::WebObserver;
use web::{AppState, HttpLimits, Tokens};
use wire::alerts::AlertMapping;

/// What the use cases run on: the stores, where digests and notifications go, and the clock.
pub struct Ports {
    /// The alarm, policy and pager stores.
    pub stores: Stores,
    /// Where digests are published.
    pub publisher: Arc<dyn DigestPublisher>,
    /// Where the pager's notifications are sent.
    pub notifier: Arc<dyn Notifier>,
    /// Where "now" comes from.
    pub clock: Arc<dyn Clock>,
    /// Where refused input is read back from.
    pub dead_letters: Arc<dyn DeadLetterLog>,
}

/// How the use cases behave, from the configuration.
#[derive(Debug, Clone)]
pub struct UseCaseSettings {
    /// This replica's name in digest claims.
    pub replica: String,
    /// How digest claims are taken.
    pub claims: ClaimSettings,
    /// The pager's timeouts and claims.
    pub pager: PagerSettings,
    /// An alarm of a service turning CRITICAL raises a `PagerAlert` (`PAGE_ON_CRITICAL`).
    pub page_on_critical: bool,
    /// How far ahead of the clock an event may be stamped (`MAX_CLOCK_SKEW`).
    pub max_clock_skew: Duration,
    /// How long cleared alarms, notifications and tombstones are kept.
    pub retention: Retention,
    /// The most of each kind one sweep's store call removes (`RETENTION_BATCH`).
    pub retention_batch: usize,
    /// How digest schedules are claimed.
    pub schedules: ScheduleSettings,
}

/// The use-case modules, wired; the inbound adapters (NATS, HTTP, timers) call only these.
#[derive(Clone)]
pub struct UseCases {
    /// Status changes and acknowledgements.
    pub updates: Arc<AlarmUpdates>,
    /// Alarms, histories, totals and statistics.
    pub queries: Arc<AlarmQueries>,
    /// Digests sent and previewed.
    pub digests: Arc<Digests>,
    /// Paging and escalation policies.
    pub pager: Arc<PagerService>,
    /// Removal of what is past its retention.
    pub retention: Arc<RetentionService>,
    /// Each user's digest schedule.
    pub schedules: Arc<DigestSchedules>,
    /// The latest refused input.
    pub dead_letters: Arc<DeadLetterQueries>,
    /// When any of their store calls last succeeded, for readiness.
    pub heartbeat: Arc<StoreHeartbeat>,
    /// The alarm store as the use cases see it, which readiness pings when none of them
    /// used it lately.
    pub store: Arc<dyn AlarmStore>,
}

impl UseCases {
    /// Builds the use cases on `ports`, every store call timed and counted in `metrics`,
    /// every outcome reported to them.
    pub fn build(ports: Ports, settings: UseCaseSettings, metrics: &Arc<Metrics>) -> Self {
        let heartbeat = Arc::new(StoreHeartbeat::default());
        let alarms = Instrumented::wrap_with(ports.stores.alarms, Arc::clone(metrics), Arc::clone(&heartbeat));
        let pager_store = Instrumented::wrap_with(ports.stores.pager, Arc::clone(metrics), Arc::clone(&heartbeat));
        let windows = Instrumented::wrap_with(ports.stores.maintenance, Arc::clone(metrics), Arc::clone(&heartbeat));
        let retention = Arc::new(
            RetentionService::new(
                alarms.clone(),
                pager_store.clone(),
                Arc::clone(&ports.clock),
                settings.retention,
                settings.retention_batch,
            )
            .with_maintenance(windows.clone())
            .observed_by(metrics.clone()),
        );
        let pager = Arc::new(
            PagerService::new(
                Instrumented::wrap_with(ports.stores.policies, Arc::clone(metrics), Arc::clone(&heartbeat)),
                pager_store,
                ports.notifier,
                Arc::clone(&ports.clock),
                settings.pager,
            )
            .with_maintenance(windows)
            .observed_by(metrics.clone()),
        );
        let digests = Digests::new(
            alarms.clone(),
            ports.publisher,
            Arc::clone(&ports.clock),
            settings.replica,
            settings.claims,
        )
        .observed_by(metrics.clone());
        let digests = Arc::new(digests);
        let schedules = DigestSchedules::new(
            Instrumented::wrap_with(ports.stores.schedules, Arc::clone(metrics), Arc::clone(&heartbeat)),
            Arc::clone(&digests),
            Arc::clone(&ports.clock),
            settings.schedules,
        )
        .observed_by(metrics.clone());
        let mut updates = AlarmUpdates::new(alarms.clone(), ports.clock)
            .with_max_clock_skew(settings.max_clock_skew)
            .observed_by(metrics.clone());
        if settings.page_on_critical {
            updates = updates.paging_on_critical(Arc::clone(&pager));
        }
        Self {
            updates: Arc::new(updates),
            queries: Arc::new(AlarmQueries::new(alarms.clone())),
            digests,
            pager,
            retention,
            schedules: Arc::new(schedules),
            dead_letters: Arc::new(DeadLetterQueries::new(ports.dead_letters)),
            heartbeat,
            store: alarms,
        }
    }

    /// What the HTTP handlers share: these use cases, readiness, the observer of requests
    /// (and source of the exposition), tokens, limits.
    pub fn http_state(
        &self,
        health: Arc<Health>,
        observer: Arc<dyn WebObserver>,
        tokens: Tokens,
        limits: HttpLimits,
        alerts: AlertMapping,
    ) -> AppState {
        AppState {
            health,
            observer,
            updates: Arc::clone(&self.updates),
            queries: Arc::clone(&self.queries),
            digests: Arc::clone(&self.digests),
            pager: Arc::clone(&self.pager),
            schedules: Arc::clone(&self.schedules),
            dead_letters: Arc::clone(&self.dead_letters),
            tokens: Arc::new(tokens),
            limits,
            alerts: Arc::new(alerts),
        }
    }
}
