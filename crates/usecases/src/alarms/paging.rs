//! `PAGE_ON_CRITICAL`: an applied event that turns an alarm of a service CRITICAL raises a
//! `PagerAlert` for that service, whichever entrance the event came through.

use crate::pager::PagerService;
use backon::{BackoffBuilder, ExponentialBuilder};
use domain::failure::Chain;
use domain::pager::Alert;
use domain::{AlarmEvent, ApplyOutcome, ServiceId, Status};
use std::time::Duration;

/// Tries of one alert before it is given up on (logged); the pauses between them grow
/// from 50 ms to 2 s, about 10 s in all, so a store blip does not lose a page.
const ALERT_TRIES: usize = 8;

/// The alert an alarm turning CRITICAL raises for its service, when it names one.
pub(super) fn critical_alert(event: &AlarmEvent) -> Option<Alert> {
    let service = event.metadata.service.as_deref()?;
    let service_id = ServiceId::parse(service)
        .map_err(|e| tracing::warn!(service, error = %Chain(&e), "not paging for a service id that is not valid"))
        .ok()?;
    let name = event.metadata.name.as_deref().unwrap_or(event.alarm_id.as_str());
    Some(Alert {
        service_id,
        message: format!(
            "{name} is CRITICAL (alarm {} of user {})",
            event.alarm_id, event.user_id
        ),
        raised_at: event.version.changed_at,
    })
}

/// Raises the alert of every applied CRITICAL event of a service (the pager reports each
/// to its observer). An alert still failing after the retries is logged as an error.
pub(super) async fn page_critical(pager: &PagerService, events: &[AlarmEvent], outcomes: &[ApplyOutcome]) {
    let alerts = events
        .iter()
        .zip(outcomes)
        .filter(|(ev, outcome)| **outcome == ApplyOutcome::Applied && ev.version.status == Status::Critical)
        .filter_map(|(ev, _)| critical_alert(ev));
    for alert in alerts {
        let mut pauses = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(50))
            .with_max_delay(Duration::from_secs(2))
            .with_max_times(ALERT_TRIES - 1)
            .build();
        loop {
            match pager.alert(&alert).await {
                Ok(_) => break,
                Err(e) if e.is_transient() => match pauses.next() {
                    Some(pause) => {
                        tracing::warn!(service = %alert.service_id, error = %Chain(&e), "alert for a critical alarm not raised yet; retrying");
                        tokio::time::sleep(pause).await;
                    }
                    None => {
                        tracing::error!(service = %alert.service_id, error = %Chain(&e), "gave up raising the alert of a critical alarm");
                        break;
                    }
                },
                Err(e) => {
                    tracing::error!(service = %alert.service_id, error = %Chain(&e), "could not raise the alert of a critical alarm");
                    break;
                }
            }
        }
    }
}
