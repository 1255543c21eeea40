//! The pager's metrics: pages sent by channel, escalations, acknowledgements and the time
//! from an incident's opening to its acknowledgement.

use domain::pager::Outcome;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use usecases::pager::PagerReport;

/// Labels of the pages counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ChannelLabels {
    /// `email` or `sms`.
    pub channel: &'static str,
}

/// The pager's metric handles.
pub(super) struct PagerMetrics {
    pages: Family<ChannelLabels, Counter>,
    escalations: Counter,
    acknowledgements: Counter,
    time_to_acknowledge: Histogram,
}

impl PagerMetrics {
    /// Registers the pager's metrics, every series at zero.
    pub(super) fn register(registry: &mut Registry) -> Self {
        let pages = Family::<ChannelLabels, Counter>::default();
        for channel in ["email", "sms"] {
            let _ = pages.get_or_create(&ChannelLabels { channel });
        }
        registry.register(
            "alarm_digest_pages_sent",
            "Notifications published and recorded, by channel",
            pages.clone(),
        );
        let escalations = Counter::default();
        registry.register(
            "alarm_digest_escalations",
            "Acknowledgement timeouts that notified a next or repeated level",
            escalations.clone(),
        );
        let acknowledgements = Counter::default();
        registry.register(
            "alarm_digest_acknowledgements",
            "Incidents acknowledged",
            acknowledgements.clone(),
        );
        // 1 s to about 9 h.
        let time_to_acknowledge = Histogram::new(exponential_buckets(1.0, 2.0, 16));
        registry.register(
            "alarm_digest_time_to_acknowledge_seconds",
            "From an incident's opening to its acknowledgement",
            time_to_acknowledge.clone(),
        );
        Self {
            pages,
            escalations,
            acknowledgements,
            time_to_acknowledge,
        }
    }

    /// Records what one pager input did.
    pub(super) fn observe(&self, report: &PagerReport) {
        for n in &report.sent {
            self.pages
                .get_or_create(&ChannelLabels {
                    channel: n.target.channel().as_str(),
                })
                .inc();
        }
        match report.outcome {
            Outcome::Escalated | Outcome::Repeated => {
                self.escalations.inc();
            }
            Outcome::Acknowledged => {
                self.acknowledgements.inc();
            }
            _ => {}
        }
        if let Some(took) = report.time_to_acknowledge {
            self.time_to_acknowledge.observe(took.as_secs_f64());
        }
    }
}
