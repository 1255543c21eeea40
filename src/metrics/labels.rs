//! Label sets and label values of the service's metrics, and the build identity.

use prometheus_client::encoding::EncodeLabelSet;

use domain::pager::Outcome;
use domain::ports::StoreError;
use domain::ApplyOutcome;

/// What any input may end as besides its use case's answers: refused, and dead-lettered.
const REJECTED: [&str; 2] = ["invalid", "dead_lettered"];

fn with_rejected(outcomes: impl IntoIterator<Item = &'static str>) -> Vec<&'static str> {
    outcomes.into_iter().chain(REJECTED).collect()
}

/// Outcomes of an `AlarmStatusChanged` message: every [`ApplyOutcome`], or rejected.
pub fn event_outcomes() -> Vec<&'static str> {
    with_rejected(ApplyOutcome::ALL.map(ApplyOutcome::as_str))
}

/// Outcomes of a `SendAlarmDigest` message.
pub fn digest_request_outcomes() -> Vec<&'static str> {
    with_rejected(["digest_sent", "already_answered"])
}

/// Outcomes of an `AlarmAcknowledged` message: `deferred` is an acknowledgement of an
/// alarm not seen yet, handed back to be retried after the alarm's first event.
pub fn acknowledgement_outcomes() -> Vec<&'static str> {
    with_rejected(["recorded", "duplicate", "deferred"])
}

/// Outcomes of a `PagerAlert` message: the decisions an alert can take.
pub fn pager_alert_outcomes() -> Vec<&'static str> {
    with_rejected(Outcome::OF_ALERT.map(Outcome::as_str))
}

/// Outcomes of a `PagerAcknowledge` message.
pub fn pager_acknowledge_outcomes() -> Vec<&'static str> {
    with_rejected(Outcome::OF_ACKNOWLEDGE.map(Outcome::as_str))
}

/// Outcomes of a `ServiceHealthy` message.
pub fn service_healthy_outcomes() -> Vec<&'static str> {
    with_rejected(Outcome::OF_HEALTHY.map(Outcome::as_str))
}

/// The `kind` label values of `alarm_digest_store_errors_total`.
pub const STORE_ERROR_KINDS: [&str; 3] = StoreError::KINDS;

/// Labels of the store operation histogram.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StoreOperationLabels {
    /// The `AlarmStore` method: apply, due_alarms, claim_digest, ...
    pub operation: &'static str,
}

/// Labels of the store error counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StoreErrorLabels {
    /// The `AlarmStore` method that failed.
    pub operation: &'static str,
    /// unavailable, rejected or corrupt.
    pub kind: &'static str,
}

/// Labels of the HTTP request histogram.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    /// Request method.
    pub method: String,
    /// The route pattern that matched (`/v1/users/{id}`), or `unmatched`.
    pub route: String,
    /// Response status code.
    pub status: String,
}

/// Labels of the build information gauge.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BuildLabels {
    /// The crate version.
    pub version: &'static str,
    /// The short git commit the binary was built from, or `unknown`.
    pub git_sha: &'static str,
}

/// The version and commit this binary was built from.
pub const BUILD: BuildLabels = BuildLabels {
    version: env!("CARGO_PKG_VERSION"),
    git_sha: env!("ALARM_DIGEST_GIT_SHA"),
};
