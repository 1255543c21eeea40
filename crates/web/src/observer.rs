//! What the web adapters count of their own work (requests answered), and the metrics
//! exposition they serve. The composition root's metrics implement it; a use case's
//! outcome is not counted here.

use std::time::Duration;

/// The content type of the Prometheus exposition `/metrics` serves (OpenMetrics text).
pub const EXPOSITION_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Told of every request answered; asked for the exposition on every scrape.
pub trait WebObserver: Send + Sync {
    /// A request was answered: its method label, the route pattern that matched (or
    /// `unmatched`), its status and how long it took.
    fn request_answered(&self, method: &str, route: &str, status: u16, took: Duration);
    /// Every metric of the process, in OpenMetrics text.
    fn exposition(&self) -> String;
}
