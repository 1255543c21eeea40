//! What every handler of the API and the console shares: the use cases, the tokens and the
//! request limits, built once by the composition root.

use crate::auth::Tokens;
use crate::error::HttpError;
use crate::observer::WebObserver;
use crate::params::{alarm_id, user_id};
use domain::ports::AlarmRecord;
use std::sync::Arc;
use std::time::Duration;
use usecases::alarms::AlarmUpdates;
use usecases::dead_letters::DeadLetterQueries;
use usecases::digests::Digests;
use usecases::health::Health;
use usecases::pager::PagerService;
use usecases::queries::AlarmQueries;
use usecases::schedules::DigestSchedules;
use wire::alerts::AlertMapping;

/// What handlers share.
#[derive(Clone)]
pub struct AppState {
    /// Readiness parts.
    pub health: Arc<Health>,
    /// Counts requests and serves the metrics exposition.
    pub observer: Arc<dyn WebObserver>,
    /// Status changes and acknowledgements in.
    pub updates: Arc<AlarmUpdates>,
    /// Alarms, histories, totals and statistics out.
    pub queries: Arc<AlarmQueries>,
    /// Digest previews and the digests sent.
    pub digests: Arc<Digests>,
    /// Escalation policies, service health and the console's pager actions.
    pub pager: Arc<PagerService>,
    /// Each user's digest schedule.
    pub schedules: Arc<DigestSchedules>,
    /// The latest dead letters, for the API and the console.
    pub dead_letters: Arc<DeadLetterQueries>,
    /// The tokens of the API and the console.
    pub tokens: Arc<Tokens>,
    /// Body size and time limits.
    pub limits: HttpLimits,
    /// How Alertmanager and Grafana alerts map to status changes: which labels carry the
    /// severity, the recipient and the service, and which severities are critical.
    pub alerts: Arc<AlertMapping>,
}

impl AppState {
    /// The record of the alarm a path names by its user and alarm ids, or 404.
    pub async fn alarm_record(&self, user: &str, alarm: &str) -> Result<AlarmRecord, HttpError> {
        let (user, alarm) = (user_id(user)?, alarm_id(alarm)?);
        self.queries
            .alarm(&user, &alarm)
            .await?
            .ok_or_else(|| HttpError::NotFound(format!("no alarm {alarm} of user {user}")))
    }
}

/// Limits on every request.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    /// Largest request body in bytes (`HTTP_BODY_LIMIT`); larger bodies get a 413.
    pub body_bytes: usize,
    /// Longest time a request may take (`HTTP_TIMEOUT`); slower ones get a 503.
    pub timeout: Duration,
}
