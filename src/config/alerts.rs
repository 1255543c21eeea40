//! How alerts from Alertmanager and Grafana map to alarms: which labels carry the severity,
//! the recipient and the service, and which severities are critical.

use clap::Args;
use wire::alerts::AlertMapping;

/// Settings of the Alertmanager and Grafana intakes, part of `serve`.
#[derive(Debug, Clone, Args)]
pub struct AlertsConfig {
    /// The label holding an alert's severity; left out of the alarm's identity, so the
    /// warning and critical alerts of one thing are one alarm.
    #[arg(long, env = "ALERT_SEVERITY_LABEL", default_value = "severity")]
    pub alert_severity_label: String,
    /// Severity values (comma-separated, any case) that make a firing alert CRITICAL; any
    /// other value, or none, makes it WARNING.
    #[arg(
        long,
        env = "ALERT_CRITICAL_SEVERITIES",
        default_value = "critical,page,error,emergency",
        value_delimiter = ',',
        num_args = 1..
    )]
    pub alert_critical_severities: Vec<String>,
    /// The label naming who gets the digest when the receiver URL has no `?user=`.
    #[arg(long, env = "ALERT_RECIPIENT_LABEL", default_value = "team")]
    pub alert_recipient_label: String,
    /// The label whose value becomes the alarm's Service.
    #[arg(long, env = "ALERT_SERVICE_LABEL", default_value = "service")]
    pub alert_service_label: String,
}

impl AlertsConfig {
    /// The mapping the intakes apply.
    pub fn mapping(&self) -> AlertMapping {
        AlertMapping {
            severity_label: self.alert_severity_label.clone(),
            critical: self
                .alert_critical_severities
                .iter()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
            user_label: self.alert_recipient_label.clone(),
            service_label: self.alert_service_label.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Cli;
    use clap::Parser;
    use wire::alerts::AlertMapping;

    #[test]
    fn the_defaults_are_the_mapping_the_intakes_document() {
        let cli = Cli::parse_from(["alarm-digest"]);
        assert_eq!(cli.serve.alerts.mapping(), AlertMapping::default());
    }

    #[test]
    fn each_label_and_the_critical_severities_can_be_set() {
        let cli = Cli::parse_from([
            "alarm-digest",
            "--alert-severity-label",
            "priority",
            "--alert-critical-severities",
            "P1, P2",
            "--alert-recipient-label",
            "owner",
            "--alert-service-label",
            "app",
        ]);
        assert_eq!(
            cli.serve.alerts.mapping(),
            AlertMapping {
                severity_label: "priority".into(),
                critical: vec!["P1".into(), "P2".into()],
                user_label: "owner".into(),
                service_label: "app".into(),
            }
        );
    }
}
