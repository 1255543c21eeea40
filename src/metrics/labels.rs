//! Label sets and label values of the service's metrics, and the build identity.

use prometheus_client::encoding::EncodeLabelSet;

use domain::ports::StoreError;

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
