//! The metrics as the observer of every layer: the use cases report their outcomes
//! ([`usecases::observer::Observer`]), the NATS and web adapters their own work
//! ([`nats::observer::BusObserver`], [`web::observer::WebObserver`]); each lands here.

use super::{HttpLabels, Metrics};
use std::time::Duration;
use usecases::pager::PagerReport;
use usecases::retention::SweepReport;

impl usecases::observer::Observer for Metrics {
    fn events_applied(&self, events: usize, took: Duration) {
        self.observe_commit(took, events);
    }

    fn digest_sent(&self, alarms: usize, took: Duration, claim_wait: Duration) {
        self.observe_digest(took, alarms, claim_wait);
    }

    fn paged(&self, report: &PagerReport) {
        self.observe_pager(report);
    }

    fn swept(&self, report: &SweepReport) {
        self.observe_sweep(report);
    }

    fn schedule_fired(&self, late_by: Duration, occurrences: u64) {
        self.observe_schedule_fired(late_by, occurrences);
    }

    fn maintenance_windows(&self, active: usize) {
        self.set_maintenance_windows_active(active);
    }
}

impl nats::observer::BusObserver for Metrics {
    fn message_settled(&self, subject: &str, outcome: &str) {
        self.count_message(subject, outcome);
    }

    fn redelivered(&self) {
        self.count_redelivery();
    }

    fn retried(&self, messages: usize) {
        self.count_retries(messages);
    }

    fn event_committed(&self, since_receipt: Duration) {
        self.observe_event_commit(since_receipt);
    }

    fn consumer_backlog(&self, pending: u64, ack_pending: u64) {
        self.set_consumer_backlog(pending, ack_pending);
    }

    fn digest_duplicates(&self, messages: usize) {
        self.count_digest_duplicates(messages);
    }
}

impl web::observer::WebObserver for Metrics {
    fn request_answered(&self, method: &str, route: &str, status: u16, took: Duration) {
        let labels = HttpLabels {
            method: method.to_string(),
            route: route.to_string(),
            status: status.to_string(),
        };
        self.observe_http(&labels, took);
    }

    fn exposition(&self) -> String {
        self.encode()
    }
}
